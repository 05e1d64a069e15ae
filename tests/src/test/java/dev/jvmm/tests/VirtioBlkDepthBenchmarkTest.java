package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Disk I/O at depth (issue 18), printed and not asserted: virtio-blk with 4 queues and 32 requests in flight on
 * each (the tiny guest's action=blk-mq: 4 KiB random reads and writes, 64 KiB sequential reads and writes), jvmm
 * vs QEMU 7.2 under aio=threads, native and io_uring with cache=none on the same raw image, in interleaved rounds
 * (medians), next to the host's own figures from tests/guest/bench/aio_native.c (Linux AIO, O_DIRECT, the same
 * sizes, offsets and total depth). IOPS and mean latency come from the guest's TSC for both VMMs.
 */
@Tag("benchmark")
class VirtioBlkDepthBenchmarkTest {
    private static final int QUEUES = 4;
    private static final int QD = 32;
    private static final int COUNT = Integer.getInteger("jvmm.bench.count", 4000);
    private static final int WARM = 1000;
    private static final int ROUNDS = Integer.getInteger("jvmm.bench.rounds", 3);
    private static final long IMAGE_MIB = 256;
    private static final Duration TIMEOUT = Duration.ofSeconds(300);
    private static final List<String> MODES = List.of("threads", "native", "io_uring");
    private static final List<String> PHASES = List.of("randread", "randwrite", "seqread", "seqwrite");
    private static final Pattern DONE = Pattern.compile(
            "(?:blk-mq|aio-native): (\\w+) done (\\d+) x (\\d+) bytes in (\\d+) us lat (\\d+) ns");

    @TempDir
    Path dir;

    /** Phase name to {IOPS, mean latency in microseconds}. */
    private static Map<String, double[]> figures(String out, String who) {
        Map<String, double[]> m = new LinkedHashMap<>();
        Matcher x = DONE.matcher(out);
        while (x.find()) {
            double count = Double.parseDouble(x.group(2));
            double seconds = Double.parseDouble(x.group(4)) / 1e6;
            m.put(x.group(1), new double[] {count / seconds, Double.parseDouble(x.group(5)) / 1e3});
        }
        if (m.size() < PHASES.size() && !who.startsWith("native")) {
            throw new AssertionError(who + " blk-mq run failed: " + out);
        }
        return m;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String[] drive(Path img, String aio) {
        return new String[] {"-drive", "file=" + img + ",format=raw,if=none,id=d0,cache=none,aio=" + aio,
            "-device", "virtio-blk-pci,drive=d0,num-queues=" + QUEUES};
    }

    /** [who][mode][phase][metric][round]: who 0 jvmm, 1 QEMU; metric 0 IOPS, 1 latency. */
    private static void record(double[][][][][] f, int who, int mode, int round, Map<String, double[]> m) {
        for (int p = 0; p < PHASES.size(); p++) {
            double[] v = m.getOrDefault(PHASES.get(p), new double[] {Double.NaN, Double.NaN});
            f[who][mode][p][0][round] = v[0];
            f[who][mode][p][1][round] = v[1];
        }
    }

    @Test
    void multiQueueAtDepth() {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        Path nativeExe = Env.guest("aio-native");
        Path img = dir.resolve("depth.raw");
        BlkGuest.create(img, "raw", IMAGE_MIB << 20);
        // Allocated blocks, so reads hit the disk as the native baseline's do.
        BlkGuest.run("dd", "if=/dev/zero", "of=" + img, "bs=1M", "count=" + IMAGE_MIB, "conv=notrunc,fdatasync",
                "status=none");
        String append = "action=blk-mq queues=" + QUEUES + " qd=" + QD + " count=" + COUNT + " warm=" + WARM
                + " ops=rwRW timeout=20000";
        double[][][][][] f = new double[2][MODES.size()][PHASES.size()][2][ROUNDS];
        double[][][] nat = new double[PHASES.size()][2][ROUNDS];
        AssertionError jvmmFailure = null;
        // Interleaved: each round runs every mode on both VMMs and the native baseline, so load falls on all alike.
        for (int r = 0; r < ROUNDS; r++) {
            for (int m = 0; m < MODES.size(); m++) {
                String[] args = TinyGuest.argv(kernel, append, drive(img, MODES.get(m)));
                VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, args);
                record(f, 1, m, r, figures(q.stdout(), "QEMU aio=" + MODES.get(m)));
                VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, args);
                try {
                    record(f, 0, m, r, figures(j.stdout(), "jvmm aio=" + MODES.get(m)));
                } catch (AssertionError e) {
                    jvmmFailure = e;
                    record(f, 0, m, r, Map.of());
                }
            }
            for (int p = 0; p < PHASES.size(); p++) {
                String bytes = PHASES.get(p).startsWith("seq") ? "65536" : "4096";
                Map<String, double[]> n = figures(BlkGuest.run(nativeExe.toString(), img.toString(), PHASES.get(p),
                        bytes, Integer.toString(QUEUES * QD), Integer.toString(COUNT)), "native");
                double[] v = n.getOrDefault(PHASES.get(p), new double[] {Double.NaN, Double.NaN});
                nat[p][0][r] = v[0];
                nat[p][1][r] = v[1];
            }
        }
        for (int m = 0; m < MODES.size(); m++) {
            for (int p = 0; p < PHASES.size(); p++) {
                double ji = median(f[0][m][p][0]);
                double jl = median(f[0][m][p][1]);
                double qi = median(f[1][m][p][0]);
                double ql = median(f[1][m][p][1]);
                double ni = median(nat[p][0]);
                double nl = median(nat[p][1]);
                System.out.printf("BENCH blk depth aio=%s %s %s QD%dx%d: jvmm %.0f IOPS lat %.0f us, QEMU %.0f IOPS"
                        + " lat %.0f us, native %.0f IOPS lat %.0f us; jvmm/QEMU %.2fx, jvmm/native %.2fx"
                        + " (target: jvmm/QEMU >= 1; median of %d rounds)%n", MODES.get(m), PHASES.get(p),
                        PHASES.get(p).startsWith("seq") ? "64 KiB" : "4 KiB", QD, QUEUES, ji, jl, qi, ql, ni, nl,
                        ji / qi, ji / ni, ROUNDS);
            }
        }
        if (jvmmFailure != null) {
            throw jvmmFailure;
        }
    }
}
