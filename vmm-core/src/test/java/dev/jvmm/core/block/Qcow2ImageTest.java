package dev.jvmm.core.block;

import static dev.jvmm.core.block.QemuImgTool.check;
import static dev.jvmm.core.block.QemuImgTool.ok;
import static dev.jvmm.core.block.QemuImgTool.qemuIo;
import static dev.jvmm.core.block.QemuImgTool.toRaw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2ImageTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    @BeforeEach
    void needQemuImg() {
        QemuImgTool.assumeAvailable("qemu-img");
    }

    private Path create(String name, String size, String... opts) throws IOException {
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

    private static byte[] readAll(BlockDriver d) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) d.size());
        d.read(0, b);
        return b.array();
    }

    /** Random writes (sizes up to three clusters, unaligned too) mirrored into model. */
    private static void randomWrites(BlockDriver d, byte[] model, long seed, int count, int maxLen) throws IOException {
        Random r = new Random(seed);
        for (int i = 0; i < count; i++) {
            int len = 1 + r.nextInt(maxLen);
            int off = r.nextInt(model.length - len + 1);
            if (r.nextBoolean()) {
                off &= ~511;
                len = Math.max(512, len & ~511);
                if (off + len > model.length) {
                    off = model.length - len;
                }
            }
            byte[] data = new byte[len];
            r.nextBytes(data);
            ByteBuffer src = ByteBuffer.allocateDirect(len);
            src.put(data).flip();
            d.write(off, src);
            System.arraycopy(data, 0, model, off, len);
        }
    }

    private void writeCheckConvert(Path img, byte[] model, long seed, int maxLen) throws IOException {
        try (BlockDriver d = BlockDriver.open(img, false)) {
            assertInstanceOf(Qcow2Image.class, d);
            randomWrites(d, model, seed, 300, maxLen);
            d.flush();
            assertArrayEquals(model, readAll(d));
        }
        check(img);
        assertArrayEquals(model, toRaw(img, dir));
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertArrayEquals(model, readAll(d));
        }
    }

    @Test
    void randomWritesV2() throws IOException {
        Path img = create("v2.qcow2", "4M", "-o", "compat=0.10");
        writeCheckConvert(img, new byte[4 * MIB], 1, 200_000);
    }

    @Test
    void randomWritesV3() throws IOException {
        Path img = create("v3.qcow2", "4M");
        writeCheckConvert(img, new byte[4 * MIB], 2, 200_000);
    }

    @Test
    void randomWritesSmallClustersAllocateRefcountBlocks() throws IOException {
        // 512-byte clusters with 16-bit refcounts: one refcount block covers 128 KiB, so writes need new blocks.
        Path img = create("small.qcow2", "2M", "-o", "cluster_size=512");
        writeCheckConvert(img, new byte[2 * MIB], 3, 5000);
    }

    @Test
    void randomWritesOtherRefcountWidths() throws IOException {
        for (int bits : new int[] {1, 2, 8, 32, 64}) {
            Path img = create("rc" + bits + ".qcow2", "1M", "-o", "cluster_size=4096,refcount_bits=" + bits);
            writeCheckConvert(img, new byte[MIB], 10 + bits, 20_000);
        }
    }

    @Test
    void readsWhatQemuWrote() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path img = create("q.qcow2", "1M");
        qemuIo(img, "write -P 0xab 0 64k", "write -P 0xcd 100k 3000");
        byte[] want = new byte[MIB];
        Arrays.fill(want, 0, 65536, (byte) 0xab);
        Arrays.fill(want, 100 * 1024, 100 * 1024 + 3000, (byte) 0xcd);
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertEquals(MIB, d.size());
            assertArrayEquals(want, readAll(d));
            ByteBuffer part = ByteBuffer.allocate(100);
            d.read(65500, part);
            for (int i = 0; i < 100; i++) {
                assertEquals(i < 36 ? (byte) 0xab : 0, part.get(i));
            }
        }
    }

    @Test
    void zeroClustersReadZeroAndHideBacking() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path base = create("zbase.qcow2", "1M");
        qemuIo(base, "write -P 0x11 0 1M");
        Path top = create("ztop.qcow2", "1M", "-b", "zbase.qcow2", "-F", "qcow2");
        qemuIo(top, "write -P 0x22 0 128k", "write -z 0 64k", "write -z 512k 64k");
        byte[] want = new byte[MIB];
        Arrays.fill(want, (byte) 0x11);
        Arrays.fill(want, 0, 65536, (byte) 0);
        Arrays.fill(want, 65536, 131072, (byte) 0x22);
        Arrays.fill(want, 512 * 1024, 576 * 1024, (byte) 0);
        try (BlockDriver d = BlockDriver.open(top, false)) {
            assertArrayEquals(want, readAll(d));
            // Partial writes into zero clusters keep the rest zero.
            byte[] w = new byte[1000];
            Arrays.fill(w, (byte) 0x33);
            d.write(1000, ByteBuffer.wrap(w));
            d.write(512 * 1024 + 7, ByteBuffer.wrap(w));
            System.arraycopy(w, 0, want, 1000, 1000);
            System.arraycopy(w, 0, want, 512 * 1024 + 7, 1000);
            assertArrayEquals(want, readAll(d));
        }
        check(top);
        assertArrayEquals(want, toRaw(top, dir));
    }

    @Test
    void backingChainReadsAndCopiesOnWrite() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path base = create("base.qcow2", "2M");
        qemuIo(base, "write -P 0xab 0 2M");
        Path mid = create("mid.qcow2", "2M", "-b", "base.qcow2", "-F", "qcow2");
        qemuIo(mid, "write -P 0xcd 64k 64k");
        Path top = create("top.qcow2", "3M", "-b", "mid.qcow2", "-F", "qcow2");
        byte[] model = new byte[3 * MIB];
        Arrays.fill(model, 0, 2 * MIB, (byte) 0xab);
        Arrays.fill(model, 65536, 131072, (byte) 0xcd);
        try (BlockDriver d = BlockDriver.open(top, true)) {
            assertArrayEquals(model, readAll(d));
        }
        writeCheckConvert(top, model, 4, 100_000);
        // The backing files are untouched.
        byte[] baseWant = new byte[2 * MIB];
        Arrays.fill(baseWant, (byte) 0xab);
        assertArrayEquals(baseWant, toRaw(base, dir));
        check(mid);
        check(base);
    }

    @Test
    void rawBackingFile() throws IOException {
        Path raw = dir.resolve("base.raw");
        byte[] model = new byte[MIB];
        new Random(7).nextBytes(model);
        Files.write(raw, model);
        Path top = create("overraw.qcow2", "1M", "-b", "base.raw", "-F", "raw");
        writeCheckConvert(top, model, 5, 50_000);
    }

    @Test
    void compressedClusters() throws IOException {
        Path raw = dir.resolve("src.raw");
        byte[] model = new byte[2 * MIB];
        Random r = new Random(9);
        for (int i = 0; i < model.length; i += 4096) {
            // Compressible but distinct content per 4 KiB.
            Arrays.fill(model, i, i + 4096, (byte) r.nextInt(4));
            model[i + 100] = (byte) r.nextInt();
        }
        Files.write(raw, model);
        Path img = dir.resolve("c.qcow2");
        ok("qemu-img", "convert", "-c", "-O", "qcow2", raw.toString(), img.toString());
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertArrayEquals(model, readAll(d));
        }
        writeCheckConvert(img, model, 6, 100_000);
    }

    @Test
    void compressedClustersV2SmallClusters() throws IOException {
        Path raw = dir.resolve("src2.raw");
        byte[] model = new byte[MIB];
        for (int i = 0; i < model.length; i++) {
            model[i] = (byte) (i / 1000);
        }
        Files.write(raw, model);
        Path img = dir.resolve("c2.qcow2");
        ok("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compat=0.10,cluster_size=4096", raw.toString(), img.toString());
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertArrayEquals(model, readAll(d));
        }
        writeCheckConvert(img, model, 8, 20_000);
    }

    @Test
    void pastTheEndAndReadOnly() throws IOException {
        Path img = create("e.qcow2", "64k");
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertThrows(BlockException.class, () -> d.read(65024, ByteBuffer.allocate(1024)));
            assertThrows(BlockException.class, () -> d.write(0, ByteBuffer.allocate(512)));
        }
        try (BlockDriver d = BlockDriver.open(img, false)) {
            assertThrows(BlockException.class, () -> d.write(65024, ByteBuffer.allocate(1024)));
        }
        check(img);
        assertArrayEquals(new byte[65536], toRaw(img, dir));
    }

    // ---- corrupt images ----

    private Path corrupt(String name, long offset, byte[] bytes) throws IOException {
        Path img = create(name, "1M");
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), offset);
        }
        return img;
    }

    private static void assertRefused(Path img, String expect) {
        for (boolean ro : new boolean[] {true, false}) {
            BlockException e = assertThrows(BlockException.class, () -> Qcow2Image.open(img, ro).close());
            assertTrue(e.getMessage().contains(expect), e.getMessage());
        }
    }

    private static byte[] be32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    private static byte[] be64(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    @Test
    void badMagic() throws IOException {
        Path img = corrupt("m.qcow2", 0, new byte[] {'Q', 'F', 'I', 0});
        assertRefused(img, "magic");
        // Without the magic the generic opener sees a raw image.
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertInstanceOf(RawImage.class, d);
        }
    }

    @Test
    void l1TablePastEof() throws IOException {
        assertRefused(corrupt("l1.qcow2", 40, be64(1L << 40)), "L1 table");
    }

    @Test
    void clusterBitsOutOfRange() throws IOException {
        assertRefused(corrupt("cb.qcow2", 20, be32(40)), "cluster_bits");
        assertRefused(corrupt("cb2.qcow2", 20, be32(8)), "cluster_bits");
    }

    @Test
    void truncatedHeader() throws IOException {
        Path img = create("t.qcow2", "1M");
        byte[] head = Arrays.copyOf(Files.readAllBytes(img), 50);
        Files.write(img, head);
        assertRefused(img, "truncated");
        Path img3 = create("t3.qcow2", "1M");
        Files.write(img3, Arrays.copyOf(Files.readAllBytes(img3), 90));
        assertRefused(img3, "truncated");
    }

    @Test
    void unknownIncompatibleFeature() throws IOException {
        assertRefused(corrupt("if.qcow2", 72, be64(1L << 20)), "incompatible feature");
        assertRefused(corrupt("ext.qcow2", 72, be64(1L << 4)), "extended L2");
        assertRefused(corrupt("df.qcow2", 72, be64(1L << 2)), "external data");
    }

    @Test
    void encryptionRefused() throws IOException {
        assertRefused(corrupt("enc.qcow2", 32, be32(1)), "encrypted");
    }

    @Test
    void unsupportedVersion() throws IOException {
        assertRefused(corrupt("ver.qcow2", 4, be32(4)), "version");
    }

    @Test
    void dirtyImageReadOnlyOnly() throws IOException {
        Path img = corrupt("dirty.qcow2", 72, be64(1));
        try (BlockDriver d = Qcow2Image.open(img, true)) {
            assertEquals(MIB, d.size());
        }
        BlockException e = assertThrows(BlockException.class, () -> Qcow2Image.open(img, false));
        assertTrue(e.getMessage().contains("dirty"), e.getMessage());
    }

    @Test
    void selfReferencingBackingChainFails() throws IOException {
        Path img = create("loop.qcow2", "1M", "-b", "loop2.qcow2", "-F", "qcow2", "-u");
        create("loop2.qcow2", "1M", "-b", "loop.qcow2", "-F", "qcow2", "-u");
        BlockException e = assertThrows(BlockException.class, () -> BlockDriver.open(img, true));
        assertTrue(e.getMessage().contains("backing chain"), e.getMessage());
    }

    @Test
    void missingBackingFileFails() throws IOException {
        Path img = create("orphan.qcow2", "1M", "-b", "nothere.qcow2", "-F", "qcow2", "-u");
        assertThrows(IOException.class, () -> BlockDriver.open(img, true));
    }

    @Test
    void l2TablePastEofFailsOnRead() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path img = create("l2.qcow2", "1M");
        qemuIo(img, "write -P 1 0 4k");
        long l1Off;
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            ch.read(b, 40);
            l1Off = b.getLong(0);
            ch.write(ByteBuffer.wrap(be64((1L << 63) | (1L << 40))), l1Off);
        }
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertThrows(BlockException.class, () -> d.read(0, ByteBuffer.allocate(512)));
        }
    }

    @Test
    void refcountTableGrowsWhenFull() throws IOException {
        // 512-byte clusters: a one-cluster refcount table covers 64 * 256 clusters = 8 MiB of image file.
        Path img = create("full.qcow2", "16M", "-o", "cluster_size=512");
        byte[] model = new byte[16 * MIB];
        try (BlockDriver d = BlockDriver.open(img, false)) {
            byte[] data = new byte[512];
            for (int off = 0; off < model.length; off += 512) {
                Arrays.fill(data, (byte) (off >>> 9));
                d.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, off, 512);
            }
        }
        assertTrue(refTableClusters(img) > 1, "refcount table should have grown");
        check(img);
        assertArrayEquals(model, toRaw(img, dir));
    }

    private static int refTableClusters(Path img) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
            ch.read(b, 56);
        }
        return b.getInt(0);
    }

    @Test
    void refcountTableGrowsRepeatedlyWithWideRefcounts() throws IOException {
        // 64-bit refcounts in 512-byte clusters: a block covers 64 clusters, the initial table 2 MiB of file.
        Path img = create("wide.qcow2", "6M", "-o", "cluster_size=512,refcount_bits=64");
        writeCheckConvert(img, new byte[6 * MIB], 21, 300_000);
        assertTrue(refTableClusters(img) > 1, "refcount table should have grown");
    }

    @Test
    void fuzzedMetadataNeverThrowsAnythingButIOException() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path raw = dir.resolve("fz.raw");
        byte[] content = new byte[256 * 1024];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i / 3000);
        }
        Files.write(raw, content);
        Path comp = dir.resolve("fzc.qcow2");
        ok("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096", raw.toString(), comp.toString());
        Path plain = create("fzp.qcow2", "256k", "-o", "cluster_size=4096");
        qemuIo(plain, "write -P 0x5a 0 100k", "write -z 128k 8k");
        Random r = new Random(42);
        for (Path src : new Path[] {comp, plain}) {
            byte[] orig = Files.readAllBytes(src);
            for (int iter = 0; iter < 150; iter++) {
                byte[] bad = orig.clone();
                int flips = 1 + r.nextInt(8);
                for (int f = 0; f < flips; f++) {
                    // Mostly header and metadata (the first clusters), sometimes anywhere.
                    int at = r.nextInt(4) == 0 ? r.nextInt(bad.length) : r.nextInt(Math.min(bad.length, 16384));
                    bad[at] = (byte) r.nextInt();
                }
                Path f = dir.resolve("fuzz.qcow2");
                Files.write(f, bad);
                for (boolean ro : new boolean[] {true, false}) {
                    try (BlockDriver d = BlockDriver.open(f, ro)) {
                        long n = Math.min(d.size(), 512 * 1024);
                        ByteBuffer b = ByteBuffer.allocate(4096);
                        for (long off = 0; off + 4096 <= n; off += 4096) {
                            b.clear();
                            try {
                                d.read(off, b);
                            } catch (IOException e) {
                                // expected for corrupt metadata
                            }
                        }
                        if (!ro && d.size() >= 8192) {
                            try {
                                d.write(1000, ByteBuffer.allocate(5000));
                            } catch (IOException e) {
                                // expected for corrupt metadata
                            }
                        }
                    } catch (IOException e) {
                        // refused at open: fine
                    }
                }
            }
        }
    }

    @Test
    void autoclearBitsClearedOnWritableOpenAndUnknownCompatibleBitsAccepted() throws IOException {
        Path img = corrupt("ac.qcow2", 80, be64(1L << 40));
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(be64(1L << 5)), 88);
        }
        try (BlockDriver d = Qcow2Image.open(img, true)) {
            assertEquals(MIB, d.size());
        }
        ByteBuffer b = ByteBuffer.allocate(8);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
            ch.read(b, 88);
        }
        assertEquals(1L << 5, b.getLong(0), "a read-only open leaves the header alone");
        try (BlockDriver d = Qcow2Image.open(img, false)) {
            d.write(0, ByteBuffer.allocate(512));
        }
        b.clear();
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
            ch.read(b, 88);
        }
        assertEquals(0, b.getLong(0));
    }

    @Test
    void internalSnapshotsAreReadOnly() throws IOException {
        QemuImgTool.assumeAvailable("qemu-io");
        Path img = create("snap.qcow2", "1M");
        qemuIo(img, "write -P 0x44 0 64k");
        ok("qemu-img", "snapshot", "-c", "s1", img.toString());
        qemuIo(img, "write -P 0x55 0 4k");
        byte[] want = new byte[MIB];
        Arrays.fill(want, 0, 65536, (byte) 0x44);
        Arrays.fill(want, 0, 4096, (byte) 0x55);
        try (BlockDriver d = BlockDriver.open(img, true)) {
            assertArrayEquals(want, readAll(d));
        }
        BlockException e = assertThrows(BlockException.class, () -> BlockDriver.open(img, false));
        assertTrue(e.getMessage().contains("snapshots"), e.getMessage());
    }
}
