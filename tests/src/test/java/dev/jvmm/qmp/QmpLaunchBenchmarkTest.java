package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * QMP figures for the real jvmm beside QEMU, printed and not asserted: launch to greeting, query-status
 * round trip, and STOP/RESUME events delivered per second.
 */
@Tag("benchmark")
class QmpLaunchBenchmarkTest {
    private static final int ROUNDS = 5;
    private static final int ROUND_TRIPS = 2000;

    @TempDir
    Path dir;

    private record Figures(double greetingMs, double roundTripUs, double eventsPerSecond) {
    }

    private Figures measure(String program, String tag) throws Exception {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        Path sock = dir.resolve(tag + ".sock");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-S", "-m", "128", "-kernel", kernel.toString(), "-append", "action=idle",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            while (!Files.exists(sock)) {
                Thread.sleep(1);
            }
            try (QmpClient c = new QmpClient(sock)) {
                c.read(10_000);
                double greetingMs = (System.nanoTime() - t0) / 1e6;
                c.exchange("{\"execute\":\"qmp_capabilities\"}");
                for (int i = 0; i < 200; i++) {
                    c.exchange("{\"execute\":\"query-status\"}");
                }
                long r0 = System.nanoTime();
                for (int i = 0; i < ROUND_TRIPS; i++) {
                    c.exchange("{\"execute\":\"query-status\"}");
                }
                double rttUs = (System.nanoTime() - r0) / 1e3 / ROUND_TRIPS;
                int events = 0;
                long e0 = System.nanoTime();
                while (System.nanoTime() - e0 < 2_000_000_000L) {
                    for (String command : List.of("{\"execute\":\"cont\"}", "{\"execute\":\"stop\"}")) {
                        for (Map<String, Object> m : c.exchange(command)) {
                            if (m.containsKey("event")) {
                                events++;
                            }
                        }
                    }
                }
                double eps = events / ((System.nanoTime() - e0) / 1e9);
                return new Figures(greetingMs, rttUs, eps);
            }
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    @Test
    void jvmmBesideQemu() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        String jvmm = System.getProperty("jvmm.launcher", "../bin/jvmm");
        double[][] j = new double[3][ROUNDS];
        double[][] q = new double[3][ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            Figures fj = measure(jvmm, "j" + i);
            Figures fq = measure("qemu-system-x86_64", "q" + i);
            j[0][i] = fj.greetingMs();
            j[1][i] = fj.roundTripUs();
            j[2][i] = fj.eventsPerSecond();
            q[0][i] = fq.greetingMs();
            q[1][i] = fq.roundTripUs();
            q[2][i] = fq.eventsPerSecond();
        }
        System.out.printf("BENCH qmp launch-to-greeting: median of %d: jvmm %.1f ms, QEMU %.1f ms; jvmm/QEMU %.2fx%n",
                ROUNDS, median(j[0]), median(q[0]), median(j[0]) / median(q[0]));
        System.out.printf("BENCH qmp query-status round trip: jvmm %.1f us, QEMU %.1f us; jvmm/QEMU %.2fx%n",
                median(j[1]), median(q[1]), median(j[1]) / median(q[1]));
        System.out.printf("BENCH qmp stop/cont events delivered: jvmm %.0f/s, QEMU %.0f/s%n",
                median(j[2]), median(q[2]));
    }
}
