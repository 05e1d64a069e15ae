package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Figures for the boot spine, printed and not asserted (scripts/bench.sh runs it): the cost of a PIO, an
 * unassigned-MMIO and a virtio-notify exit round trip under jvmm, under QEMU and in a minimal C VMM, and the
 * wall time from launch to guest exit.
 */
@Tag("benchmark")
class SpineBenchmarkTest {
    private static final int ITERATIONS = 200_000;
    private static final int ROUNDS = 5;

    /** Microseconds per exit: wall-clock, and CPU time (user and system, all the process's threads). */
    private record Cost(double wall, double cpu) {
    }

    /** The process's CPU time so far in nanoseconds (from /proc, in clock ticks). */
    private static long cpuNanos(Process p) {
        return p.toHandle().info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(-1L);
    }

    /**
     * Runs a pio-bench guest and returns its cost per exit, taken between its two serial lines
     * ("pio-bench: MODE N" and "pio-bench: done").
     */
    private static Cost benchCostPerExit(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        p.getOutputStream().close();
        InputStream in = p.getInputStream();
        StringBuilder line = new StringBuilder();
        long start = 0;
        long end = 0;
        long cpuStart = -1;
        long cpuEnd = -1;
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
                cpuEnd = cpuNanos(p);
                break;
            } else if (l.startsWith("pio-bench: ")) {
                start = System.nanoTime();
                cpuStart = cpuNanos(p);
            }
        }
        p.waitFor(60, TimeUnit.SECONDS);
        p.destroyForcibly();
        if (start == 0 || end == 0) {
            throw new IllegalStateException("pio-bench did not report: " + command);
        }
        double cpu = cpuStart < 0 || cpuEnd < 0 ? Double.NaN : (cpuEnd - cpuStart) / 1000.0 / ITERATIONS;
        return new Cost((end - start) / 1000.0 / ITERATIONS, cpu);
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

    /** The native C loop's cost per exit in mode (pio, mmio or notify). */
    private static Cost nativeCostPerExit(String mode) throws IOException, InterruptedException {
        Path exe = Env.guest("kvm-pio-native");
        Process p = new ProcessBuilder(exe.toString(), Integer.toString(ITERATIONS), mode).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(exe + " did not exit within 60 s");
        }
        // "native: N exits, X.XX us/exit, Y.YY cpu-us/exit"
        String[] words = out.replace(",", "").split(" ");
        return new Cost(Double.parseDouble(words[words.length - 4]), Double.parseDouble(words[words.length - 2]));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /**
     * One exit path: the pio-bench mode, the native loop's mode, the extra command-line arguments both VMMs
     * get, and the BENCH line's name and what is written.
     */
    private record ExitPath(String mode, List<String> extra, String name, String what) {
    }

    private static final List<ExitPath> EXIT_PATHS = List.of(
            new ExitPath("pio", List.of(), "pio-exit", "out to unassigned port 0xed"),
            new ExitPath("mmio", List.of(), "mmio-exit", "32-bit store to unassigned MMIO 0xd0000000"),
            new ExitPath("notify", List.of("-device", "virtio-serial-pci,ioeventfd=off"), "virtio-notify-exit",
                    "16-bit virtio queue notify, virtio-serial-pci,ioeventfd=off"));

    /**
     * PIO, unassigned-MMIO and virtio-notify (ioeventfd=off) exit round trips under jvmm, QEMU and the native
     * C loop (whose MMIO exits do nothing: the floor for both MMIO modes), in wall-clock time and in CPU time
     * (all the process's threads: a busy shared machine inflates the first, less the second). Target
     * printed: within 1.3x native.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"pio", "mmio", "notify"})
    void exitRoundTrip(String mode) throws Exception {
        Env.assumeKvm();
        Path bench = Env.guest("pio-bench.pvh");
        Path qemu = Env.qemu();
        ExitPath e = EXIT_PATHS.stream().filter(x -> x.mode().equals(mode)).findFirst().orElseThrow();
        List<String> args = new ArrayList<>(guestArgs(bench, "iterations=" + ITERATIONS + " mode=" + mode));
        args.addAll(e.extra());
        Cost[] jvmm = new Cost[ROUNDS];
        Cost[] nat = new Cost[ROUNDS];
        Cost[] q = new Cost[ROUNDS];
        // Interleaved rounds, so that load on the machine falls on all three alike.
        for (int i = 0; i < ROUNDS; i++) {
            nat[i] = nativeCostPerExit(mode);
            jvmm[i] = benchCostPerExit(with(Env.launcher().toString(), args));
            q[i] = qemu == null ? new Cost(Double.NaN, Double.NaN) : benchCostPerExit(with(qemu.toString(), args));
        }
        for (boolean cpu : new boolean[] {false, true}) {
            double j = median(jvmm, cpu);
            double n = median(nat, cpu);
            double qm = median(q, cpu);
            String unit = cpu ? "CPU us/exit" : "us/exit";
            System.out.printf("BENCH %s%s (%s): %d exits, median of %d rounds: jvmm %.2f %s, native C %.2f %s,"
                    + " QEMU %.2f %s; jvmm/native %.2fx (target 1.3x: %s), jvmm/QEMU %.2fx%n", e.name(),
                    cpu ? " cpu" : "", e.what(), ITERATIONS, ROUNDS, j, unit, n, unit, qm, unit, j / n,
                    j / n <= 1.3 ? "met" : "missed", j / qm);
        }
    }

    private static double median(Cost[] costs, boolean cpu) {
        double[] v = new double[costs.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = cpu ? costs[i].cpu() : costs[i].wall();
        }
        return median(v);
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
