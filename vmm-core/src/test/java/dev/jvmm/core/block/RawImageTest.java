package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawImageTest {
    @TempDir
    Path dir;

    @Test
    void readsAndWritesAtAnyOffset() throws Exception {
        Path p = dir.resolve("disk.raw");
        byte[] init = new byte[8192];
        for (int i = 0; i < init.length; i++) {
            init[i] = (byte) i;
        }
        Files.write(p, init);
        try (BlockDriver d = BlockDriver.open(p, false)) {
            assertInstanceOf(RawImage.class, d);
            assertEquals(8192, d.size());
            assertFalse(d.readOnly());
            ByteBuffer dst = ByteBuffer.allocateDirect(700);
            assertEquals(700, d.read(513, dst));
            assertFalse(dst.hasRemaining());
            for (int i = 0; i < 700; i++) {
                assertEquals((byte) (513 + i), dst.get(i));
            }
            byte[] data = new byte[1000];
            Arrays.fill(data, (byte) 0x5a);
            d.write(1001, ByteBuffer.wrap(data));
            d.flush();
        }
        byte[] now = Files.readAllBytes(p);
        for (int i = 0; i < now.length; i++) {
            byte want = i >= 1001 && i < 2001 ? (byte) 0x5a : (byte) i;
            assertEquals(want, now[i], "byte " + i);
        }
    }

    @Test
    void pastTheEndFailsAndWritesNothing() throws Exception {
        Path p = dir.resolve("disk.raw");
        Files.write(p, new byte[4096]);
        try (BlockDriver d = BlockDriver.open(p, false)) {
            byte[] data = new byte[1024];
            Arrays.fill(data, (byte) 1);
            BlockException e = assertThrows(BlockException.class, () -> d.write(3584, ByteBuffer.wrap(data)));
            assertTrue(e.getMessage().contains("past the end"), e.getMessage());
            assertThrows(BlockException.class, () -> d.read(4096, ByteBuffer.allocate(1)));
            assertThrows(BlockException.class, () -> d.read(-512, ByteBuffer.allocate(512)));
            assertEquals(0, d.read(4096, ByteBuffer.allocate(0)));
        }
        assertArrayEquals(new byte[4096], Files.readAllBytes(p));
    }

    @Test
    void readOnlyRefusesWrites() throws Exception {
        Path p = dir.resolve("disk.raw");
        Files.write(p, new byte[512]);
        try (BlockDriver d = BlockDriver.open(p, true)) {
            assertTrue(d.readOnly());
            assertThrows(BlockException.class, () -> d.write(0, ByteBuffer.allocate(512)));
        }
    }
}
