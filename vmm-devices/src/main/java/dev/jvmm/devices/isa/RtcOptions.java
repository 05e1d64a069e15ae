package dev.jvmm.devices.isa;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

/**
 * QEMU's {@code -rtc [base=utc|localtime|DATETIME][,clock=host|rt|vm][,driftfix=none|slew]} (QEMU 7.2
 * softmmu/rtc.c configure_rtc), parsed with QEMU's error texts.
 *
 * @param base             where the guest clock starts
 * @param baseEpochSeconds for {@link Base#DATETIME}: the start time as seconds since the epoch, the
 *                         given fields read as UTC (QEMU's mktimegm); 0 otherwise
 * @param clock            which host clock drives the RTC
 * @param driftFix         whether missed periodic interrupts are re-injected
 */
public record RtcOptions(Base base, long baseEpochSeconds, ClockSource clock, DriftFix driftFix) {
    public enum Base { UTC, LOCALTIME, DATETIME }

    /** host: wall clock; rt: host monotonic time; vm: advances only while the guest runs. */
    public enum ClockSource { HOST, RT, VM }

    public enum DriftFix { NONE, SLEW }

    public static final RtcOptions DEFAULT = new RtcOptions(Base.UTC, 0, ClockSource.HOST, DriftFix.NONE);

    /** QEMU's complaint about a base it cannot read; two lines, the second without the program name. */
    static final String BAD_DATETIME =
            "invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'";

    public RtcOptions {
        if (base == null || clock == null || driftFix == null) {
            throw new IllegalArgumentException("null field");
        }
    }

    /** Parses the argument of {@code -rtc}; later keys win over earlier ones, as in QEMU. */
    public static RtcOptions parse(String text) {
        QemuOpts opts = QemuOpts.parse("-rtc " + text, text, null);
        opts.requireOnly("base", "clock", "driftfix");
        Base base = Base.UTC;
        long epoch = 0;
        String b = opts.get("base").orElse(null);
        if (b != null) {
            if (b.equals("utc")) {
                base = Base.UTC;
            } else if (b.equals("localtime")) {
                base = Base.LOCALTIME;
            } else {
                base = Base.DATETIME;
                epoch = parseDatetime(b);
            }
        }
        ClockSource clock = ClockSource.HOST;
        String c = opts.get("clock").orElse(null);
        if (c != null) {
            clock = switch (c) {
                case "host" -> ClockSource.HOST;
                case "rt" -> ClockSource.RT;
                case "vm" -> ClockSource.VM;
                default -> throw new OptionException(null, "invalid option value '" + c + "'");
            };
        }
        DriftFix drift = DriftFix.NONE;
        String d = opts.get("driftfix").orElse(null);
        if (d != null) {
            drift = switch (d) {
                case "none" -> DriftFix.NONE;
                case "slew" -> DriftFix.SLEW;
                default -> throw new OptionException(null, "invalid option value '" + d + "'");
            };
        }
        return new RtcOptions(base, epoch, clock, drift);
    }

    /**
     * QEMU reads the base with sscanf "%d-%d-%dT%d:%d:%d", falling back to "%d-%d-%d"; trailing text is
     * ignored, fields are not range-checked (mktimegm normalises them), and a result of -1 is taken as
     * failure (so 1969-12-31T23:59:59 is refused, as QEMU does).
     */
    static long parseDatetime(String text) {
        long[] f = new long[6];
        int n = scan(text, f);
        if (n != 6 && n < 3) {
            throw new OptionException(null, BAD_DATETIME);
        }
        if (n != 6) {
            f[3] = f[4] = f[5] = 0;
        }
        long seconds = CmosRtc.civilToEpochDays(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
        if (seconds == -1) {
            throw new OptionException(null, BAD_DATETIME);
        }
        return seconds;
    }

    /** Counts the leading fields of "Y-M-DTh:m:s" that read as integers, as sscanf's return value. */
    private static int scan(String s, long[] out) {
        char[] separators = {'-', '-', 'T', ':', ':'};
        int pos = 0;
        for (int field = 0; field < 6; field++) {
            if (field > 0) {
                if (pos >= s.length() || s.charAt(pos) != separators[field - 1]) {
                    return field;
                }
                pos++;
            }
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++; // %d skips leading white space
            }
            int start = pos;
            if (pos < s.length() && (s.charAt(pos) == '-' || s.charAt(pos) == '+')) {
                pos++;
            }
            int digits = pos;
            while (pos < s.length() && pos - digits < 10 && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
            if (pos == digits) {
                return field;
            }
            out[field] = Long.parseLong(s.substring(start, pos).replace("+", ""));
        }
        return 6;
    }
}
