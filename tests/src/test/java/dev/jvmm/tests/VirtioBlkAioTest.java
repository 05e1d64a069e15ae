package dev.jvmm.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * virtio-blk with several queues and 32 requests in flight on each (the tiny guest's action=blk-mq), under every
 * aio= mode: QEMU 7.2 runs the guest once and its serial output is checked against what the guest must print;
 * jvmm must print the same under aio=threads, native and io_uring on raw images (its async engines) and on a
 * qcow2 image (its synchronous path). Each run writes 128 pattern blocks at depth and reads them back at depth
 * with one read across the end of the disk among them (IOERR, the others unharmed) and flushes;
 * the host then compares the images' bytes and runs qemu-img check on the qcow2 one.
 */
class VirtioBlkAioTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long DISK = 16L << 20;
    private static final int BLOCKS = 128;
    private static final int SEED = 7;
    private static final String APPEND = "action=blk-mq queues=4 qd=32 count=" + BLOCKS + " seed=" + SEED
            + " ops=ef timeout=10000";

    @TempDir
    Path dir;

    private static String[] drive(Path img, String format, String aio) {
        return new String[] {"-drive", "file=" + img + ",format=" + format + ",if=none,id=d0,cache=none,aio=" + aio,
            "-device", "virtio-blk-pci,drive=d0,num-queues=4"};
    }

    /** The serial output without the guest's TSC frequency, which differs between runs. */
    private static String normalized(String out) {
        return out.replaceAll("tsc_khz \\d+", "tsc_khz N");
    }

    private static String expected() {
        String verify = "blk-mq: verify " + BLOCKS + " blocks, mismatches 0\n";
        return TinyGuest.header(TinyGuest.Format.PVH, APPEND, 128) + "blk: pci 00:02.0\n"
                + "blk-mq: queues 4 qd 32 tsc_khz N\n" + verify + "blk-mq: past-end read status 1 (IOERR)\n"
                + "blk-mq: flush status 0 (OK)\nblk-mq: ok\n";
    }

    private static byte[] image() {
        byte[] b = new byte[(int) DISK];
        byte[] p = BlkGuest.pattern(0, BLOCKS * 4096, SEED);
        System.arraycopy(p, 0, b, 0, p.length);
        return b;
    }

    @Test
    void everyAioModeAtDepth() {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        Path qi = dir.resolve("q.raw");
        BlkGuest.create(qi, "raw", DISK);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, TinyGuest.argv(kernel, APPEND, drive(qi, "raw",
                "io_uring")));
        assertEquals(TinyGuest.EXIT_PASSED, q.status(), "QEMU run: " + q.stdout() + q.stderr());
        assertEquals(expected(), normalized(q.stdout()), "QEMU's output is not what the guest should print");
        BlkGuest.checkImage(qi, "raw", image(), "QEMU");
        if (Boolean.getBoolean("jvmm.qemuOnly")) {
            return;
        }
        for (String[] run : Arrays.asList(new String[] {"raw", "threads"}, new String[] {"raw", "native"},
                new String[] {"raw", "io_uring"}, new String[] {"qcow2", "io_uring"})) {
            String who = "jvmm " + run[0] + " aio=" + run[1];
            Path ji = dir.resolve("j-" + run[1] + "." + run[0]);
            BlkGuest.create(ji, run[0], DISK);
            VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, APPEND, drive(ji, run[0], run[1])));
            assertEquals(normalized(q.stdout()), normalized(j.stdout()), who + ": " + BlkGuest.jvmmHint(j));
            assertEquals(q.status(), j.status(), who + " exit status");
            BlkGuest.checkImage(ji, run[0], image(), who);
        }
    }
}
