package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;

import java.util.function.Supplier;

/**
 * QEMU 7.2's block-device tray commands (blockdev.c: eject, blockdev-open-tray, blockdev-close-tray,
 * blockdev-remove-medium, blockdev-insert-medium, blockdev-change-medium) as sequences of
 * {@link RemovableMedia} operations, so the QMP layer only resolves the device and maps the exception to a
 * GenericError. The tray events come out of the drive's {@link TrayListener}. {@code name} is what QEMU
 * puts in its messages: the "device" or "id" argument as the client gave it.
 */
public final class TrayCommands {
    private TrayCommands() {
    }

    /** A refused tray command; the message is QEMU's GenericError text. */
    public static final class TrayException extends Exception {
        public TrayException(String message) {
            super(message);
        }
    }

    /** The drive as removable media, or QEMU's "Device '%s' is not removable" for a disk. */
    public static RemovableMedia removable(String name, IdeDevice device) throws TrayException {
        if (device instanceof RemovableMedia m) {
            return m;
        }
        throw new TrayException("Device '" + name + "' is not removable");
    }

    /**
     * blockdev-open-tray: a locked tray without force only asks the guest (GESN eject request) and the command
     * still succeeds, as in QEMU.
     */
    public static void openTray(RemovableMedia m, boolean force) {
        m.openTray(force);
    }

    /** eject: opens the tray (or fails on a locked one without force), then removes the medium. */
    public static void eject(String name, RemovableMedia m, boolean force) throws TrayException {
        openOrFail(name, m, force);
        m.removeMedium();
    }

    public static void closeTray(RemovableMedia m) {
        m.closeTray();
    }

    /** blockdev-remove-medium: needs an open tray; an empty slot is fine. */
    public static BlockBackend removeMedium(String name, RemovableMedia m) throws TrayException {
        if (!m.isTrayOpen()) {
            throw new TrayException("Tray of device '" + name + "' is not open");
        }
        return m.removeMedium();
    }

    /** blockdev-insert-medium: needs an open tray and an empty slot. */
    public static void insertMedium(String name, RemovableMedia m, BlockBackend medium) throws TrayException {
        if (!m.isTrayOpen()) {
            throw new TrayException("Tray of device '" + name + "' is not open");
        }
        if (m.medium() != null) {
            throw new TrayException("There already is a medium in the device");
        }
        m.insertMedium(medium);
    }

    /**
     * blockdev-change-medium: open (failing on a locked tray without force), remove, insert the medium that
     * open() creates, close. open is only called once the old medium is out.
     */
    public static void changeMedium(String name, RemovableMedia m, boolean force, Supplier<BlockBackend> open)
            throws TrayException {
        openOrFail(name, m, force);
        m.removeMedium();
        m.insertMedium(open.get());
        m.closeTray();
    }

    private static void openOrFail(String name, RemovableMedia m, boolean force) throws TrayException {
        if (m.openTray(force) == RemovableMedia.OpenResult.EJECT_REQUESTED) {
            throw new TrayException("Device '" + name
                    + "' is locked and force was not specified, wait for tray to open and try again");
        }
    }
}
