package dev.jvmm.core.memory;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** GuestMemory.adviseHost: the kernel's VmFlags for the RAM mapping show mem-merge and dump-guest-core. */
class GuestMemoryAdviceTest {
    private static final long MIB = 1 << 20;

    /** The VmFlags line of the mapping starting at addr in /proc/self/smaps. */
    private static String vmFlags(long addr) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        String start = Long.toHexString(addr) + "-";
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(start)) {
                for (int j = i + 1; j < lines.size(); j++) {
                    if (lines.get(j).startsWith("VmFlags:")) {
                        return lines.get(j) + " ";
                    }
                }
            }
        }
        throw new AssertionError("no mapping at 0x" + Long.toHexString(addr));
    }

    @Test
    void dumpGuestCoreOffMarksTheRamDontDump() throws IOException {
        try (GuestMemory m = GuestMemory.allocate(List.of(new RamRange(0, 4 * MIB)))) {
            assertFalse(vmFlags(m.hostAddress(0)).contains(" dd "));
            m.adviseHost(false, false);
            assertTrue(vmFlags(m.hostAddress(0)).contains(" dd "), vmFlags(m.hostAddress(0)));
        }
    }

    @Test
    void memMergeMarksTheRamMergeable() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/sys/kernel/mm/ksm")), "kernel without KSM");
        try (GuestMemory m = GuestMemory.allocate(List.of(new RamRange(0, 4 * MIB)))) {
            assertFalse(vmFlags(m.hostAddress(0)).contains(" mg "));
            m.adviseHost(true, true);
            String flags = vmFlags(m.hostAddress(0));
            assertTrue(flags.contains(" mg "), flags);
            assertFalse(flags.contains(" dd "), flags);
        }
    }
}
