package dev.jvmm.core.block;

/**
 * One query-block entry (QEMU 7.2's BlockInfo). QEMU writes "type": "unknown" for every drive.
 *
 * @param device   the backend name ("" for an anonymous backend a device made)
 * @param qdev     the attached device's id, or its QOM path when it has none; null when no device is attached
 * @param removable QEMU's blk_dev_has_removable_media: no device, or a device with removable media
 * @param locked   the guest locked the medium in
 * @param ioStatus the io-status, or null when no attached device tracks it
 * @param inserted the root node, or null for an empty drive
 * @param trayOpen the tray state, or null when the device has no tray ("tray_open" left out)
 */
public record BlockInfo(String device, String qdev, boolean removable, boolean locked, IoStatus ioStatus,
        BlockDeviceInfo inserted, Boolean trayOpen) {
    public static final String TYPE = "unknown";

    /** An entry for a drive without a tray. */
    public BlockInfo(String device, String qdev, boolean removable, boolean locked, IoStatus ioStatus,
            BlockDeviceInfo inserted) {
        this(device, qdev, removable, locked, ioStatus, inserted, null);
    }
}
