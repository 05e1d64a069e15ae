package dev.jvmm.devices.ide;

/**
 * Told every time the tray of a removable-media drive moves, whoever moved it (the guest's START STOP
 * UNIT or the host's open/close): the machine turns it into DEVICE_TRAY_MOVED {device, id, tray-open}.
 * Called with the drive's lock held: record or queue, do not call back into the drive.
 */
@FunctionalInterface
public interface TrayListener {
    void trayMoved(boolean open);

    TrayListener NONE = open -> { };
}
