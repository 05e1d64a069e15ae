package dev.jvmm.qmp;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The balloon's point: guest memory given back to the host. The tiny guest (action=balloon touch=all) writes
 * every page of its 512 MiB, then QMP asks for a balloon of half of it; the VMM process's resident set (VmRSS,
 * its anonymous part RssAnon, and the transparent huge pages AnonHugePages) is printed before and after, for
 * jvmm and QEMU in one run. Nothing is asserted about the figures beyond RSS falling by at least a quarter of
 * guest RAM.
 */
@Tag("benchmark")
class VirtioBalloonBenchmarkTest {
    private static final long RAM_MIB = 512;

    @TempDir
    Path dir;

    record Figures(long beforeKib, long afterKib, long anonBeforeKib, long anonAfterKib, long laterKib,
            long thpBeforeKib, long thpAfterKib, double inflateMs) {
    }

    @Test
    void rssFallsWhenTheGuestInflates() throws Exception {
        Path kernel = GuestVm.assumeReady();
        Figures q = measure(GuestVm.QEMU, kernel, "q");
        Figures j = measure(GuestVm.jvmm(), kernel, "j");
        for (String[] row : List.of(new String[] {"jvmm", fmt(j)}, new String[] {"QEMU", fmt(q)})) {
            System.out.printf("BENCH balloon %d MiB guest, half inflated: %s %s%n", RAM_MIB, row[0], row[1]);
        }
        for (Figures f : List.of(q, j)) {
            assertTrue(f.beforeKib() - f.afterKib() > RAM_MIB * 1024 / 4, "RSS did not fall: " + fmt(f));
        }
    }

    /**
     * Scattered inflation, as a Linux guest's balloon does it: every other page of the top 256 MiB (128 MiB
     * in all). Each discard splits a transparent huge page; RSS falls at once, and then khugepaged, which
     * collapses ranges with up to max_ptes_none empty pages, may fill the holes again. RSS is sampled for a
     * minute after the inflation, for jvmm and QEMU.
     */
    @Test
    void scatteredInflationAndHugePages() throws Exception {
        Path kernel = GuestVm.assumeReady();
        String q = sampleScattered(GuestVm.QEMU, kernel, "qs");
        String j = sampleScattered(GuestVm.jvmm(), kernel, "js");
        System.out.printf("BENCH balloon %d MiB guest, 128 MiB inflated as every other page: jvmm %s%n", RAM_MIB, j);
        System.out.printf("BENCH balloon %d MiB guest, 128 MiB inflated as every other page: QEMU %s%n", RAM_MIB, q);
    }

    private String sampleScattered(String program, Path kernel, String tag) throws Exception {
        List<String> cmd = new ArrayList<>(GuestVm.command(program, kernel, "action=balloon touch=all stride=2",
                List.of("-device", "virtio-balloon-pci,id=bal0,disable-legacy=on")));
        cmd.set(cmd.indexOf("-m") + 1, Long.toString(RAM_MIB));
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve(tag + ".sock"))) {
            vm.cont();
            assertTrue(vm.awaitSerial("balloon: ready", 120_000), program + ": " + vm.serial() + vm.stderr());
            Thread.sleep(1000);
            StringBuilder sb = new StringBuilder("RSS " + (rss(vm.pid(), "VmRSS:") >> 10) + " MiB (huge pages "
                    + (anonHuge(vm.pid()) >> 10) + " MiB)");
            vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":" + ((RAM_MIB - 128) << 20) + "}}");
            assertTrue(vm.awaitEvent("BALLOON_CHANGE", 1, 120_000), program + ": no BALLOON_CHANGE");
            long t0 = System.nanoTime();
            for (int s : new int[] {1, 15, 30, 60}) {
                Thread.sleep(Math.max(0, s * 1000L - (System.nanoTime() - t0) / 1_000_000));
                sb.append(", ").append(s).append(" s after: ").append(rss(vm.pid(), "VmRSS:") >> 10)
                        .append(" MiB (huge ").append(anonHuge(vm.pid()) >> 10).append(')');
            }
            vm.command("{\"execute\":\"quit\"}");
            vm.finish(20_000);
            return sb.toString();
        }
    }

    private static String fmt(Figures f) {
        return String.format("RSS %d -> %d MiB (anon %d -> %d MiB, huge pages %d -> %d MiB, %d MiB 5 s later),"
                + " freed %d MiB, balloon command to BALLOON_CHANGE %.0f ms", f.beforeKib() >> 10,
                f.afterKib() >> 10, f.anonBeforeKib() >> 10, f.anonAfterKib() >> 10, f.thpBeforeKib() >> 10,
                f.thpAfterKib() >> 10, f.laterKib() >> 10, (f.beforeKib() - f.afterKib()) >> 10, f.inflateMs());
    }

    private Figures measure(String program, Path kernel, String tag) throws Exception {
        List<String> cmd = new ArrayList<>(GuestVm.command(program, kernel, "action=balloon touch=all",
                List.of("-device", "virtio-balloon-pci,id=bal0,disable-legacy=on")));
        cmd.set(cmd.indexOf("-m") + 1, Long.toString(RAM_MIB));
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve(tag + ".sock"))) {
            vm.cont();
            assertTrue(vm.awaitSerial("balloon: ready", 120_000), program + ": " + vm.serial() + vm.stderr());
            Thread.sleep(1000);
            long before = rss(vm.pid(), "VmRSS:");
            long anonBefore = rss(vm.pid(), "RssAnon:");
            long thpBefore = anonHuge(vm.pid());
            long t0 = System.nanoTime();
            vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":" + (RAM_MIB << 19) + "}}");
            assertTrue(vm.awaitEvent("BALLOON_CHANGE", 1, 120_000), program + ": no BALLOON_CHANGE");
            double ms = (System.nanoTime() - t0) / 1e6;
            Thread.sleep(1000);
            long after = rss(vm.pid(), "VmRSS:");
            long anonAfter = rss(vm.pid(), "RssAnon:");
            long thpAfter = anonHuge(vm.pid());
            Thread.sleep(5000);
            long later = rss(vm.pid(), "VmRSS:");
            vm.command("{\"execute\":\"quit\"}");
            vm.finish(20_000);
            return new Figures(before, after, anonBefore, anonAfter, later, thpBefore, thpAfter, ms);
        }
    }

    /** AnonHugePages of /proc/PID/smaps_rollup in KiB: guest RAM backed by transparent huge pages. */
    static long anonHuge(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            if (l.startsWith("AnonHugePages:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** A /proc/PID/status field in KiB. */
    static long rss(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith(field)) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " for " + pid);
    }
}
