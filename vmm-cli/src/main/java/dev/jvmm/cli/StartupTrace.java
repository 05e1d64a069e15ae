package dev.jvmm.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * {@code -d startup}: one line as each start-up phase ends, with the time since the process was launched, so
 * where start-up goes can be read on the host it runs on (docs/benchmarks.md has a profile). Phases are timed
 * with the monotonic clock from {@code main}; the launch-to-main part comes from the process's start time,
 * which the kernel keeps in clock ticks (10 ms). Lines go to stderr, or to the {@code -D} file.
 *
 * <p>The option is read from the arguments before the full parse, so that the parse itself is a phase; the
 * full parse checks the items ({@link #usage} for QEMU's {@code -d help} and unknown items).
 */
final class StartupTrace {
    /** The one log item jvmm has; QEMU's own items are about its TCG emulator. */
    static final String ITEM = "startup";

    /** No tracing. */
    static final StartupTrace OFF = new StartupTrace(null, 0, 0);

    private final PrintStream out;
    private final long mainNanos;
    private final long launchToMainNanos;

    private StartupTrace(PrintStream out, long mainNanos, long launchToMainNanos) {
        this.out = out;
        this.mainNanos = mainNanos;
        this.launchToMainNanos = launchToMainNanos;
    }

    /** Tracing as the arguments ask (a no-op tracer when they do not); call first thing in main. */
    static StartupTrace fromArgs(String[] args) {
        long now = System.nanoTime();
        boolean on = false;
        String file = null;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("-d") || args[i].equals("--d")) {
                on |= List.of(args[i + 1].split(",")).contains(ITEM);
            } else if (args[i].equals("-D") || args[i].equals("--D")) {
                file = args[i + 1];
            }
        }
        if (!on) {
            return OFF;
        }
        long epochMs = System.currentTimeMillis();
        long startMs = ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli)
                .orElse(epochMs);
        PrintStream out = System.err;
        if (file != null) {
            try {
                out = new PrintStream(new FileOutputStream(file, true), true, StandardCharsets.UTF_8);
            } catch (IOException e) {
                System.err.println(Main.PROGRAM + ": -D " + file + ": " + e.getMessage());
            }
        }
        StartupTrace t = new StartupTrace(out, now, Math.max(0, epochMs - startMs) * 1_000_000L);
        t.mark("main");
        return t;
    }

    /** The phase just ended. */
    void mark(String phase) {
        if (out == null) {
            return;
        }
        long tenths = (launchToMainNanos + System.nanoTime() - mainNanos) / 100_000;
        // By hand, not with printf: java.util.Formatter's first use costs a phase of its own.
        String ms = (tenths / 10) + "." + (tenths % 10);
        out.println(Main.PROGRAM + ": startup: " + " ".repeat(Math.max(0, 8 - ms.length())) + ms + " ms  " + phase
                + " (" + Thread.currentThread().getName() + ")");
    }

    /**
     * QEMU's answer to {@code -d help} and to an item it does not know: the list on stdout, exit status 1.
     * Returns null when every item is known.
     */
    static String usage(List<String> items) {
        for (String value : items) {
            for (String item : value.split(",")) {
                if (!item.equals(ITEM)) {
                    return "Log items (comma separated):\n"
                            + String.format("%-15s %s%n", ITEM, "time each start-up phase (jvmm's only log item)");
                }
            }
        }
        return null;
    }
}
