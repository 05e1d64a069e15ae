package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The exit benchmark's guest modes (pio-bench.pvh, tests/guest/src/pio_bench.c) as a functional check, a few
 * exits each, under QEMU and jvmm with the same command line: stores to unassigned MMIO, which keeps nothing,
 * and virtio queue notifies on a virtio-serial-pci with ioeventfd=off, each one an exit to the transport;
 * and the tiny guest's virtio-blk driver on a device with ioeventfd=off, whose every kick takes that exit.
 */
class ExitPathSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final long DISK = 4L << 20;

    @TempDir
    Path dir;

    /** Write, flush, read back, zero and discard through notifies that exit to the transport. */
    @Test
    void virtioBlkWithoutIoeventfd() {
        Path qi = dir.resolve("q.raw");
        Path ji = dir.resolve("j.raw");
        BlkGuest.create(qi, "raw", DISK);
        BlkGuest.create(ji, "raw", DISK);
        String[] qd = BlkGuest.deviceDrive(qi, "raw", null);
        String[] jd = BlkGuest.deviceDrive(ji, "raw", null);
        qd[qd.length - 1] += ",ioeventfd=off";
        jd[jd.length - 1] += ",ioeventfd=off";
        String append = "action=blk";
        GuestPair p = GuestPair.run(TIMEOUT, append, qd, jd, TinyGuest.EXIT_PASSED);
        assertEquals(TinyGuest.header(TinyGuest.Format.PVH, append, 128)
                + BlkGuest.blkOutput(DISK / 512, "", 0, 64, 0, false), p.qemu().stdout(), "QEMU's output");
        byte[] expected = BlkGuest.afterBlkAction(DISK, 0, 64, 0);
        BlkGuest.checkImage(qi, "raw", expected, "QEMU");
        p.assertSame(BlkGuest::jvmmHint);
        BlkGuest.checkImage(ji, "raw", expected, "jvmm");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"mmio, ''", "notify, 'virtio-serial-pci,ioeventfd=off'"})
    void guestLoopEndsAlike(String mode, String device) {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("pio-bench.pvh");
        String append = "iterations=1000 mode=" + mode;
        String[] extra = device.isEmpty() ? new String[0] : new String[] {"-device", device};
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, TinyGuest.argv(kernel, append, extra));
        // QEMU's unassigned_mem_read: an address nothing claims reads as 0 (not as all ones).
        String unassigned = mode.equals("mmio") ? "pio-bench: unassigned MMIO reads 0x00000000\n" : "";
        assertEquals(unassigned + "pio-bench: " + mode + " 1000\npio-bench: done\n", q.stdout(),
                "QEMU: " + q.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, q.status(), "QEMU: " + q.stderr());
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, append, extra));
        assertEquals(q.stdout(), j.stdout(), "serial output differs; jvmm stderr: " + j.stderr());
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }
}
