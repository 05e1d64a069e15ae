package dev.jvmm.core.block;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.EventFd;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each aio= engine on a real O_DIRECT file: a batch of vectored writes then reads in flight together, every
 * result reaped through the eventfd, the data on disk; a request on a descriptor that is not open fails with
 * -EBADF and the engine keeps working.
 */
class AioEngineTest {
    private static final int BLOCK = 4096;
    private static final int REQUESTS = 32;
    private static final int EBADF = 9;

    @TempDir
    Path dir;

    private static Map<Integer, Long> reapAll(AioEngine e, EventFd done, int expected) {
        Map<Integer, Long> results = new HashMap<>();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (results.size() < expected && System.nanoTime() < deadline) {
            e.reap(results::put);
            if (results.size() < expected) {
                Thread.onSpinWait();
            }
        }
        assertEquals(expected, results.size(), "results reaped");
        assertEquals(0, e.inFlight());
        return results;
    }

    @ParameterizedTest
    @ValueSource(strings = {AioEngine.THREADS, AioEngine.NATIVE, AioEngine.IO_URING})
    void batchInFlight(String mode) throws Exception {
        Path file = dir.resolve("disk.raw");
        Files.write(file, new byte[REQUESTS * BLOCK]);
        int fd = FileOps.open(file.toString(), FileOps.O_RDWR | FileOps.O_DIRECT | FileOps.O_CLOEXEC, 0);
        Memory buf = new Memory((long) (2 * REQUESTS + 1) * BLOCK);
        long base = (Pointer.nativeValue(buf) + BLOCK - 1) & -BLOCK;
        Memory iov = new Memory(16L * REQUESTS);
        try (EventFd done = new EventFd(); AioEngine e = AioEngine.open(mode, REQUESTS, "test", done)) {
            for (int i = 0; i < REQUESTS; i++) {
                for (int b = 0; b < BLOCK; b++) {
                    new Pointer(base + (long) i * BLOCK).setByte(b, (byte) (i + 1));
                }
                iov.setLong(16L * i, base + (long) i * BLOCK);
                iov.setLong(16L * i + 8, BLOCK);
                e.prepare(i, true, fd, Pointer.nativeValue(iov) + 16L * i, 1, (long) i * BLOCK);
            }
            e.submit();
            reapAll(e, done, REQUESTS).forEach((tag, r) -> assertEquals(BLOCK, r, "write " + tag));
            long readBase = base + (long) REQUESTS * BLOCK;
            for (int i = 0; i < REQUESTS; i++) {
                iov.setLong(16L * i, readBase + (long) i * BLOCK);
                e.prepare(i, false, fd, Pointer.nativeValue(iov) + 16L * i, 1, (long) i * BLOCK);
            }
            e.submit();
            reapAll(e, done, REQUESTS).forEach((tag, r) -> assertEquals(BLOCK, r, "read " + tag));
            for (int i = 0; i < REQUESTS; i++) {
                assertEquals((byte) (i + 1), new Pointer(readBase + (long) i * BLOCK).getByte(BLOCK - 1));
            }
            // a descriptor that is not open: that request fails, the next works
            e.prepare(0, false, 1_000_000, Pointer.nativeValue(iov), 1, 0);
            e.submit();
            assertEquals(-EBADF, reapAll(e, done, 1).get(0));
            e.prepare(1, false, fd, Pointer.nativeValue(iov) + 16, 1, BLOCK);
            e.submit();
            assertEquals(BLOCK, reapAll(e, done, 1).get(1));
        } finally {
            FileOps.close(fd);
        }
        byte[] disk = Files.readAllBytes(file);
        byte[] block = new byte[BLOCK];
        java.util.Arrays.fill(block, (byte) REQUESTS);
        assertArrayEquals(block, java.util.Arrays.copyOfRange(disk, (REQUESTS - 1) * BLOCK, REQUESTS * BLOCK));
        assertTrue(disk[0] == 1);
    }
}
