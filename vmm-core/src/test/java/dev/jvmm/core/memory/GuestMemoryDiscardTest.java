package dev.jvmm.core.memory;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GuestMemory.discard: pages read back as zeroes, leave the RSS, and bad ranges are refused. */
class GuestMemoryDiscardTest {
    private static final long MIB = 1 << 20;

    @Test
    void discardedPagesReadAsZeroAndNeighboursSurvive() {
        try (GuestMemory m = GuestMemory.allocate(List.of(new RamRange(0, 4 * MIB), new RamRange(16 * MIB, MIB)))) {
            for (long a = 0; a < 4 * MIB; a += 4096) {
                m.writeLong(a, a + 1);
            }
            m.writeLong(16 * MIB, 77);
            assertTrue(m.discard(8192, 4096));
            assertTrue(m.discard(16 * MIB, 4096));
            assertEquals(0, m.readLong(8192));
            assertEquals(4097, m.readLong(4096));
            assertEquals(12289, m.readLong(12288));
            assertEquals(0, m.readLong(16 * MIB));
            // the page is usable again after a discard
            m.writeLong(8192, 5);
            assertEquals(5, m.readLong(8192));
        }
    }

    @Test
    void badRangesAreRefused() {
        try (GuestMemory m = GuestMemory.allocate(List.of(new RamRange(0, MIB)))) {
            assertThrows(IllegalArgumentException.class, () -> m.discard(100, 4096));
            assertThrows(IllegalArgumentException.class, () -> m.discard(4096, 100));
            assertThrows(GuestMemoryException.class, () -> m.discard(MIB, 4096));
            assertThrows(GuestMemoryException.class, () -> m.discard(MIB - 4096, 8192));
        }
    }

    /** The point of a balloon: 64 MiB touched then discarded leaves the process's resident set. */
    @Test
    void discardLowersRss() throws IOException {
        long size = 64 * MIB;
        try (GuestMemory m = GuestMemory.allocate(List.of(new RamRange(0, size)))) {
            for (long a = 0; a < size; a += 4096) {
                m.writeByte(a, (byte) 1);
            }
            long before = rssKib();
            for (long a = 0; a < size; a += 4096) {
                m.discard(a, 4096); // page by page, as a balloon sees them, across huge pages
            }
            long after = rssKib();
            assertTrue(before - after > 48 * 1024, "RSS " + before + " KiB -> " + after + " KiB");
        }
    }

    static long rssKib() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS");
    }
}
