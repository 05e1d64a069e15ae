package dev.jvmm.core.block;

/**
 * What a device with removable media (an ATAPI CD-ROM) shows the block layer: QEMU's BlockDevOps
 * (change_media_cb, is_tray_open, is_medium_locked, eject_request_cb). The device owns the tray and lock
 * state; the drive asks through this interface, so query-block, the QMP tray commands and DEVICE_TRAY_MOVED
 * all see the device's own state.
 *
 * <p>Threads: every method is called on the machine's main loop (QMP commands run there), while the device's
 * registers are used on a vCPU thread; the device guards its tray state itself, and must not call back into
 * the drive's medium commands from these methods.
 */
public interface RemovableMediaDevice {
    /**
     * QEMU's change_media_cb. {@code load} false: the tray opens (the medium, still inserted, is no longer
     * reachable). {@code load} true: the tray closes over whatever medium the drive now has (possibly none).
     * The drive compares {@link #isTrayOpen()} before and after and sends DEVICE_TRAY_MOVED when it changed.
     * The device sets its media-changed state here (ATAPI: UNIT ATTENTION, new-media event) and raises its
     * interrupt if it wants to.
     */
    void changeMedia(boolean load);

    /** Whether the device has a tray at all (ATAPI: yes). Tray-less removable devices answer false. */
    default boolean hasTray() {
        return true;
    }

    boolean isTrayOpen();

    /** The guest's PREVENT ALLOW MEDIUM REMOVAL state (query-block "locked"). */
    boolean isMediumLocked();

    /**
     * QEMU's eject_request_cb: someone (QMP) asked for the tray of a locked device to open. The device tells
     * the guest (ATAPI GET EVENT STATUS NOTIFICATION: eject request); with {@code force} it also drops its lock,
     * after which the drive opens the tray itself.
     */
    void ejectRequest(boolean force);

    /** A medium command's steps, which may fail with the command's error. */
    @FunctionalInterface
    interface Steps<E extends Exception> {
        void run() throws E;
    }

    /**
     * Runs the steps of one medium command (blockdev-change-medium: open, remove, insert, close) so that the
     * guest sees none of the states in between: QEMU runs them under its big lock, which the guest's register
     * accesses also take. The device holds whatever lock its register accesses take while the steps run.
     */
    default <E extends Exception> void exclusive(Steps<E> steps) throws E {
        steps.run();
    }
}
