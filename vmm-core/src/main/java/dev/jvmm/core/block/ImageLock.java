package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;

/**
 * QEMU 7.2 image locking (block/file-posix.c): a process sets a shared OFD lock on byte 100+bit for each permission
 * it holds and on byte 200+bit for each permission it does not let others hold, then checks that no other open file
 * description has the bytes that would conflict. Locks vanish when the descriptor closes, so a crash frees them.
 */
final class ImageLock {
    /** include/block/block-common.h BLK_PERM_* bit numbers and names (bdrv_perm_names) in QEMU 7.2. */
    static final int PERM_CONSISTENT_READ = 1;
    static final int PERM_WRITE = 1 << 1;
    static final int PERM_WRITE_UNCHANGED = 1 << 2;
    static final int PERM_RESIZE = 1 << 3;
    static final int PERM_COUNT = 4;
    static final String[] PERM_NAMES = {"consistent read", "write", "write unchanged", "resize"};
    /** RAW_LOCK_PERM_BASE and RAW_LOCK_SHARED_BASE. */
    static final int LOCK_PERM_BASE = 100;
    static final int LOCK_SHARED_BASE = 200;

    private ImageLock() {
    }

    /**
     * What QEMU's qemu-system takes for a drive: every user reads consistently; a writer also writes (and a qcow2
     * writer may resize its file); nobody lets others write, and qcow2 does not let others resize. A raw image used
     * as a backing file shares everything.
     */
    static int heldPerms(boolean readOnly, boolean qcow2) {
        if (readOnly) {
            return PERM_CONSISTENT_READ;
        }
        return PERM_CONSISTENT_READ | PERM_WRITE | (qcow2 ? PERM_RESIZE : 0);
    }

    static int unsharedPerms(boolean qcow2, boolean rawBacking) {
        if (rawBacking) {
            return 0;
        }
        return PERM_WRITE | (qcow2 ? PERM_RESIZE : 0);
    }

    /** Sets the lock bytes on fd, then checks for conflicts; on conflict the caller closes fd (dropping them). */
    static void acquire(int fd, String displayName, int held, int unshared) throws ImageLockException {
        for (int i = 0; i < PERM_COUNT; i++) {
            int bit = 1 << i;
            if ((held & bit) != 0) {
                lock(fd, LOCK_PERM_BASE + i, displayName);
            }
            if ((unshared & bit) != 0) {
                lock(fd, LOCK_SHARED_BASE + i, displayName);
            }
        }
        for (int i = 0; i < PERM_COUNT; i++) {
            int bit = 1 << i;
            if ((held & bit) != 0 && lockedByOther(fd, LOCK_SHARED_BASE + i, displayName)) {
                throw failed("Failed to get \"" + PERM_NAMES[i] + "\" lock", displayName);
            }
            if ((unshared & bit) != 0 && lockedByOther(fd, LOCK_PERM_BASE + i, displayName)) {
                throw failed("Failed to get shared \"" + PERM_NAMES[i] + "\" lock", displayName);
            }
        }
    }

    /** QEMU's raw_apply_lock_bytes wording when the filesystem refuses the lock itself. */
    private static void lock(int fd, int offset, String displayName) throws ImageLockException {
        try {
            if (!FileOps.lockByte(fd, offset, FileOps.F_RDLCK)) {
                throw failed("Failed to lock byte " + offset, displayName);
            }
        } catch (LastErrorException e) {
            throw failed("Failed to lock byte " + offset + ": " + HostIoException.strerror(e.getErrorCode()), displayName);
        }
    }

    private static boolean lockedByOther(int fd, int offset, String displayName) throws ImageLockException {
        try {
            return FileOps.byteLockedByOther(fd, offset);
        } catch (LastErrorException e) {
            throw failed("Failed to get lock byte " + offset + ": " + HostIoException.strerror(e.getErrorCode()), displayName);
        }
    }

    private static ImageLockException failed(String message, String displayName) {
        return new ImageLockException(message, hint(displayName));
    }

    static String hint(String displayName) {
        return "Is another process using the image [" + displayName + "]?";
    }
}
