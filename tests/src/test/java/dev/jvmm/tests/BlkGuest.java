package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tiny guest's virtio-blk actions seen from the host: the data pattern and checksum the guest uses
 * (tests/guest/src/virtio_blk.c), and disk images made with qemu-img/qemu-io at test time.
 */
final class BlkGuest {
    static final int SECTOR = 512;
    private static final int PATTERN_MUL = 0x9e3779b1;
    private static final int PATTERN_ADD = 0x6a766d6d;
    private static final int FNV_OFFSET = 0x811c9dc5;
    private static final int FNV_PRIME = 0x01000193;

    private BlkGuest() {
    }

    /** The guest's pattern: the little-endian word at disk byte offset o is o * 0x9e3779b1 + 0x6a766d6d + seed. */
    static byte[] pattern(long diskOffset, int len, int seed) {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < len; i += 4) {
            b.putInt((int) (diskOffset + i) * PATTERN_MUL + PATTERN_ADD + seed);
        }
        return b.array();
    }

    /** FNV-1a over little-endian 32-bit words, as the guest prints it ("0x%08x"). */
    static String checksum(byte[] data, int off, int len) {
        ByteBuffer b = ByteBuffer.wrap(data, off, len).order(ByteOrder.LITTLE_ENDIAN);
        int h = FNV_OFFSET;
        while (b.remaining() >= 4) {
            h = (h ^ b.getInt()) * FNV_PRIME;
        }
        return String.format("0x%08x", h);
    }

    /**
     * The disk bytes after "action=blk start=S sectors=N seed=X" on a zeroed disk: the pattern over the range,
     * with its last 8 sectors zeroed (write-zeroes, then discard) when the device offers WRITE_ZEROES.
     */
    static byte[] afterBlkAction(long diskBytes, int start, int sectors, int seed) {
        byte[] disk = new byte[Math.toIntExact(diskBytes)];
        byte[] p = pattern((long) start * SECTOR, (sectors - 8) * SECTOR, seed);
        System.arraycopy(p, 0, disk, start * SECTOR, p.length);
        return disk;
    }

    /** The serial lines action=blk prints after its header, for QEMU 7.2's virtio-blk-pci defaults. */
    static String blkOutput(long capacitySectors, String serial, int start, int sectors, int seed, boolean ring) {
        byte[] disk = afterBlkAction((long) (start + sectors) * SECTOR, start, sectors, seed);
        return "blk: pci 00:02.0\n"
                + (ring ? "blk: ring indirect=1 event_idx=1\n" : "")
                + "blk: features SEG_MAX GEOMETRY BLK_SIZE FLUSH TOPOLOGY CONFIG_WCE DISCARD WRITE_ZEROES"
                + " INDIRECT_DESC EVENT_IDX VERSION_1\n"
                + "blk: capacity " + capacitySectors + " blk_size 512 seg_max 254 size_max 0 num_queues 1"
                + " queue_size 256\n"
                + "blk: discard max_sectors 4194303 max_seg 1 alignment 1\n"
                + "blk: write-zeroes max_sectors 4194303 max_seg 1\n"
                + "blk: serial '" + serial + "'\n"
                + "blk: wrote " + sectors + " sectors at " + start + "\n"
                + "blk: flush ok\nblk: read back ok\nblk: write-zeroes ok\nblk: discard ok\n"
                + "blk: checksum " + checksum(disk, start * SECTOR, sectors * SECTOR) + "\nblk: ok\n";
    }

    // ---------------------------------------------------------------- images

    static Path qemuImg() {
        return tool("qemu-img");
    }

    static Path tool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        Assumptions.assumeTrue(false, name + " is not installed: disk image tests skipped");
        return null;
    }

    /** Runs a host tool; fails the test with its output if it does not exit 0. Returns stdout+stderr. */
    static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + String.join(" ", cmd));
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static void create(Path img, String format, long bytes, String... opts) {
        List<String> cmd = new ArrayList<>(List.of(qemuImg().toString(), "create", "-q", "-f", format));
        for (String o : opts) {
            cmd.add("-o");
            cmd.add(o);
        }
        cmd.add(img.toString());
        cmd.add(Long.toString(bytes));
        run(cmd.toArray(new String[0]));
    }

    /** The image's guest-visible bytes, via qemu-img convert -O raw. */
    static byte[] asRaw(Path img, String format) {
        Path out = img.resolveSibling(img.getFileName() + ".converted.raw");
        run(qemuImg().toString(), "convert", "-f", format, "-O", "raw", img.toString(), out.toString());
        try {
            return Files.readAllBytes(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(out);
            } catch (IOException ignored) {
                // a temp directory cleans up anyway
            }
        }
    }

    static void write(Path p, byte[] data) {
        try {
            Files.write(p, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path copy(Path from, Path to) {
        try {
            return Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** "-drive file=IMG,format=F,if=none,id=d0 -device virtio-blk-pci,drive=d0,serial=S" */
    static String[] deviceDrive(Path img, String format, String serial) {
        return new String[] {"-drive", "file=" + img + ",format=" + format + ",if=none,id=d0",
            "-device", "virtio-blk-pci,drive=d0" + (serial == null ? "" : ",serial=" + serial)};
    }

    /** "-drive file=IMG,format=F,if=virtio" */
    static String[] virtioDrive(Path img, String format) {
        return new String[] {"-drive", "file=" + img + ",format=" + format + ",if=virtio"};
    }

    /** A hint for failures on the jvmm side before virtio-blk is wired in. */
    static String jvmmHint(VmProcess.Result j) {
        String s = j.stdout().contains("blk: no virtio-blk device")
                ? "jvmm exposed no virtio-blk PCI device (virtio-blk not wired into PcMachine yet?). "
                : j.stdout().contains("blk: pci") ? "" : "jvmm did not get as far as the PCI scan. ";
        return s + "jvmm status " + j.status() + ", stderr: " + j.stderr();
    }

    /**
     * A disk image after a guest run: qcow2 passes `qemu-img check`, and its contents as raw bytes are exactly
     * expected (who names the VMM that wrote it).
     */
    static void checkImage(Path img, String format, byte[] expected, String who) {
        if (format.equals("qcow2")) {
            run(qemuImg().toString(), "check", "-f", "qcow2", img.toString());
        }
        byte[] got = asRaw(img, format);
        assertEquals(expected.length, got.length, "image size after the " + who + " run");
        if (!Arrays.equals(expected, got)) {
            int i = Arrays.mismatch(expected, got);
            throw new AssertionError("image written by " + who + " differs from the expected bytes first at byte "
                    + i + " (sector " + i / 512 + ")");
        }
    }
}
