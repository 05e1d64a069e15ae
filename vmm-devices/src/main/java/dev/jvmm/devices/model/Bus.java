package dev.jvmm.devices.model;

import dev.jvmm.core.qom.QomNode;

/**
 * A bus devices plug into: its qdev name ("pci.0", "ide.1", "virtio-serial-bus.0"), its QOM type ("PCI",
 * "IDE", "virtio-serial-bus"), its node, and the object that implements it (a PciBus, an IdeBus, ...).
 */
public record Bus(String name, String type, QomNode node, Object owner) {
    /** The implementing object as the type a factory expects. */
    public <T> T owner(Class<T> type) {
        return type.cast(owner);
    }
}
