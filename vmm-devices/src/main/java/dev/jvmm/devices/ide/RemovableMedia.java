package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;

/**
 * The medium slot of a drive with a tray, as the host side (QMP eject, blockdev-open-tray,
 * blockdev-close-tray, blockdev-remove-medium, blockdev-insert-medium, query-block) sees it. It mirrors
 * QEMU's BlockDevOps for removable media: a tray that may be open, a lock the guest sets with PREVENT ALLOW
 * MEDIUM REMOVAL, and a medium that stays in the slot while the tray is open until it is removed.
 */
public interface RemovableMedia {
    /** What {@link #openTray} did. */
    enum OpenResult {
        /** The tray was closed and is now open (a tray event was sent). */
        OPENED,
        /** The tray was already open; nothing happened. */
        ALREADY_OPEN,
        /**
         * The tray is locked and force was not given: the guest was asked to eject (GET EVENT STATUS
         * NOTIFICATION reports an eject request) and the tray stays shut. QEMU answers the QMP command with
         * "Device '%s' is locked and force was not specified, wait for tray to open and try again".
         */
        EJECT_REQUESTED
    }

    boolean isTrayOpen();

    /** The guest's medium-removal lock. */
    boolean isLocked();

    /** The medium in the slot (tray open or shut), or null when the slot is empty. */
    BlockBackend medium();

    /**
     * Opens the tray as QEMU's do_open_tray: a locked tray only gets an eject request unless force is set, in
     * which case the lock is dropped, the guest still sees the request and the tray opens.
     */
    OpenResult openTray(boolean force);

    /** Shuts the tray; with a medium in the slot the guest then sees "medium may have changed". No-op if shut. */
    void closeTray();

    /**
     * Puts medium into the slot. Fails with IllegalStateException when the tray is shut ("Tray of device
     * '%s' is not open") or a medium is already there ("There already is a medium in device '%s'").
     */
    void insertMedium(BlockBackend medium);

    /**
     * Takes the medium out of the slot and returns it (null if the slot was empty). Fails with
     * IllegalStateException when the tray is shut ("Tray of device '%s' is not open").
     */
    BlockBackend removeMedium();

    /** Where tray moves are reported; replaces the previous listener. */
    void setTrayListener(TrayListener listener);
}
