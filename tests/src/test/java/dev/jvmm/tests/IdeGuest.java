package dev.jvmm.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny guest's IDE actions seen from the host (tests/guest/src/ide.c): what `action=ide` writes, the
 * CD images the ATAPI actions read, QEMU's recorded transcripts in tests/reference/ide, and hints for
 * failures on the jvmm side. The pattern and checksum are the virtio-blk guest's ({@link BlkGuest}).
 */
final class IdeGuest {
    static final int SECTOR = 512;
    static final int CD_BLOCK = 2048;
    /** Sectors `action=ide` writes from start=. */
    static final int IDE_SECTORS = 256;
    /** Blocks `action=cd` reads by DMA (its default, for media of at least that size). */
    static final int CD_READ_BLOCKS = 256;
    static final int CD_SEED = 7;

    private IdeGuest() {
    }

    /** The disk after "action=ide start=S seed=X" on a zeroed disk of diskBytes. */
    static byte[] afterIdeAction(long diskBytes, int start, int seed) {
        byte[] disk = new byte[Math.toIntExact(diskBytes)];
        byte[] p = BlkGuest.pattern((long) start * SECTOR, IDE_SECTORS * SECTOR, seed);
        System.arraycopy(p, 0, disk, start * SECTOR, p.length);
        return disk;
    }

    /** The last two lines `action=ide` prints. */
    static String ideTail(int start, int seed) {
        byte[] p = BlkGuest.pattern((long) start * SECTOR, IDE_SECTORS * SECTOR, seed);
        return "ide: checksum " + BlkGuest.checksum(p, 0, p.length) + "\nide: ok\n";
    }

    /** The disk after "action=ide-abuse" on a zeroed disk: its first and last sectors hold pattern seed 1. */
    static byte[] afterAbuse(long diskBytes) {
        byte[] disk = new byte[Math.toIntExact(diskBytes)];
        System.arraycopy(BlkGuest.pattern(0, SECTOR, 1), 0, disk, 0, SECTOR);
        int last = disk.length - SECTOR;
        System.arraycopy(BlkGuest.pattern(last, SECTOR, 1), 0, disk, last, SECTOR);
        return disk;
    }

    /**
     * A CD image: any file of 2048-byte blocks will do for the ATAPI path (no ISO 9660 tools are needed),
     * here the pattern with the given seed.
     */
    static Path cdImage(Path p, int bytes, int seed) {
        BlkGuest.write(p, BlkGuest.pattern(0, bytes, seed));
        return p;
    }

    /** The `cd: blocks N checksum X` line for an image made by {@link #cdImage}. */
    static String cdChecksumLine(int bytes, int seed) {
        int blocks = Math.min(CD_READ_BLOCKS, bytes / CD_BLOCK);
        byte[] p = BlkGuest.pattern(0, blocks * CD_BLOCK, seed);
        return "cd: blocks " + blocks + " checksum " + BlkGuest.checksum(p, 0, p.length) + "\n";
    }

    /** QEMU 7.2's serial output recorded in tests/reference/ide (the file ends with "status N"). */
    static String reference(String name) {
        Path p = Env.root().resolve("tests/reference/ide").resolve(name);
        try {
            String s = Files.readString(p);
            return s.substring(0, s.lastIndexOf("status "));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A hint for failures on the jvmm side while IDE is not wired in yet. */
    static String jvmmHint(VmProcess.Result j) {
        String out = j.stdout();
        String s;
        if (out.contains("no PIIX3 IDE function")) {
            s = "jvmm exposes no PIIX3 IDE function (8086:7010) on bus 0: IDE is not wired into PcMachine yet. ";
        } else if (out.contains("BAR4 is not an assigned I/O BAR")) {
            s = "jvmm's PIIX3 IDE function has no bus-master BAR4 assigned. ";
        } else if (out.contains("hda is not an ATA disk") || out.contains("no ATAPI device")) {
            s = "jvmm's IDE controller shows no drive where QEMU has one (drive options not attached to IDE?). ";
        } else if (out.isEmpty() && j.status() != 0) {
            s = "jvmm did not start the guest: its command line was refused (IDE options not supported yet?). ";
        } else if (!out.contains(" pci 00:")) {
            s = "jvmm did not get as far as the PCI scan. ";
        } else {
            s = "";
        }
        return s + "jvmm status " + j.status() + ", stderr: " + j.stderr();
    }
}
