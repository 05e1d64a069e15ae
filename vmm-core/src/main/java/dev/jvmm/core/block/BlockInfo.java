package dev.jvmm.core.block;

/**
 * One query-block entry (QEMU 7.2's BlockInfo). QEMU writes "type": "unknown" for every drive; "tray_open"
 * only for removable media with a tray, which jvmm has none of.
 *
 * @param device   the backend name ("" for a -blockdev node a device took)
 * @param qdev     the device's QOM path, or null when no device is attached
 * @param ioStatus the io-status, or null when no attached device tracks it
 * @param inserted the root node, or null for an empty drive
 */
public record BlockInfo(String device, String qdev, boolean removable, boolean locked, IoStatus ioStatus,
        BlockDeviceInfo inserted) {
    public static final String TYPE = "unknown";
}
