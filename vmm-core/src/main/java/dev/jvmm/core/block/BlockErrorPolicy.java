package dev.jvmm.core.block;

import java.util.Locale;

/** What a drive does when a request fails (QEMU's BlockdevOnError, the werror= and rerror= values). */
public enum BlockErrorPolicy {
    REPORT, IGNORE, ENOSPC, STOP, AUTO;

    /** QEMU 7.2's -drive defaults: werror=enospc, rerror=report. */
    public static final BlockErrorPolicy DEFAULT_WERROR = ENOSPC;
    public static final BlockErrorPolicy DEFAULT_RERROR = REPORT;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a -drive werror=/rerror= value; null when QEMU refuses it ("enospc" is write-only, and -drive
     * does not take "auto").
     */
    public static BlockErrorPolicy parseDriveOption(String value, boolean isRead) {
        return switch (value) {
            case "report" -> REPORT;
            case "ignore" -> IGNORE;
            case "stop" -> STOP;
            case "enospc" -> isRead ? null : ENOSPC;
            default -> null;
        };
    }

    /** QEMU's blk_get_error_action: the action for one failed request. */
    public BlockBackend.ErrorAction actionFor(boolean isRead, boolean nospace) {
        return switch (this) {
            case REPORT -> BlockBackend.ErrorAction.REPORT;
            case IGNORE -> BlockBackend.ErrorAction.IGNORE;
            case STOP -> BlockBackend.ErrorAction.STOP;
            case ENOSPC -> nospace ? BlockBackend.ErrorAction.STOP : BlockBackend.ErrorAction.REPORT;
            case AUTO -> (isRead ? DEFAULT_RERROR : DEFAULT_WERROR).actionFor(isRead, nospace);
        };
    }
}
