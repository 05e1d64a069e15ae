package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Figures for the boot spine, printed and not asserted (scripts/bench.sh runs it): the cost of a PIO exit
 * round trip under jvmm, under QEMU and in a minimal C VMM, and the wall time from launch to guest exit.
 */
@Tag("benchmark")
class SpineBenchmarkTest {
    private static final int ITERATIONS = 200_000;
    private static final int ROUNDS = 5;

    /** Runs a pio-bench guest and returns the microseconds per exit, timed between its two serial lines. */
    private static double pioMicrosPerExit(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        p.getOutputStream().close();
        InputStream in = p.getInputStream();
        StringBuilder line = new StringBuilder();
        long start = 0;
        long end = 0;
        int c;
        while ((c = in.read()) >= 0) {
            if (c != '\n') {
                line.append((char) c);
                continue;
            }
            String l = line.toString();
            line.setLength(0);
            if (l.equals("pio-bench: done")) {
                end = System.nanoTime();
                break;
            } else if (l.startsWith("pio-bench: ")) {
                start = System.nanoTime();
            }
        }
        p.waitFor(60, TimeUnit.SECONDS);
        p.destroyForcibly();
        if (start == 0 || end == 0) {
            throw new IllegalStateException("pio-bench did not report: " + command);
        }
        return (end - start) / 1000.0 / ITERATIONS;
    }

    private static List<String> guestArgs(Path kernel, String append) {
        return List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults", "-display", "none", "-serial", "stdio",
                "-m", "128", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
                "-kernel", kernel.toString(), "-append", append);
    }

    private static List<String> with(String program, List<String> args) {
        List<String> c = new ArrayList<>();
        c.add(program);
        c.addAll(args);
        return c;
    }

    private static double nativeMicrosPerExit() throws IOException, InterruptedException {
        Path exe = Env.guest("kvm-pio-native");
        Process p = new ProcessBuilder(exe.toString(), Integer.toString(ITERATIONS)).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(exe + " did not exit within 60 s");
        }
        // "native: N exits, X.XX us/exit"
        String[] words = out.split(" ");
        return Double.parseDouble(words[words.length - 2]);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    @Test
    void pioExitRoundTrip() throws Exception {
        Env.assumeKvm();
        Path bench = Env.guest("pio-bench.pvh");
        Path qemu = Env.qemu();
        String append = "iterations=" + ITERATIONS;
        double[] jvmm = new double[ROUNDS];
        double[] nat = new double[ROUNDS];
        double[] q = new double[ROUNDS];
        // Interleaved rounds, so that load on the machine falls on all three alike.
        for (int i = 0; i < ROUNDS; i++) {
            nat[i] = nativeMicrosPerExit();
            jvmm[i] = pioMicrosPerExit(with(Env.launcher().toString(), guestArgs(bench, append)));
            q[i] = qemu == null ? Double.NaN : pioMicrosPerExit(with(qemu.toString(), guestArgs(bench, append)));
        }
        double j = median(jvmm);
        double n = median(nat);
        double qm = median(q);
        System.out.printf("BENCH pio-exit: %d exits, median of %d rounds: jvmm %.2f us/exit, native C %.2f us/exit,"
                + " QEMU %.2f us/exit; jvmm/native %.2fx, jvmm/QEMU %.2fx%n", ITERATIONS, ROUNDS, j, n, qm, j / n,
                j / qm);
    }

    private static double launchToExitMillis(List<String> command) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("no exit within 60 s: " + command);
        }
        int status = p.exitValue();
        double ms = (System.nanoTime() - t0) / 1e6;
        if (status != TinyGuest.EXIT_PASSED) {
            throw new IllegalStateException("guest failed (" + status + "): " + command);
        }
        return ms;
    }

    @Test
    void launchToGuestExit() throws Exception {
        Env.assumeKvm();
        Path tiny = Env.guest("tiny.pvh");
        Path qemu = Env.qemu();
        double[] jvmm = new double[ROUNDS];
        double[] q = new double[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            jvmm[i] = launchToExitMillis(with(Env.launcher().toString(), guestArgs(tiny, "bench")));
            q[i] = qemu == null ? Double.NaN : launchToExitMillis(with(qemu.toString(), guestArgs(tiny, "bench")));
        }
        System.out.printf("BENCH launch-to-exit (tiny.pvh, all checks): median of %d: jvmm %.0f ms, QEMU %.0f ms;"
                + " jvmm/QEMU %.2fx%n", ROUNDS, median(jvmm), median(q), median(jvmm) / median(q));
    }
}
