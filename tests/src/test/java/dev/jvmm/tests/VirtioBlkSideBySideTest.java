package dev.jvmm.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny guest's virtio-blk driver (tests/guest/src/virtio_blk.c) under QEMU and under jvmm with the same
 * command line and images made by qemu-img: QEMU's serial output is checked against what the guest must
 * print (so the test itself is proven on QEMU), jvmm's must be identical, with the same exit status, and
 * the images both VMMs wrote must pass `qemu-img check` and hold exactly the expected bytes.
 */
class VirtioBlkSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long DISK = 16L << 20;
    private static final String SERIAL = "jvmm-disk-0";

    @TempDir
    Path dir;

    private static String header(String append) {
        return TinyGuest.header(TinyGuest.Format.PVH, append, 128);
    }

    /** Runs QEMU on qemuImg and jvmm on jvmmImg, same arguments otherwise; QEMU must pass. */
    private static GuestPair runBoth(String append, String[] qemuDrive, String[] jvmmDrive) {
        return runBothStatus(append, qemuDrive, jvmmDrive, TinyGuest.EXIT_PASSED);
    }

    private static GuestPair runBothStatus(String append, String[] qemuArgs, String[] jvmmArgs, int qemuStatus) {
        return GuestPair.run(TIMEOUT, append, qemuArgs, jvmmArgs, qemuStatus);
    }

    static Stream<Arguments> writeCases() {
        return Stream.of(
                Arguments.of("raw", "device", "action=blk"),
                Arguments.of("qcow2", "device", "action=blk"),
                Arguments.of("qcow2", "if=virtio", "action=blk start=100 sectors=300 seed=5 seg=512"),
                Arguments.of("raw", "if=virtio", "action=blk indirect=1 eventidx=1 start=2000 sectors=2048 seg=65536"),
                Arguments.of("qcow2-v2", "device", "action=blk indirect=1 eventidx=1 start=31000 sectors=256"));
    }

    /** Write a pattern, flush, read back, zero and discard; then the host checks the images. */
    @ParameterizedTest(name = "{0} {1} \"{2}\"")
    @MethodSource("writeCases")
    void writeFlushReadBack(String kind, String how, String append) {
        String format = kind.startsWith("qcow2") ? "qcow2" : "raw";
        String[] opts = kind.equals("qcow2-v2") ? new String[] {"compat=0.10"} : new String[0];
        Path qi = dir.resolve("q." + format);
        Path ji = dir.resolve("j." + format);
        BlkGuest.create(qi, format, DISK, opts);
        BlkGuest.create(ji, format, DISK, opts);
        boolean device = how.equals("device");
        String serial = device ? SERIAL : "";
        GuestPair p = runBoth(append,
                device ? BlkGuest.deviceDrive(qi, format, SERIAL) : BlkGuest.virtioDrive(qi, format),
                device ? BlkGuest.deviceDrive(ji, format, SERIAL) : BlkGuest.virtioDrive(ji, format));
        int start = intOpt(append, "start", 0);
        int sectors = intOpt(append, "sectors", 64);
        int seed = intOpt(append, "seed", 0);
        boolean ring = append.contains("indirect=1");
        assertEquals(header(append) + BlkGuest.blkOutput(DISK / 512, serial, start, sectors, seed, ring),
                p.qemu().stdout(), "QEMU's output is not what the guest should print");
        byte[] expected = BlkGuest.afterBlkAction(DISK, start, sectors, seed);
        BlkGuest.checkImage(qi, format, expected, "QEMU");
        p.assertSame(BlkGuest::jvmmHint);
        BlkGuest.checkImage(ji, format, expected, "jvmm");
    }

    static int intOpt(String append, String key, int dflt) {
        for (String w : append.split(" ")) {
            if (w.startsWith(key + "=")) {
                return Integer.parseInt(w.substring(key.length() + 1));
            }
        }
        return dflt;
    }

    // ------------------------------------------------------------------ reading images qemu-img made

    /** 4 MiB of the pattern with seed 99: the contents of every image of the read cases. */
    private Path baseRaw() {
        Path base = dir.resolve("base.raw");
        BlkGuest.write(base, BlkGuest.pattern(0, 4 << 20, 99));
        return base;
    }

    static Stream<Arguments> readCases() {
        return Stream.of(Arguments.of("raw"), Arguments.of("qcow2"), Arguments.of("qcow2-v2"),
                Arguments.of("qcow2-compressed"), Arguments.of("qcow2-backing"), Arguments.of("qcow2-backing-raw"));
    }

    /** Reads 4 MiB of an image qemu-img made (compressed clusters, backing files, zero clusters). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("readCases")
    void readsImagesQemuImgMade(String kind) {
        Env.assumeQemu();
        String img = BlkGuest.qemuImg().toString();
        Path base = baseRaw();
        byte[] expected = BlkGuest.pattern(0, 4 << 20, 99);
        Path disk;
        String format = "qcow2";
        switch (kind) {
            case "raw" -> {
                disk = base;
                format = "raw";
            }
            case "qcow2" -> {
                disk = dir.resolve("d.qcow2");
                BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", base.toString(), disk.toString());
            }
            case "qcow2-v2" -> {
                disk = dir.resolve("d.qcow2");
                BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", base.toString(),
                        disk.toString());
            }
            case "qcow2-compressed" -> {
                disk = dir.resolve("d.qcow2");
                BlkGuest.run(img, "convert", "-c", "-f", "raw", "-O", "qcow2", base.toString(), disk.toString());
            }
            default -> {
                // An overlay over a qcow2 (or raw) backing file, with a written and a zeroed range of its own.
                Path backing = base;
                String backingFormat = "raw";
                if (kind.equals("qcow2-backing")) {
                    backing = dir.resolve("base.qcow2");
                    backingFormat = "qcow2";
                    BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", base.toString(), backing.toString());
                }
                disk = dir.resolve("overlay.qcow2");
                BlkGuest.run(img, "create", "-q", "-f", "qcow2", "-b", backing.toString(), "-F", backingFormat,
                        disk.toString());
                BlkGuest.run(BlkGuest.tool("qemu-io").toString(), "-f", "qcow2", "-c", "write -P 0x5a 1M 64k",
                        "-c", "write -z 2M 128k", "-c", "write -P 0x33 3200k 4k", disk.toString());
                Arrays.fill(expected, 1 << 20, (1 << 20) + (64 << 10), (byte) 0x5a);
                Arrays.fill(expected, 2 << 20, (2 << 20) + (128 << 10), (byte) 0);
                Arrays.fill(expected, 3200 << 10, (3200 << 10) + 4096, (byte) 0x33);
            }
        }
        String append = "action=blk-read start=0 sectors=8192";
        // Nothing is written, so jvmm reads the very file QEMU read (one after the other).
        GuestPair p = runBoth(append, BlkGuest.virtioDrive(disk, format), BlkGuest.virtioDrive(disk, format));
        String line = "blk-read: start 0 sectors 8192 checksum " + BlkGuest.checksum(expected, 0, expected.length);
        assertTrue(p.qemu().stdout().contains(line + "\n"), "QEMU: expected " + line + " in " + p.qemu().stdout());
        p.assertSame(BlkGuest::jvmmHint);
    }

    // ------------------------------------------------------------------ abuse and interrupts

    /**
     * Malformed requests and chains. Every line must match QEMU's, except that for buffers outside guest RAM
     * (where QEMU 7.2 bounces through unassigned memory and completes with OK) jvmm may instead fail the
     * request with IOERR or set NEEDS_RESET; nothing else differs, and the disk's last sector stays intact.
     */
    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("abuseCases")
    void abuse(String append) {
        Path qi = dir.resolve("q.raw");
        Path ji = dir.resolve("j.raw");
        BlkGuest.create(qi, "raw", DISK);
        BlkGuest.create(ji, "raw", DISK);
        GuestPair p = runBoth(append, BlkGuest.virtioDrive(qi, "raw"), BlkGuest.virtioDrive(ji, "raw"));
        assertTrue(p.qemu().stdout().endsWith("blk-abuse: last sector unchanged\nblk-abuse: device works after reset\n"),
                p.qemu().stdout());
        // Nothing the guest did may have reached the disk: the only write that completes comes from
        // unassigned memory, which reads as zeros under QEMU (or is refused).
        byte[] zero = new byte[(int) DISK];
        BlkGuest.checkImage(qi, "raw", zero, "QEMU");
        p.jvmmHalf();
        List<String> q = List.of(p.qemu().stdout().split("\n"));
        List<String> j = List.of(p.jvmm().stdout().split("\n"));
        assertEquals(q.size(), j.size(), "serial output differs; " + BlkGuest.jvmmHint(p.jvmm()) + "\n" + p.jvmm().stdout());
        List<String> diffs = new ArrayList<>();
        for (int i = 0; i < q.size(); i++) {
            String ql = q.get(i);
            String jl = j.get(i);
            boolean outside = ql.contains("outside-ram:") || ql.contains("unaddressable:");
            String prefix = ql.substring(0, ql.indexOf(':', "blk-abuse:".length()) + 1);
            boolean ok = ql.equals(jl) || (outside && jl.startsWith(prefix)
                    && (jl.endsWith(" needs-reset") || jl.contains(" status 1 (IOERR)")));
            if (!ok) {
                diffs.add("QEMU: " + ql + "\njvmm: " + jl);
            }
        }
        assertTrue(diffs.isEmpty(), String.join("\n", diffs) + "\n" + BlkGuest.jvmmHint(p.jvmm()));
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status; " + BlkGuest.jvmmHint(p.jvmm()));
        BlkGuest.checkImage(ji, "raw", zero, "jvmm");
    }

    static Stream<String> abuseCases() {
        return Stream.of("action=blk-abuse", "action=blk-abuse indirect=1 eventidx=1");
    }

    /** Completions signalled by MSI-X to the local APIC. */
    @Test
    void msixCompletion() {
        Path qi = dir.resolve("q.raw");
        BlkGuest.create(qi, "raw", DISK);
        GuestPair p = runBoth("action=blk-msix", BlkGuest.deviceDrive(qi, "raw", SERIAL),
                BlkGuest.deviceDrive(qi, "raw", SERIAL));
        assertTrue(p.qemu().stdout().endsWith("blk-msix: 3 completions by interrupt on vector 0x41\n"),
                p.qemu().stdout());
        p.assertSame(BlkGuest::jvmmHint);
    }

    /** Without a disk the driver says so and fails the run, under both. */
    @Test
    void noDevice() {
        GuestPair p = runBothStatus("action=blk", new String[0], new String[0], TinyGuest.EXIT_FAILED);
        assertTrue(p.qemu().stdout().endsWith("blk: no virtio-blk device\njvmm-tiny: FAILED\n"), p.qemu().stdout());
        p.assertSame(BlkGuest::jvmmHint);
    }

    /** QEMU's modern-only device (what jvmm models): device id 0x1042, no legacy BAR; the driver must not care. */
    @Test
    void modernOnlyDeviceOnQemu() {
        Path qemu = Env.assumeQemu();
        Path qi = dir.resolve("q.raw");
        BlkGuest.create(qi, "raw", DISK);
        String append = "action=blk indirect=1 eventidx=1";
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, TinyGuest.argv(Env.guest("tiny.pvh"), append, "-drive",
                "file=" + qi + ",format=raw,if=none,id=d0", "-device",
                "virtio-blk-pci,drive=d0,serial=" + SERIAL + ",disable-legacy=on"));
        assertEquals(header(append) + BlkGuest.blkOutput(DISK / 512, SERIAL, 0, 64, 0, true), q.stdout());
        assertEquals(TinyGuest.EXIT_PASSED, q.status());
    }

    /** The benchmark's request pipeline (several requests in flight), timings left out of the comparison. */
    @Test
    void benchPipeline() {
        Path qi = dir.resolve("q.raw");
        Path ji = dir.resolve("j.raw");
        BlkGuest.create(qi, "raw", DISK);
        BlkGuest.create(ji, "raw", DISK);
        GuestPair p = runBoth("action=blk-bench mib=8 rand=200 qd=4", BlkGuest.virtioDrive(qi, "raw"),
                BlkGuest.virtioDrive(ji, "raw"));
        String q = untimed(p.qemu().stdout());
        assertTrue(q.endsWith("blk-bench: randread done 200 x 4096 bytes in T us\nblk-bench: ok\n"), q);
        p.jvmmHalf();
        assertEquals(q, untimed(p.jvmm().stdout()), "serial output differs; " + BlkGuest.jvmmHint(p.jvmm()));
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status; " + BlkGuest.jvmmHint(p.jvmm()));
    }

    private static String untimed(String out) {
        return out.replaceAll("in \\d+ us", "in T us").replaceAll("tsc_khz \\d+", "tsc_khz K");
    }

    /** readonly=on: VIRTIO_BLK_F_RO offered, writes and write-zeroes refused with IOERR, the file untouched. */
    @Test
    void readOnlyDisk() {
        Path img = dir.resolve("ro.raw");
        BlkGuest.create(img, "raw", DISK);
        String[] drive = {"-drive", "file=" + img + ",format=raw,if=virtio,readonly=on"};
        GuestPair p = runBoth("action=blk-ro", drive, drive);
        assertTrue(p.qemu().stdout().endsWith("blk-ro: read-only 1\nblk-ro: write status 1 (IOERR)\n"
                + "blk-ro: write-zeroes status 1 (IOERR)\nblk-ro: discard status 0 (OK)\nblk-ro: data unchanged\n"),
                p.qemu().stdout());
        BlkGuest.checkImage(img, "raw", new byte[(int) DISK], "QEMU");
        p.assertSame(BlkGuest::jvmmHint);
        BlkGuest.checkImage(img, "raw", new byte[(int) DISK], "jvmm");
    }

    /**
     * Writes into a qcow2 overlay whose backing file holds data, at offsets that cut clusters (copy-on-write
     * of partial clusters), then write-zeroes and discard (which must not bring the backing data back).
     */
    @Test
    void writeIntoOverlayOverBackingFile() {
        Env.assumeQemu();
        String img = BlkGuest.qemuImg().toString();
        Path baseRaw = dir.resolve("base.raw");
        BlkGuest.write(baseRaw, BlkGuest.pattern(0, (int) DISK, 99));
        Path base = dir.resolve("base.qcow2");
        BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", baseRaw.toString(), base.toString());
        Path qi = dir.resolve("q.qcow2");
        Path ji = dir.resolve("j.qcow2");
        for (Path o : List.of(qi, ji)) {
            BlkGuest.run(img, "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", o.toString());
        }
        int start = 1001;
        int sectors = 300;
        int seed = 5;
        String append = "action=blk start=" + start + " sectors=" + sectors + " seed=" + seed;
        GuestPair p = runBoth(append, BlkGuest.deviceDrive(qi, "qcow2", SERIAL), BlkGuest.deviceDrive(ji, "qcow2", SERIAL));
        assertEquals(header(append) + BlkGuest.blkOutput(DISK / 512, SERIAL, start, sectors, seed, false),
                p.qemu().stdout(), "QEMU's output is not what the guest should print");
        byte[] expected = BlkGuest.pattern(0, (int) DISK, 99);
        byte[] written = BlkGuest.afterBlkAction(DISK, start, sectors, seed);
        System.arraycopy(written, start * 512, expected, start * 512, sectors * 512);
        BlkGuest.checkImage(qi, "qcow2", expected, "QEMU");
        p.assertSame(BlkGuest::jvmmHint);
        BlkGuest.checkImage(ji, "qcow2", expected, "jvmm");
    }
}
