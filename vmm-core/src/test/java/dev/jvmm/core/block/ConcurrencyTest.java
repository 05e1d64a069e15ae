package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several threads writing disjoint areas while another resizes: the image stays consistent (qemu-img check). */
class ConcurrencyTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private void hammer(BlockDriver d, byte[][] expected, boolean direct) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    Random r = new Random(id);
                    byte[] area = expected[id];
                    for (int i = 0; i < 200; i++) {
                        int len = 1 + r.nextInt(direct ? 9000 : 70000);
                        int off = r.nextInt(area.length - len);
                        byte[] data = new byte[len];
                        r.nextBytes(data);
                        d.write((long) id * MIB + off, ByteBuffer.allocateDirect(len).put(data).flip());
                        System.arraycopy(data, 0, area, off, len);
                        if (i % 10 == 0) {
                            d.flush();
                        }
                    }
                    return null;
                }));
            }
            fs.add(pool.submit(() -> {
                for (int i = 1; i <= 20; i++) {
                    d.truncate(4L * MIB + i * 65536L);
                }
                return null;
            }));
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(4L * MIB + 20 * 65536L, d.size());
        for (int t = 0; t < 4; t++) {
            ByteBuffer b = ByteBuffer.allocate(MIB);
            d.read((long) t * MIB, b);
            assertArrayEquals(expected[t], b.array(), "area " + t);
        }
    }

    @Test
    void qcow2() throws Exception {
        QemuImgTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("c.qcow2");
        Qcow2Image.create(img, 4L * MIB, null, null);
        byte[][] expected = new byte[4][MIB];
        try (BlockDriver d = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
            hammer(d, expected, false);
        }
        QemuImgTool.check(img);
        byte[] raw = QemuImgTool.toRaw(img, dir);
        for (int t = 0; t < 4; t++) {
            assertArrayEquals(expected[t], java.util.Arrays.copyOfRange(raw, t * MIB, (t + 1) * MIB));
        }
    }

    @Test
    void rawDirect() throws Exception {
        Path p = dir.resolve("c.raw");
        Files.write(p, new byte[4 * MIB]);
        byte[][] expected = new byte[4][MIB];
        try (BlockDriver d = RawImage.open(p, new ImageOptions(false, true, false, ImageOptions.LockMode.ON, false))) {
            hammer(d, expected, true);
        }
    }
}
