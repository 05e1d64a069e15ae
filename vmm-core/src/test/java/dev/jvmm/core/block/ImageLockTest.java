package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image locking against QEMU 7.2's qemu-io: the two must exclude each other exactly as two QEMUs do. */
class ImageLockTest {
    @TempDir
    Path dir;

    private Path raw() throws IOException {
        Path p = dir.resolve("disk.raw");
        Files.write(p, new byte[1 << 16]);
        return p;
    }

    private static ImageOptions writable() {
        return ImageOptions.DEFAULT;
    }

    /** The lock byte ranges /proc/locks shows for the file's inode, as "start-end" strings. */
    private static List<String> lockedBytes(Path p) throws IOException {
        Object ino = Files.getAttribute(p, "unix:ino");
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            String[] f = line.trim().split("\\s+");
            // "N: OFDLCK ADVISORY READ -1 fe:00:INODE START END"
            if (f.length >= 8 && f[1].equals("OFDLCK") && f[5].endsWith(":" + ino)) {
                out.add(f[6] + "-" + f[7]);
            }
        }
        out.sort(null);
        return out;
    }

    /** A qemu-io kept open on the image (stdin is a pipe we hold), like a running QEMU. */
    private static Process qemuIoHolder(Path img, String format, boolean readOnly) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
        if (readOnly) {
            cmd.add("-r");
        }
        cmd.add(img.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> last = List.of();
        while (true) {
            // Wait until qemu-io's locks are there and settled (permissions may change while it opens).
            List<String> now = lockedBytes(img);
            if (!now.isEmpty() && now.equals(last)) {
                return p;
            }
            last = now;
            if (System.nanoTime() > deadline || !p.isAlive()) {
                p.destroyForcibly();
                throw new AssertionError("qemu-io did not lock " + img);
            }
            Thread.sleep(50);
        }
    }

    private static void stop(Process p) throws InterruptedException, IOException {
        p.getOutputStream().close();
        p.destroy();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    @Test
    void setsTheSameLockBytesAsQemu() throws IOException {
        Path img = raw();
        try (BlockDriver d = RawImage.open(img, writable())) {
            // The kernel merges adjacent ranges: bytes 100 and 101 show as one, exactly as for QEMU.
            assertEquals(List.of("100-101", "201-201"), lockedBytes(img));
        }
        assertEquals(List.of(), lockedBytes(img));
        try (BlockDriver d = RawImage.open(img, ImageOptions.readOnly(true))) {
            assertEquals(List.of("100-100", "201-201"), lockedBytes(img));
        }
        QemuImgTool.assumeAvailable("qemu-img");
        Path q = dir.resolve("disk.qcow2");
        QemuImgTool.ok("qemu-img", "create", "-f", "qcow2", q.toString(), "1M");
        try (BlockDriver d = Qcow2Image.open(q, writable())) {
            assertEquals(List.of("100-101", "103-103", "201-201", "203-203"), lockedBytes(q));
        }
    }

    @Test
    void qemuWriterIsRefusedWhileJvmmWrites() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path img = raw();
        try (BlockDriver d = RawImage.open(img, writable())) {
            QemuImgTool.Result r = QemuImgTool.run(List.of("qemu-io", "-f", "raw", "-c", "write 0 512", img.toString()));
            assertEquals(1, r.exit(), r.output());
            assertTrue(r.output().contains("Failed to get \"write\" lock"), r.output());
            // qemu-io's raw reader shares write (only devices and qcow2 refuse to), so it may read along.
            r = QemuImgTool.run(List.of("qemu-io", "-f", "raw", "-r", "-c", "read 0 512", img.toString()));
            assertEquals(0, r.exit(), r.output());
        }
        QemuImgTool.Result r = QemuImgTool.run(List.of("qemu-io", "-f", "raw", "-c", "write 0 512", img.toString()));
        assertEquals(0, r.exit(), r.output());
    }

    @Test
    void jvmmWriterIsRefusedWhileQemuWrites() throws Exception {
        QemuImgTool.assumeAvailable("qemu-io");
        Path img = raw();
        Process q = qemuIoHolder(img, "raw", false);
        try {
            // qemu-io on raw holds write but shares it; we do not share write, hence QEMU's "shared" wording.
            ImageLockException e = assertThrows(ImageLockException.class, () -> RawImage.open(img, writable()));
            assertEquals("Failed to get shared \"write\" lock", e.getMessage());
            assertEquals("Is another process using the image [" + img + "]?", e.hint());
            e = assertThrows(ImageLockException.class, () -> BlockDriver.open(img, true));
            assertEquals("Failed to get shared \"write\" lock", e.getMessage());
            // locking=off skips the locks altogether (QEMU's file.locking=off).
            try (BlockDriver d = RawImage.open(img, new ImageOptions(false, false, false, ImageOptions.LockMode.OFF, false))) {
                assertFalse(d.readOnly());
            }
        } finally {
            stop(q);
        }
        try (BlockDriver d = RawImage.open(img, writable())) {
            assertFalse(d.readOnly());
        }
    }

    @Test
    void qemuSystemWithTheDiskExcludesJvmmWriterAndReader() throws Exception {
        QemuImgTool.assumeAvailable("qemu-system-x86_64");
        Path img = raw();
        Process q = new ProcessBuilder("qemu-system-x86_64", "-S", "-display", "none", "-nodefaults", "-machine", "pc",
                "-drive", "file=" + img + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            // QEMU opens the file first and takes the device's permissions a moment later.
            while (!lockedBytes(img).equals(List.of("100-101", "201-201"))) {
                if (System.nanoTime() > deadline || !q.isAlive()) {
                    org.junit.jupiter.api.Assumptions.abort("qemu-system-x86_64 did not start with the disk");
                }
                Thread.sleep(20);
            }
            // A device does not share write: both our writer and our reader are refused, as a second QEMU would be.
            ImageLockException e = assertThrows(ImageLockException.class, () -> RawImage.open(img, writable()));
            assertEquals("Failed to get \"write\" lock", e.getMessage());
            e = assertThrows(ImageLockException.class, () -> RawImage.open(img, ImageOptions.readOnly(true)));
            assertEquals("Failed to get shared \"write\" lock", e.getMessage());
        } finally {
            q.destroy();
            q.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void readersShareAndWritersExcludeWithinJvmmToo() throws Exception {
        Path img = raw();
        try (BlockDriver a = RawImage.open(img, ImageOptions.readOnly(true));
             BlockDriver b = RawImage.open(img, ImageOptions.readOnly(true))) {
            assertThrows(ImageLockException.class, () -> RawImage.open(img, writable()));
        }
        try (BlockDriver a = RawImage.open(img, writable())) {
            ImageLockException e = assertThrows(ImageLockException.class, () -> RawImage.open(img, writable()));
            assertEquals("Failed to get \"write\" lock", e.getMessage());
        }
        // A failed open leaves no lock bytes behind.
        assertEquals(List.of(), lockedBytes(img));
    }

    @Test
    void readOnlyQemuAndReadOnlyJvmmCoexist() throws Exception {
        QemuImgTool.assumeAvailable("qemu-io");
        QemuImgTool.assumeAvailable("qemu-img");
        Path q = dir.resolve("disk.qcow2");
        QemuImgTool.ok("qemu-img", "create", "-f", "qcow2", q.toString(), "1M");
        Process p = qemuIoHolder(q, "qcow2", true);
        try {
            try (BlockDriver d = BlockDriver.open(q, true)) {
                assertEquals(1 << 20, d.size());
            }
            ImageLockException e = assertThrows(ImageLockException.class, () -> BlockDriver.open(q, false));
            assertEquals("Failed to get \"write\" lock", e.getMessage());
        } finally {
            stop(p);
        }
    }

    @Test
    void backingFileIsLockedReadOnlySoQemuCannotWriteIt() throws Exception {
        QemuImgTool.assumeAvailable("qemu-img");
        QemuImgTool.assumeAvailable("qemu-io");
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        QemuImgTool.ok("qemu-img", "create", "-f", "qcow2", base.toString(), "1M");
        QemuImgTool.ok("qemu-img", "create", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", top.toString());
        try (BlockDriver d = BlockDriver.open(top, false)) {
            assertEquals(List.of("100-100", "201-201", "203-203"), lockedBytes(base));
            QemuImgTool.Result r = QemuImgTool.run(List.of("qemu-io", "-f", "qcow2", "-c", "write 0 512", base.toString()));
            assertTrue(r.output().contains("Failed to get \"write\" lock"), r.output());
        }
        BasicFileAttributes a = Files.readAttributes(base, BasicFileAttributes.class);
        assertTrue(a.size() > 0);
    }
}
