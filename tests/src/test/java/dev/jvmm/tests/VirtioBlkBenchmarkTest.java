package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Disk throughput from the tiny guest (action=blk-bench), printed and not asserted: sequential 1 MiB reads
 * and writes and 4 KiB random reads, jvmm vs QEMU on the same raw image in one run, and host dd on the
 * file. The guest times each phase with its TSC, calibrated against PIT channel 2 (the times it prints
 * exclude the serial output around them); the same figures are printed for both VMMs.
 */
@Tag("benchmark")
class VirtioBlkBenchmarkTest {
    private static final int MIB = 256; // long enough that JIT warm-up in the first requests is a small share
    private static final int RAND = 4000;
    private static final int ROUNDS = 5;
    private static final int WARM = 256;
    private static final Duration TIMEOUT = Duration.ofSeconds(300);
    private static final Pattern DONE = Pattern.compile("blk-bench: (\\w+) done (\\d+) x (\\d+) bytes in (\\d+) us");

    @TempDir
    Path dir;

    /** Phase name to MB/s (seqread, seqwrite) or IOPS (randread). */
    private static Map<String, Double> figures(VmProcess.Result r, String who) {
        if (r.status() != TinyGuest.EXIT_PASSED) {
            throw new AssertionError(who + " blk-bench failed (status " + r.status() + "): " + r.stdout()
                    + r.stderr());
        }
        Map<String, Double> m = new LinkedHashMap<>();
        Matcher x = DONE.matcher(r.stdout());
        while (x.find()) {
            double count = Double.parseDouble(x.group(2));
            double bytes = Double.parseDouble(x.group(3));
            double seconds = Double.parseDouble(x.group(4)) / 1e6;
            m.put(x.group(1), x.group(1).equals("randread") ? count / seconds : count * bytes / 1e6 / seconds);
        }
        return m;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** dd's own MB/s figure from its last stderr line ("... copied, 0.1 s, 640 MB/s"). */
    private static double dd(String... args) {
        String out = BlkGuest.run(args);
        Matcher m = Pattern.compile(", ([0-9.]+) ([kMG]?B)/s").matcher(out);
        double v = Double.NaN;
        while (m.find()) {
            double n = Double.parseDouble(m.group(1));
            v = switch (m.group(2)) {
                case "kB" -> n / 1e3;
                case "GB" -> n * 1e3;
                case "B" -> n / 1e6;
                default -> n;
            };
        }
        return v;
    }

    @Test
    void sequentialAndRandom() {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        Path img = dir.resolve("bench.raw");
        BlkGuest.create(img, "raw", (MIB + 16L) << 20);
        // Allocate the file first so reads hit real blocks, as dd's will.
        BlkGuest.run("dd", "if=/dev/zero", "of=" + img, "bs=1M", "count=" + (MIB + 16), "conv=notrunc,fdatasync",
                "status=none");
        // warm=: untimed requests first, so both VMMs are measured in their steady state.
        String append = "action=blk-bench mib=" + MIB + " rand=" + RAND + " warm=" + WARM;
        String[] drive = {"-drive", "file=" + img + ",format=raw,if=none,id=d0,cache=none,aio=threads",
            "-device", "virtio-blk-pci,drive=d0"};
        String[] phases = {"seqread", "seqwrite", "randread"};
        double[][] j = new double[3][ROUNDS];
        double[][] q = new double[3][ROUNDS];
        AssertionError jvmmFailure = null;
        // Interleaved rounds, so that load on the machine falls on both alike.
        for (int r = 0; r < ROUNDS; r++) {
            Map<String, Double> qf = figures(VmProcess.runQemu(qemu, TIMEOUT, TinyGuest.argv(kernel, append, drive)),
                    "QEMU");
            Map<String, Double> jf = Map.of();
            if (Boolean.getBoolean("jvmm.qemuOnly")) {
                for (int i = 0; i < 3; i++) {
                    q[i][r] = qf.getOrDefault(phases[i], Double.NaN);
                    j[i][r] = Double.NaN;
                }
                continue;
            }
            VmProcess.Result jr = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, append, drive));
            try {
                jf = figures(jr, "jvmm" + (jr.stdout().contains("blk: no virtio-blk device")
                        ? " (no virtio-blk device: not integrated yet?)" : ""));
            } catch (AssertionError e) {
                jvmmFailure = e; // QEMU's and dd's figures are still printed
            }
            for (int i = 0; i < 3; i++) {
                q[i][r] = qf.getOrDefault(phases[i], Double.NaN);
                j[i][r] = jf.getOrDefault(phases[i], Double.NaN);
            }
        }
        double ddRead = dd("dd", "if=" + img, "of=/dev/null", "bs=1M", "count=" + MIB, "iflag=direct");
        double ddWrite = dd("dd", "if=/dev/zero", "of=" + img, "bs=1M", "count=" + MIB, "oflag=direct",
                "conv=notrunc,fdatasync");
        double jr = median(j[0]);
        double jw = median(j[1]);
        double ji = median(j[2]);
        double qr = median(q[0]);
        double qw = median(q[1]);
        double qi = median(q[2]);
        System.out.printf("BENCH blk seq-read 1 MiB: jvmm %.0f MB/s, QEMU %.0f MB/s, host dd %.0f MB/s;"
                + " jvmm/QEMU %.2fx, jvmm/dd %.2fx%n", jr, qr, ddRead, jr / qr, jr / ddRead);
        System.out.printf("BENCH blk seq-write 1 MiB: jvmm %.0f MB/s, QEMU %.0f MB/s, host dd %.0f MB/s;"
                + " jvmm/QEMU %.2fx, jvmm/dd %.2fx%n", jw, qw, ddWrite, jw / qw, jw / ddWrite);
        System.out.printf("BENCH blk rand-read 4 KiB QD1: jvmm %.0f IOPS, QEMU %.0f IOPS; jvmm/QEMU %.2fx"
                + " (median of %d rounds, cache=none)%n", ji, qi, ji / qi, ROUNDS);
        if (jvmmFailure != null) {
            throw jvmmFailure;
        }
    }
}
