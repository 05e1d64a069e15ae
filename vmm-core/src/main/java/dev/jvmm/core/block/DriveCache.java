package dev.jvmm.core.block;

/**
 * A drive's cache settings as QEMU's BlockdevCacheInfo reports them ("cache" in query-block): writeback
 * (guest sees a volatile write cache; off means every write is flushed), direct (O_DIRECT on the image file)
 * and noFlush (flushes are dropped: cache=unsafe).
 */
public record DriveCache(boolean writeback, boolean direct, boolean noFlush) {
    public static final DriveCache WRITEBACK = new DriveCache(true, false, false);

    /** QEMU's -drive cache= modes (bdrv_parse_cache_mode); null for an unknown name. */
    public static DriveCache parse(String mode) {
        return switch (mode) {
            case "writeback" -> WRITEBACK;
            case "none", "off" -> new DriveCache(true, true, false);
            case "writethrough" -> new DriveCache(false, false, false);
            case "directsync" -> new DriveCache(false, true, false);
            case "unsafe" -> new DriveCache(true, false, true);
            default -> null;
        };
    }

    public DriveCache withWriteback(boolean wb) {
        return new DriveCache(wb, direct, noFlush);
    }
}
