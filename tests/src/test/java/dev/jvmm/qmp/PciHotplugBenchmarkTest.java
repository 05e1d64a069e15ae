package dev.jvmm.qmp;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ACPI PCI hotplug latency, jvmm against QEMU 7.2 in one run: device_add of a virtio-serial-pci until the
 * tiny guest (action=pcihp, the acpiphp-like driver of tests/guest/src/pcihp.c) prints that it has set the
 * device up, and device_del until DEVICE_DELETED for it (the guest ejects at once). Median of ROUNDS rounds
 * after WARMUP, one boot per VMM.
 */
@Tag("benchmark")
class PciHotplugBenchmarkTest {
    private static final int WARMUP = 3;
    private static final int ROUNDS = 15;
    private static final long STEP_MS = 20_000;

    @TempDir
    Path dir;

    /** Medians in ms. */
    record Figures(double addMs, double delMs) {
    }

    @Test
    void addAndDeleteLatency() throws Exception {
        Path kernel = GuestVm.assumeReady();
        Figures q = measure(GuestVm.QEMU, kernel, "q");
        Figures j = measure(GuestVm.jvmm(), kernel, "j");
        System.out.printf("BENCH pcihp device_add to guest set-up (median of %d): jvmm %.2f ms, QEMU %.2f ms, "
                + "jvmm/QEMU %.2fx%n", ROUNDS, j.addMs(), q.addMs(), j.addMs() / q.addMs());
        System.out.printf("BENCH pcihp device_del to DEVICE_DELETED (median of %d): jvmm %.2f ms, QEMU %.2f ms, "
                + "jvmm/QEMU %.2fx%n", ROUNDS, j.delMs(), q.delMs(), j.delMs() / q.delMs());
    }

    private Figures measure(String program, Path kernel, String tag) throws Exception {
        List<String> cmd = GuestVm.command(program, kernel, "action=pcihp events=1000", List.of("-machine", "pc"));
        double[] add = new double[ROUNDS];
        double[] del = new double[ROUNDS];
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve(tag + ".sock"))) {
            vm.pollSerialEvery(1);
            vm.cont();
            assertTrue(vm.awaitSerial("pcihp: ready", STEP_MS), program + ": " + vm.serial() + vm.stderrTail());
            for (int i = 0; i < WARMUP + ROUNDS; i++) {
                String id = "ser" + i;
                long t0 = System.nanoTime();
                vm.command("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-serial-pci\",\"id\":\""
                        + id + "\",\"bus\":\"pci.0\",\"addr\":\"5\"}}");
                assertTrue(vm.awaitSerial("pcihp: slot 5 virtio", i + 1, STEP_MS),
                        program + ": guest did not set up " + id + ": " + vm.serial() + vm.stderrTail());
                long t1 = System.nanoTime();
                vm.command("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + id + "\"}}");
                // Two DEVICE_DELETED per device: its virtio backend, then the device.
                assertTrue(vm.awaitEvent("DEVICE_DELETED", 2 * (i + 1), STEP_MS),
                        program + ": no DEVICE_DELETED for " + id + ": " + vm.serial() + vm.stderrTail());
                long t2 = System.nanoTime();
                if (i >= WARMUP) {
                    add[i - WARMUP] = (t1 - t0) / 1e6;
                    del[i - WARMUP] = (t2 - t1) / 1e6;
                }
            }
            vm.command("{\"execute\":\"quit\"}");
            vm.finish(STEP_MS);
        }
        return new Figures(median(add), median(del));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
