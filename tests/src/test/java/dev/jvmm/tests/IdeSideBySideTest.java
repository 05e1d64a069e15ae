package dev.jvmm.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny guest's ATA/ATAPI driver (tests/guest/src/ide.c) under QEMU and under jvmm with the same command
 * line and images: QEMU's serial output must be what QEMU 7.2 printed when tests/reference/ide was recorded
 * (so the test is proven on QEMU), jvmm's must be identical with the same exit status, and the images both
 * wrote must pass `qemu-img check` and hold exactly the expected bytes. -Djvmm.qemuOnly=true runs the QEMU
 * halves alone.
 */
class IdeSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long DISK = 16L << 20;
    private static final int CD_BYTES = 3 << 20;

    @TempDir
    Path dir;

    private static GuestPair runBoth(String append, String[] qemuArgs, String[] jvmmArgs) {
        return runBothStatus(append, qemuArgs, jvmmArgs, TinyGuest.EXIT_PASSED);
    }

    private static GuestPair runBothStatus(String append, String[] qemuArgs, String[] jvmmArgs, int qemuStatus) {
        return GuestPair.run(TIMEOUT, append, qemuArgs, jvmmArgs, qemuStatus);
    }

    // ------------------------------------------------------------------ action=ide

    /**
     * The controller alone: without drives the pc machine still has the PIIX3 IDE function at 00:01.1 with
     * an I/O BAR4, and all four positions read as empty (status 0); the guest then fails for want of hda.
     */
    @Test
    void controllerWithoutDrives() {
        GuestPair p = runBothStatus("action=ide", new String[0], new String[0], TinyGuest.EXIT_FAILED);
        assertEquals(TinyGuest.header(TinyGuest.Format.PVH, "action=ide", 128)
                + "ide: pci 00:01.1 class 0x10180 bar4 io\nide: hda none\nide: hdb none\nide: hdc none\nide: hdd none\n"
                + "ide: hda is not an ATA disk\njvmm-tiny: FAILED\n", p.qemu().stdout());
        p.assertSame(IdeGuest::jvmmHint);
    }

    /** How the disk is given: the reference file (QEMU 7.2's output), the format, the options. */
    static Stream<Arguments> writeCases() {
        return Stream.of(
                Arguments.of("ide.txt", "raw", "if=ide", "action=ide"),
                Arguments.of("ide-hda-cdrom.txt", "raw", "-hda -cdrom", "action=ide start=8 seed=3"),
                Arguments.of("ide-device.txt", "qcow2", "-device ide-hd", "action=ide start=30000 seed=9"));
    }

    private String[] driveArgs(String how, Path img, String format) {
        return switch (how) {
            case "if=ide" -> new String[] {"-drive", "file=" + img + ",format=" + format + ",if=ide,index=0"};
            case "-hda -cdrom" -> new String[] {"-hda", img.toString(), "-cdrom",
                IdeGuest.cdImage(dir.resolve("hda.iso"), CD_BYTES, IdeGuest.CD_SEED).toString()};
            case "-device ide-hd" -> new String[] {"-drive", "file=" + img + ",format=" + format + ",if=none,id=d0",
                "-device", "ide-hd,drive=d0,bus=ide.0,unit=0"};
            default -> throw new IllegalArgumentException(how);
        };
    }

    /** IDENTIFY of all four positions; PIO, PIO LBA48, MULTIPLE and DMA writes; flush; every read path back. */
    @ParameterizedTest(name = "{1} {2} \"{3}\"")
    @MethodSource("writeCases")
    void writeFlushReadBack(String reference, String format, String how, String append) {
        Path qi = dir.resolve("q." + format);
        Path ji = dir.resolve("j." + format);
        BlkGuest.create(qi, format, DISK);
        BlkGuest.create(ji, format, DISK);
        GuestPair p = runBoth(append, driveArgs(how, qi, format), driveArgs(how, ji, format));
        int start = VirtioBlkSideBySideTest.intOpt(append, "start", 0);
        int seed = VirtioBlkSideBySideTest.intOpt(append, "seed", 0);
        if (reference != null) {
            assertEquals(IdeGuest.reference(reference), p.qemu().stdout(), "QEMU's output differs from " + reference);
        }
        assertTrue(p.qemu().stdout().endsWith(IdeGuest.ideTail(start, seed)), p.qemu().stdout());
        byte[] expected = IdeGuest.afterIdeAction(DISK, start, seed);
        BlkGuest.checkImage(qi, format, expected, "QEMU");
        p.assertSame(IdeGuest::jvmmHint);
        BlkGuest.checkImage(ji, format, expected, "jvmm");
    }

    /**
     * Completions by interrupt with nIEN clear: IRQ 14 through the IOAPIC for FLUSH CACHE, READ DMA (with
     * the bus master's INTR bit), each PIO data block; none with nIEN set; IRQ 15 for the CD-ROM.
     */
    @Test
    void interrupts() {
        Path img = dir.resolve("d.raw");
        BlkGuest.create(img, "raw", DISK);
        Path iso = IdeGuest.cdImage(dir.resolve("cd.iso"), CD_BYTES, IdeGuest.CD_SEED);
        String[] args = {"-drive", "file=" + img + ",format=raw,if=ide,index=0", "-cdrom", iso.toString()};
        GuestPair p = runBoth("action=ide-irq", args, args);
        assertEquals(IdeGuest.reference("ide-irq.txt"), p.qemu().stdout(), "QEMU's output differs from ide-irq.txt");
        p.assertSame(IdeGuest::jvmmHint);
    }

    // ------------------------------------------------------------------ action=ide-read

    static Stream<Arguments> readCases() {
        return Stream.of(Arguments.of("raw"), Arguments.of("qcow2-compressed"), Arguments.of("qcow2-backing"));
    }

    /** 2 MiB of images qemu-img made, read by READ DMA EXT: the same checksum under both. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("readCases")
    void readsImagesQemuImgMade(String kind) {
        Env.assumeQemu();
        String img = BlkGuest.qemuImg().toString();
        Path base = dir.resolve("base.raw");
        byte[] expected = BlkGuest.pattern(0, 2 << 20, 99);
        BlkGuest.write(base, expected);
        Path disk = dir.resolve("d.qcow2");
        String format = "qcow2";
        switch (kind) {
            case "raw" -> {
                disk = base;
                format = "raw";
            }
            case "qcow2" -> BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", base.toString(), disk.toString());
            case "qcow2-compressed" -> BlkGuest.run(img, "convert", "-c", "-f", "raw", "-O", "qcow2", base.toString(),
                    disk.toString());
            default -> {
                Path backing = dir.resolve("base.qcow2");
                BlkGuest.run(img, "convert", "-f", "raw", "-O", "qcow2", base.toString(), backing.toString());
                BlkGuest.run(img, "create", "-q", "-f", "qcow2", "-b", backing.toString(), "-F", "qcow2",
                        disk.toString());
                BlkGuest.run(BlkGuest.tool("qemu-io").toString(), "-f", "qcow2", "-c", "write -P 0x5a 1M 64k",
                        "-c", "write -z 1536k 128k", disk.toString());
                Arrays.fill(expected, 1 << 20, (1 << 20) + (64 << 10), (byte) 0x5a);
                Arrays.fill(expected, 1536 << 10, (1536 << 10) + (128 << 10), (byte) 0);
            }
        }
        String[] drive = {"-drive", "file=" + disk + ",format=" + format + ",if=ide,index=0"};
        GuestPair p = runBoth("action=ide-read start=0 sectors=4096", drive, drive);
        String line = "ide-read: start 0 sectors 4096 checksum " + BlkGuest.checksum(expected, 0, expected.length);
        assertTrue(p.qemu().stdout().endsWith(line + "\n"), "QEMU: expected " + line + " in " + p.qemu().stdout());
        p.assertSame(IdeGuest::jvmmHint);
    }

    /**
     * LBA48 beyond 28 bits: a sparse 200 GiB qcow2 with 64 KiB of 0x5a at 128 GiB (LBA 2^28), read by READ
     * DMA EXT, so the high LBA bytes written through the HOB registers must reach the block layer.
     */
    @Test
    void highLba48() {
        Env.assumeQemu();
        Path disk = dir.resolve("big.qcow2");
        BlkGuest.create(disk, "qcow2", 200L << 30);
        BlkGuest.run(BlkGuest.tool("qemu-io").toString(), "-f", "qcow2", "-c", "write -P 0x5a 128G 64k",
                disk.toString());
        byte[] expected = new byte[128 << 10];
        Arrays.fill(expected, 0, 64 << 10, (byte) 0x5a);
        String[] drive = {"-drive", "file=" + disk + ",format=qcow2,if=ide,index=0"};
        GuestPair p = runBoth("action=ide-read start=268435456 sectors=256", drive, drive);
        String line = "ide-read: start 268435456 sectors 256 checksum " + BlkGuest.checksum(expected, 0, expected.length);
        assertTrue(p.qemu().stdout().endsWith(line + "\n"), "QEMU: expected " + line + " in " + p.qemu().stdout());
        p.assertSame(IdeGuest::jvmmHint);
    }

    /**
     * rerror=report: a read that fails in the block layer (blkdebug EIO on one host sector of a qcow2 image)
     * ends the ATA command with status 0x41, error 0x04 (ABRT), by DMA and by PIO alike.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"dma", "pio"})
    void readErrorReported(String mode) {
        Env.assumeQemu();
        String img = BlkGuest.qemuImg().toString();
        String[][] args = new String[2][];
        for (int i = 0; i < 2; i++) {
            Path disk = dir.resolve(i + ".qcow2");
            BlkGuest.create(disk, "qcow2", DISK);
            // Guest offset 1 MiB lands in the second data run, host sectors 2688..2815 (qemu-img map).
            BlkGuest.run(BlkGuest.tool("qemu-io").toString(), "-f", "qcow2", "-c", "write -P 0x11 0 1M", "-c",
                    "write -P 0x22 1M 64k", disk.toString());
            args[i] = new String[] {"-blockdev", "driver=qcow2,node-name=dbg,file.driver=blkdebug,"
                    + "file.inject-error.0.event=read_aio,file.inject-error.0.errno=5,file.inject-error.0.sector=2700,"
                    + "file.image.driver=file,file.image.filename=" + disk,
                "-device", "ide-hd,drive=dbg,bus=ide.0,unit=0,rerror=report"};
        }
        String append = "action=ide-read start=2048 sectors=64" + (mode.equals("pio") ? " pio=1" : "");
        GuestPair p = runBothStatus(append, args[0], args[1], TinyGuest.EXIT_FAILED);
        assertEquals(IdeGuest.reference("ioerror-report-" + mode + ".txt"), p.qemu().stdout());
        p.assertSame(IdeGuest::jvmmHint);
    }

    // ------------------------------------------------------------------ action=ide-abuse

    /**
     * Bad commands, LBAs past the end, broken PRD tables: every line as QEMU prints it, except DMA to or from
     * memory that is not RAM (QEMU 7.2 completes those without error, reading zeros and dropping writes),
     * where jvmm may instead end the command with an ATA error. The disk must be unchanged but for the two
     * sectors the guest seeds.
     */
    @Test
    void abuse() {
        Path qi = dir.resolve("q.raw");
        Path ji = dir.resolve("j.raw");
        BlkGuest.create(qi, "raw", DISK);
        BlkGuest.create(ji, "raw", DISK);
        GuestPair p = runBoth("action=ide-abuse", new String[] {"-drive", "file=" + qi + ",format=raw,if=ide,index=0"},
                new String[] {"-drive", "file=" + ji + ",format=raw,if=ide,index=0"});
        assertEquals(IdeGuest.reference("ide-abuse.txt"), p.qemu().stdout(), "QEMU's output differs from ide-abuse.txt");
        BlkGuest.checkImage(qi, "raw", IdeGuest.afterAbuse(DISK), "QEMU");
        p.jvmmHalf();
        List<String> q = List.of(p.qemu().stdout().split("\n"));
        List<String> j = List.of(p.jvmm().stdout().split("\n"));
        assertEquals(q.size(), j.size(), "serial output differs; " + IdeGuest.jvmmHint(p.jvmm()) + "\n" + p.jvmm().stdout());
        List<String> diffs = new ArrayList<>();
        for (int i = 0; i < q.size(); i++) {
            String ql = q.get(i);
            String jl = j.get(i);
            boolean outside = ql.contains("-outside-ram:");
            // the case name runs up to "-outside-ram: " ("ide-abuse: read-dma-into-outside-ram: ")
            String name = outside ? ql.substring(0, ql.indexOf("-outside-ram: ") + "-outside-ram: ".length()) : null;
            boolean ok = ql.equals(jl) || (outside && jl.startsWith(name + "failed ")
                    && jl.contains(" error 0x04 "));
            if (!ok) {
                diffs.add("QEMU: " + ql + "\njvmm: " + jl);
            }
        }
        assertTrue(diffs.isEmpty(), String.join("\n", diffs) + "\n" + IdeGuest.jvmmHint(p.jvmm()));
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status; " + IdeGuest.jvmmHint(p.jvmm()));
        BlkGuest.checkImage(ji, "raw", IdeGuest.afterAbuse(DISK), "jvmm");
    }

    // ------------------------------------------------------------------ action=cd

    static Stream<Arguments> cdCases() {
        return Stream.of(Arguments.of("cd.txt", "-cdrom"), Arguments.of("cd-drive.txt", "-drive media=cdrom"),
                Arguments.of("cd-empty.txt", "empty"), Arguments.of("cd-dvd.txt", "dvd"));
    }

    /** ATAPI: IDENTIFY PACKET, INQUIRY, sense, capacity, TOC, mode pages, configuration, PIO and DMA reads. */
    @ParameterizedTest(name = "{1}")
    @MethodSource("cdCases")
    void cdrom(String reference, String how) {
        Path iso = IdeGuest.cdImage(dir.resolve("cd.iso"), CD_BYTES, IdeGuest.CD_SEED);
        String[] args = switch (how) {
            case "-cdrom" -> new String[] {"-cdrom", iso.toString()};
            case "-drive media=cdrom" -> new String[] {"-drive", "file=" + iso + ",format=raw,media=cdrom,if=ide,index=2"};
            case "dvd" -> new String[] {"-cdrom", sparse(dir.resolve("dvd.iso"), 1L << 30).toString()};
            default -> new String[] {"-drive", "if=ide,index=2,media=cdrom"};
        };
        GuestPair p = runBoth("action=cd", args, args);
        assertEquals(IdeGuest.reference(reference), p.qemu().stdout(), "QEMU's output differs from " + reference);
        if (how.startsWith("-")) {
            assertTrue(p.qemu().stdout().contains(IdeGuest.cdChecksumLine(CD_BYTES, IdeGuest.CD_SEED)),
                    p.qemu().stdout());
        }
        p.assertSame(IdeGuest::jvmmHint);
    }

    /** A sparse file: 1 GiB of zeros is past QEMU's CD capacity limit, so the drive reports a DVD profile. */
    private static Path sparse(Path p, long size) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return p;
    }
}
