package dev.jvmm.devices.model;

import dev.jvmm.core.qom.QomNode;

/**
 * Where a device being realized goes: its id (null without id=), its QOM node (for children such as
 * virtio-backend, the buses it provides, and live properties), and the bus it plugs into (null for a
 * device without one).
 */
public record Placement(String id, QomNode node, Bus bus, DeviceModel model) {
    /** The id as QEMU reports it in events and query-pci ("" without id=). */
    public String idOrEmpty() {
        return id == null ? "" : id;
    }

    /** True for a device the board made, false for one from -device or device_add. */
    public boolean byBoard() {
        return !node.path().startsWith("/machine/peripheral");
    }
}
