package dev.jvmm.core.block;

import static dev.jvmm.core.block.QemuImgTool.check;
import static dev.jvmm.core.block.QemuImgTool.ok;
import static dev.jvmm.core.block.QemuImgTool.toRaw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discard, write-zeroes and resize on raw and qcow2, checked with qemu-img. */
class DiscardResizeTest {
    private static final int MIB = 1 << 20;
    private static final ImageOptions UNMAP = new ImageOptions(false, false, false, ImageOptions.LockMode.AUTO, true);

    @TempDir
    Path dir;

    private static byte[] readAll(BlockDriver d) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) d.size());
        d.read(0, b);
        return b.array();
    }

    private static void fill(BlockDriver d, byte[] model, long seed) throws IOException {
        new Random(seed).nextBytes(model);
        d.write(0, ByteBuffer.wrap(model));
    }

    private Path qcow2(String name, String size, String... opts) throws IOException {
        QemuImgTool.assumeAvailable("qemu-img");
        Path p = dir.resolve(name);
        String[] cmd = new String[6 + opts.length];
        cmd[0] = "qemu-img";
        cmd[1] = "create";
        cmd[2] = "-f";
        cmd[3] = "qcow2";
        System.arraycopy(opts, 0, cmd, 4, opts.length);
        cmd[4 + opts.length] = p.toString();
        cmd[5 + opts.length] = size;
        ok(cmd);
        return p;
    }

    @Test
    void rawDiscardPunchesHolesOnlyWithUnmap() throws IOException {
        Path p = dir.resolve("a.raw");
        Files.write(p, new byte[4 * MIB]);
        byte[] model = new byte[4 * MIB];
        try (RawImage d = RawImage.open(p, ImageOptions.DEFAULT)) {
            fill(d, model, 1);
            d.flush();
            long before = d.allocatedSize();
            d.discard(0, 2 * MIB); // discard=ignore: nothing happens
            assertEquals(before, d.allocatedSize());
            assertArrayEquals(model, readAll(d));
        }
        try (RawImage d = RawImage.open(p, UNMAP)) {
            long before = d.allocatedSize();
            d.discard(MIB, 2 * MIB);
            assertTrue(d.allocatedSize() <= before - 2 * MIB, "hole punched: " + before + " -> " + d.allocatedSize());
            Arrays.fill(model, MIB, 3 * MIB, (byte) 0);
            assertArrayEquals(model, readAll(d));
            assertThrows(BlockException.class, () -> d.discard(3 * MIB, 2 * MIB));
        }
        assertEquals(4 * MIB, Files.size(p));
    }

    @Test
    void rawWriteZeroes() throws IOException {
        Path p = dir.resolve("z.raw");
        Files.write(p, new byte[MIB]);
        byte[] model = new byte[MIB];
        try (RawImage d = RawImage.open(p, UNMAP)) {
            fill(d, model, 2);
            d.writeZeroes(1000, 70000, false);
            Arrays.fill(model, 1000, 71000, (byte) 0);
            d.writeZeroes(4096 * 40, 4096 * 20, true);
            Arrays.fill(model, 4096 * 40, 4096 * 60, (byte) 0);
            assertArrayEquals(model, readAll(d));
        }
        assertArrayEquals(model, Files.readAllBytes(p));
    }

    @Test
    void rawResizeGrowsAndShrinks() throws IOException {
        Path p = dir.resolve("r.raw");
        byte[] init = new byte[MIB];
        new Random(3).nextBytes(init);
        Files.write(p, init);
        try (RawImage d = RawImage.open(p, ImageOptions.DEFAULT)) {
            d.truncate(3 * MIB);
            assertEquals(3 * MIB, d.size());
            d.write(3 * MIB - 512, ByteBuffer.wrap(new byte[512]));
            d.truncate(MIB / 2);
            assertEquals(MIB / 2, d.size());
            assertThrows(BlockException.class, () -> d.read(MIB / 2, ByteBuffer.allocate(512)));
        }
        assertArrayEquals(Arrays.copyOf(init, MIB / 2), Files.readAllBytes(p));
        try (RawImage d = RawImage.open(p, ImageOptions.readOnly(true))) {
            assertThrows(BlockException.class, () -> d.truncate(MIB));
        }
    }

    @Test
    void qcow2DiscardFreesClustersWhichGetReused() throws IOException {
        Path img = qcow2("d.qcow2", "8M");
        byte[] model = new byte[8 * MIB];
        long sizeAfterFill;
        try (BlockDriver d = Qcow2Image.open(img, UNMAP)) {
            fill(d, model, 4);
            sizeAfterFill = Files.size(img);
            d.discard(MIB + 100, 3 * MIB); // whole clusters from 1 MiB + 64 KiB up to 4 MiB + 100 rounded down
            Arrays.fill(model, MIB + 65536, 4 * MIB, (byte) 0);
            d.discard(0, 4096); // partial cluster: left alone, as in QEMU
            assertArrayEquals(model, readAll(d));
        }
        check(img);
        assertArrayEquals(model, toRaw(img, dir));
        try (BlockDriver d = Qcow2Image.open(img, UNMAP)) {
            byte[] data = new byte[2 * MIB];
            new Random(5).nextBytes(data);
            d.write(2 * MIB, ByteBuffer.wrap(data));
            System.arraycopy(data, 0, model, 2 * MIB, data.length);
        }
        assertEquals(sizeAfterFill, Files.size(img), "freed clusters were reused, the file did not grow");
        check(img);
        assertArrayEquals(model, toRaw(img, dir));
    }

    @Test
    void qcow2DiscardIgnoredWithoutUnmap() throws IOException {
        Path img = qcow2("i.qcow2", "1M");
        byte[] model = new byte[MIB];
        try (BlockDriver d = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
            fill(d, model, 6);
            d.discard(0, MIB);
            assertArrayEquals(model, readAll(d));
        }
        check(img);
    }

    @Test
    void qcow2DiscardOverBackingBecomesZeroClusters() throws IOException {
        Path base = qcow2("base.qcow2", "2M");
        byte[] baseData = new byte[2 * MIB];
        try (BlockDriver d = Qcow2Image.open(base, ImageOptions.DEFAULT)) {
            fill(d, baseData, 7);
        }
        Path top = qcow2("top.qcow2", "2M", "-b", base.toString(), "-F", "qcow2");
        byte[] model = baseData.clone();
        try (BlockDriver d = Qcow2Image.open(top, UNMAP)) {
            d.write(0, ByteBuffer.wrap(new byte[65536 * 2]));
            Arrays.fill(model, 0, 65536 * 2, (byte) 0);
            d.discard(65536, 65536 * 4); // one allocated, three unallocated over backing
            Arrays.fill(model, 65536, 65536 * 5, (byte) 0);
            assertArrayEquals(model, readAll(d));
        }
        check(top);
        assertArrayEquals(model, toRaw(top, dir));
    }

    @Test
    void qcow2WriteZeroesV3AndV2() throws IOException {
        for (String compat : new String[] {"1.1", "0.10"}) {
            Path img = qcow2("wz" + compat + ".qcow2", "4M", "-o", "compat=" + compat);
            byte[] model = new byte[4 * MIB];
            try (BlockDriver d = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
                fill(d, model, 8);
                d.writeZeroes(1000, 300000, false); // partial head, whole clusters kept allocated, partial tail
                Arrays.fill(model, 1000, 301000, (byte) 0);
                d.writeZeroes(MIB, MIB, true);
                Arrays.fill(model, MIB, 2 * MIB, (byte) 0);
                d.write(65536 * 2 + 10, ByteBuffer.wrap(new byte[] {9, 9, 9})); // into a preallocated zero cluster
                model[65536 * 2 + 10] = 9;
                model[65536 * 2 + 11] = 9;
                model[65536 * 2 + 12] = 9;
                d.writeZeroes(3 * MIB, MIB, true); // up to the end
                Arrays.fill(model, 3 * MIB, 4 * MIB, (byte) 0);
                assertArrayEquals(model, readAll(d));
            }
            check(img);
            assertArrayEquals(model, toRaw(img, dir), "compat=" + compat);
        }
    }

    @Test
    void qcow2GrowBeyondL1AndShrink() throws IOException {
        // 512-byte clusters: each L2 table maps 32 KiB, so 1 MiB -> 8 MiB must grow the L1 table.
        Path img = qcow2("g.qcow2", "1M", "-o", "cluster_size=512");
        byte[] model = new byte[8 * MIB];
        try (BlockDriver d = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
            byte[] first = new byte[MIB];
            new Random(9).nextBytes(first);
            d.write(0, ByteBuffer.wrap(first));
            System.arraycopy(first, 0, model, 0, MIB);
            d.truncate(8 * MIB);
            assertEquals(8 * MIB, d.size());
            byte[] tail = new byte[MIB];
            new Random(10).nextBytes(tail);
            d.write(7 * MIB, ByteBuffer.wrap(tail));
            System.arraycopy(tail, 0, model, 7 * MIB, MIB);
            assertArrayEquals(model, readAll(d));
        }
        check(img);
        assertTrue(ok("qemu-img", "info", img.toString()).contains("virtual size: 8 MiB"));
        assertArrayEquals(model, toRaw(img, dir));
        try (BlockDriver d = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
            BlockException e = assertThrows(BlockException.class, () -> d.truncate(MIB + 1));
            assertEquals("The new size must be a multiple of 512", e.getMessage());
            d.truncate(3 * MIB / 2 + 1024);
        }
        check(img);
        assertTrue(ok("qemu-img", "info", img.toString()).contains("(1573888 bytes)"));
        assertArrayEquals(Arrays.copyOf(model, 3 * MIB / 2 + 1024), toRaw(img, dir));
    }

    @Test
    void qcow2GrowWithBackingHidesBackingData() throws IOException {
        Path base = qcow2("gb.qcow2", "2M");
        try (BlockDriver d = Qcow2Image.open(base, ImageOptions.DEFAULT)) {
            fill(d, new byte[2 * MIB], 11);
        }
        Path top = qcow2("gt.qcow2", "1M", "-b", base.toString(), "-F", "qcow2");
        byte[] want;
        try (BlockDriver b = Qcow2Image.open(base, ImageOptions.readOnly(true))) {
            want = Arrays.copyOf(Arrays.copyOf(readAll(b), MIB), 3 * MIB);
        }
        try (BlockDriver d = Qcow2Image.open(top, ImageOptions.DEFAULT)) {
            d.truncate(3 * MIB);
            assertArrayEquals(want, readAll(d));
        }
        check(top);
        assertArrayEquals(want, toRaw(top, dir));
    }
}
