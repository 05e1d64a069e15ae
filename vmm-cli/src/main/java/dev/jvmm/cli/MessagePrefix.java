package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * -msg timestamp=on|off,guest-name=on|off: QEMU starts each error and warning line (those that begin with
 * the program's name) with the UTC time to the microsecond and, with guest-name=on, the -name guest; libvirt
 * reads those times from the domain log. Other lines (hints, "char device redirected to ...") stay as they are.
 */
final class MessagePrefix extends OutputStream {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final byte[] MARK = (Main.PROGRAM + ": ").getBytes(StandardCharsets.US_ASCII);

    private final PrintStream out;
    private final boolean timestamp;
    private final String guest;
    private final Clock clock;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

    MessagePrefix(PrintStream out, boolean timestamp, String guest, Clock clock) {
        this.out = out;
        this.timestamp = timestamp;
        this.guest = guest;
        this.clock = clock;
    }

    /** The error stream the options ask for: err itself when no prefix is asked. */
    static PrintStream wrap(QemuCommandLine cl, PrintStream err) {
        boolean timestamp = false;
        boolean guestName = false;
        for (String m : cl.msg) {
            String option = "-msg " + m;
            QemuOpts o = QemuOpts.parse(option, m, null);
            for (var e : o.values().entrySet()) {
                switch (e.getKey()) {
                    case "timestamp" -> timestamp = bool(option, e.getKey(), e.getValue());
                    case "guest-name" -> guestName = bool(option, e.getKey(), e.getValue());
                    default -> throw new OptionException(option, "Invalid parameter '" + e.getKey() + "'");
                }
            }
        }
        String guest = null;
        if (guestName && cl.name != null) {
            guest = QemuOpts.parse("-name " + cl.name, cl.name, "guest").get("guest").orElse(null);
        }
        if (!timestamp && guest == null) {
            return err;
        }
        return new PrintStream(new MessagePrefix(err, timestamp, guest, Clock.systemUTC()), true,
                StandardCharsets.UTF_8);
    }

    private static boolean bool(String option, String key, String v) {
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(option, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** The prefix for a message line at the given time. */
    String prefix(Instant now) {
        StringBuilder sb = new StringBuilder();
        if (timestamp) {
            sb.append(TIME.format(now)).append(' ');
        }
        if (guest != null) {
            sb.append(guest).append(' ');
        }
        return sb.toString();
    }

    @Override
    public synchronized void write(int b) {
        line.write(b);
        if (b == '\n') {
            flushLine();
        }
    }

    @Override
    public synchronized void flush() {
        // A partial line waits for its end, so the prefix is decided once per line.
        out.flush();
    }

    private void flushLine() {
        byte[] bytes = line.toByteArray();
        line.reset();
        if (startsWithMark(bytes)) {
            out.print(prefix(clock.instant()));
        }
        out.write(bytes, 0, bytes.length);
        out.flush();
    }

    private static boolean startsWithMark(byte[] bytes) {
        if (bytes.length < MARK.length) {
            return false;
        }
        for (int i = 0; i < MARK.length; i++) {
            if (bytes[i] != MARK[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public synchronized void close() {
        if (line.size() > 0) {
            flushLine();
        }
        out.flush();
    }
}
