package dev.jvmm.core.block;

/**
 * How an image file is opened: QEMU's read-only, cache.direct, cache.no-flush, file.locking and discard options.
 * cache=none is direct, writeback is neither, unsafe is noFlush, directsync is direct (writethrough is the
 * backend's business: it flushes after each write).
 */
public record ImageOptions(boolean readOnly, boolean direct, boolean noFlush, LockMode locking, boolean discardUnmap) {
    /** QEMU's file.locking: auto means on wherever OFD locks work, which is every Linux jvmm runs on. */
    public enum LockMode { ON, OFF, AUTO, SHARED }

    /**
     * The locking value a -drive force-share=on (read-only only) gives: QEMU's BDRV_O_FORCE_SHARE, the lock bytes
     * of what it holds are set but it shares every permission, so a writer elsewhere is not refused (LockMode.SHARED).
     */
    public static final String FORCE_SHARE = "force-share";

    /** Cached, writable, locked, discard=ignore: what a plain -drive file=... gets. */
    public static final ImageOptions DEFAULT = new ImageOptions(false, false, false, LockMode.AUTO, false);

    public ImageOptions {
        if (locking == null) {
            locking = LockMode.AUTO;
        }
    }

    public static ImageOptions readOnly(boolean readOnly) {
        return DEFAULT.withReadOnly(readOnly);
    }

    public ImageOptions withReadOnly(boolean ro) {
        return new ImageOptions(ro, direct, noFlush, locking, discardUnmap);
    }

    public ImageOptions withNoFlush(boolean nf) {
        return new ImageOptions(readOnly, direct, nf, locking, discardUnmap);
    }

    public boolean lockingEnabled() {
        return locking != LockMode.OFF;
    }
}
