package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cache.direct (O_DIRECT with bounce buffers), cache.no-flush and errno mapping. */
class ImageOptionsTest {
    @TempDir
    Path dir;

    private static final ImageOptions DIRECT = new ImageOptions(false, true, false, ImageOptions.LockMode.ON, false);

    /** A direct buffer whose start is offset `misalign` bytes past a 4 KiB boundary. */
    private static ByteBuffer buffer(int len, int misalign) {
        return ByteBuffer.allocateDirect(len + 12288).alignedSlice(4096).position(misalign).limit(misalign + len).slice();
    }

    @Test
    void directRawMatchesAModelForAlignedAndUnalignedRequests() throws IOException {
        // 1 MiB + 1000: the tail is not block aligned, so tail writes must not grow the file.
        int size = (1 << 20) + 1000;
        Path p = dir.resolve("d.raw");
        byte[] model = new byte[size];
        new Random(1).nextBytes(model);
        Files.write(p, model);
        Random r = new Random(2);
        try (RawImage d = RawImage.open(p, DIRECT)) {
            for (int i = 0; i < 300; i++) {
                boolean aligned = r.nextInt(3) == 0;
                int len = aligned ? 4096 * (1 + r.nextInt(16)) : 1 + r.nextInt(20000);
                long off = aligned ? 4096L * r.nextInt(size / 4096 - 16) : r.nextInt(size - len + 1);
                int mis = aligned ? 0 : new int[] {0, 512, 1, 4095}[r.nextInt(4)];
                if (i % 40 == 39) {
                    off = size - len; // the unaligned tail
                }
                if (r.nextBoolean()) {
                    byte[] data = new byte[len];
                    r.nextBytes(data);
                    ByteBuffer b = r.nextInt(4) == 0 ? ByteBuffer.wrap(data) : buffer(len, mis).put(data).flip();
                    d.write(off, b);
                    System.arraycopy(data, 0, model, (int) off, len);
                    // Check a window around the write: padding must not touch bytes next to it.
                    long from = Math.max(0, off - 8192);
                    int wlen = (int) (Math.min(size, off + len + 8192) - from);
                    ByteBuffer w = ByteBuffer.allocate(wlen);
                    d.read(from, w);
                    assertArrayEquals(Arrays.copyOfRange(model, (int) from, (int) from + wlen), w.array(), "after write " + i);
                } else {
                    ByteBuffer b = buffer(len, mis);
                    assertEquals(len, d.read(off, b));
                    byte[] got = new byte[len];
                    b.flip().get(got);
                    byte[] want = new byte[len];
                    System.arraycopy(model, (int) off, want, 0, len);
                    assertArrayEquals(want, got, "read at " + off + "+" + len);
                }
            }
            d.flush();
        }
        assertEquals(size, Files.size(p));
        assertArrayEquals(model, Files.readAllBytes(p));
    }

    @Test
    void directQcow2PassesQemuImgCheck() throws IOException {
        QemuImgTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("d.qcow2");
        QemuImgTool.ok("qemu-img", "create", "-f", "qcow2", img.toString(), "4M");
        byte[] model = new byte[4 << 20];
        Random r = new Random(3);
        try (BlockDriver d = BlockDriver.open(img, DIRECT)) {
            assertInstanceOf(Qcow2Image.class, d);
            for (int i = 0; i < 60; i++) {
                int len = 1 + r.nextInt(150000);
                int off = r.nextInt(model.length - len);
                byte[] data = new byte[len];
                r.nextBytes(data);
                d.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, off, len);
            }
            ByteBuffer all = ByteBuffer.allocateDirect(model.length);
            d.read(0, all);
            byte[] got = new byte[model.length];
            all.flip().get(got);
            assertArrayEquals(model, got);
        }
        QemuImgTool.check(img);
        assertArrayEquals(model, QemuImgTool.toRaw(img, dir));
    }

    @Test
    void noFlushAndReadOnlyFlushAreNoOps() throws IOException {
        Path p = dir.resolve("n.raw");
        Files.write(p, new byte[4096]);
        try (RawImage d = RawImage.open(p, ImageOptions.DEFAULT.withNoFlush(true))) {
            d.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            d.flush();
            assertTrue(d.options().noFlush());
        }
        assertEquals(1, Files.readAllBytes(p)[0]);
    }

    @Test
    void ioExceptionTextsMapToErrno() {
        IOException e = HostIoException.classify(new IOException("No space left on device"));
        HostIoException h = assertInstanceOf(HostIoException.class, e);
        assertEquals(28, h.errno());
        assertTrue(h.noSpace());
        assertEquals("No space left on device", h.getMessage());
        assertEquals(5, ((HostIoException) HostIoException.classify(new IOException("Input/output error"))).errno());
        IOException other = new IOException("something else");
        assertEquals(other, HostIoException.classify(other));
        assertEquals("Input/output error", new HostIoException(5).getMessage());
        assertEquals("Broken pipe", HostIoException.strerror(32));
    }
}
