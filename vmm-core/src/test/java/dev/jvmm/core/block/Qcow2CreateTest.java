package dev.jvmm.core.block;

import static dev.jvmm.core.block.QemuImgTool.check;
import static dev.jvmm.core.block.QemuImgTool.ok;
import static dev.jvmm.core.block.QemuImgTool.toRaw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2CreateTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    @BeforeEach
    void needQemuImg() {
        QemuImgTool.assumeAvailable("qemu-img");
    }

    @Test
    void createdImageIsWhatQemuImgCreates() throws IOException {
        Path ours = dir.resolve("ours.qcow2");
        Path theirs = dir.resolve("theirs.qcow2");
        Qcow2Image.create(ours, 64L * MIB, null, null);
        ok("qemu-img", "create", "-f", "qcow2", theirs.toString(), "64M");
        check(ours);
        String info = ok("qemu-img", "info", ours.toString());
        assertTrue(info.contains("virtual size: 64 MiB (67108864 bytes)"), info);
        assertTrue(info.contains("cluster_size: 65536"), info);
        assertTrue(info.contains("compat: 1.1"), info);
        assertTrue(info.contains("refcount bits: 16"), info);
        assertEquals(Files.size(theirs), Files.size(ours));
        // The same layout: header fields up to the header length, refcount table, block and L1 agree byte for byte.
        byte[] a = Files.readAllBytes(ours);
        byte[] b = Files.readAllBytes(theirs);
        assertArrayEquals(Arrays.copyOf(b, 104), Arrays.copyOf(a, 104));
        assertArrayEquals(Arrays.copyOfRange(b, 65536, a.length), Arrays.copyOfRange(a, 65536, a.length));
        assertThrows(BlockException.class, () -> Qcow2Image.create(ours, MIB, null, null));
    }

    @Test
    void createdImagesTakeWritesAndLargeSizes() throws IOException {
        Path img = dir.resolve("big.qcow2");
        Qcow2Image.create(img, 3L << 40, null, null); // 3 TiB: L1 spans one cluster of entries
        check(img);
        Path small = dir.resolve("small.qcow2");
        Qcow2Image.create(small, 3 * MIB, null, null);
        byte[] model = new byte[3 * MIB];
        new Random(1).nextBytes(model);
        try (BlockDriver d = Qcow2Image.open(small, ImageOptions.DEFAULT)) {
            d.write(0, ByteBuffer.wrap(model));
        }
        check(small);
        assertArrayEquals(model, toRaw(small, dir));
    }

    @Test
    void overlayOverBackingFile() throws IOException {
        Path base = dir.resolve("base.raw");
        byte[] baseData = new byte[2 * MIB];
        new Random(2).nextBytes(baseData);
        Files.write(base, baseData);
        Path top = dir.resolve("top.qcow2");
        Qcow2Image.create(top, 2 * MIB, base, "raw");
        check(top);
        String info = ok("qemu-img", "info", top.toString());
        assertTrue(info.contains("backing file: " + base), info);
        assertTrue(info.contains("backing file format: raw"), info);
        byte[] model = baseData.clone();
        try (BlockDriver d = BlockDriver.open(top, false)) {
            assertEquals("raw", d.backing().format());
            d.write(1000, ByteBuffer.wrap(new byte[5000]));
            Arrays.fill(model, 1000, 6000, (byte) 0);
        }
        assertArrayEquals(model, toRaw(top, dir));
        assertArrayEquals(baseData, Files.readAllBytes(base));
    }

    @Test
    void temporaryOverlayLeavesBaseUntouchedAndVanishes() throws IOException {
        Path base = dir.resolve("base.qcow2");
        Qcow2Image.create(base, MIB, null, null);
        byte[] data = new byte[MIB];
        new Random(3).nextBytes(data);
        try (BlockDriver d = Qcow2Image.open(base, ImageOptions.DEFAULT)) {
            d.write(0, ByteBuffer.wrap(data));
        }
        byte[] baseBytes = Files.readAllBytes(base);
        try (Qcow2Image o = Qcow2Image.createTemporaryOverlay(base, "qcow2", ImageOptions.DEFAULT)) {
            assertTrue(o.filename().startsWith("/var/tmp/vl.") || System.getenv("TMPDIR") != null, o.filename());
            assertFalse(Files.exists(Path.of(o.filename())), "the overlay is unlinked at once");
            assertTrue(o.options().noFlush());
            assertNotNull(o.backing());
            assertEquals(MIB, o.size());
            ByteBuffer all = ByteBuffer.allocate(MIB);
            o.read(0, all);
            assertArrayEquals(data, all.array());
            o.write(0, ByteBuffer.wrap(new byte[65536]));
            o.writeZeroes(65536, 65536, true);
            o.flush();
            all.clear();
            o.read(0, all);
            assertArrayEquals(new byte[131072], Arrays.copyOf(all.array(), 131072));
            // The base is open read-only: QEMU may read it but not write it.
            QemuImgTool.Result r = QemuImgTool.run(java.util.List.of("qemu-io", "-f", "qcow2", "-c", "write 0 512", base.toString()));
            assertTrue(r.output().contains("Failed to get \"write\" lock"), r.output());
        }
        assertArrayEquals(baseBytes, Files.readAllBytes(base));
    }

    @Test
    void temporaryOverlayOverProbedRawBaseInGivenDirectory() throws IOException {
        Path base = dir.resolve("base.raw");
        byte[] data = new byte[MIB];
        new Random(4).nextBytes(data);
        Files.write(base, data);
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        try (Qcow2Image o = Qcow2Image.createTemporaryOverlay(base, null, ImageOptions.DEFAULT, tmp)) {
            assertTrue(o.filename().startsWith(tmp + "/vl."), o.filename());
            assertEquals("raw", o.backing().format());
            o.write(4096, ByteBuffer.wrap(new byte[4096]));
            ByteBuffer all = ByteBuffer.allocate(MIB);
            o.read(0, all);
            byte[] want = data.clone();
            Arrays.fill(want, 4096, 8192, (byte) 0);
            assertArrayEquals(want, all.array());
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(0, left.count(), "nothing left in the directory");
            }
        }
        assertArrayEquals(data, Files.readAllBytes(base));
    }
}
