package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.RamRange;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a PC's RAM lives: up to 3 GiB below the PCI hole (0xC000_0000..4 GiB), the rest from 4 GiB;
 * and the e820 map the firmware would report (EBDA and BIOS area reserved).
 */
public record MemoryLayout(long ramSize) {
    public static final long PCI_HOLE_START = 0xC0000000L;
    public static final long HIGH_RAM_START = 0x100000000L;
    public static final long EBDA_START = 0x9fc00;
    public static final long VGA_START = 0xa0000;
    public static final long BIOS_START = 0xf0000;
    public static final long HIGH_MEMORY = 0x100000;

    public MemoryLayout {
        if (ramSize < 2 * HIGH_MEMORY) {
            throw new IllegalArgumentException("RAM size " + ramSize + " is below the 2 MiB minimum");
        }
    }

    /** End of RAM below 4 GiB (exclusive). */
    public long lowRamEnd() {
        return Math.min(ramSize, PCI_HOLE_START);
    }

    public long highRamSize() {
        return ramSize - lowRamEnd();
    }

    /** The ranges to allocate {@link dev.jvmm.core.memory.GuestMemory} with. */
    public List<RamRange> ramRanges() {
        List<RamRange> r = new ArrayList<>();
        r.add(new RamRange(0, lowRamEnd()));
        if (highRamSize() > 0) {
            r.add(new RamRange(HIGH_RAM_START, highRamSize()));
        }
        return r;
    }

    public List<E820Entry> e820() {
        List<E820Entry> e = new ArrayList<>();
        e.add(new E820Entry(0, EBDA_START, E820Entry.E820_RAM));
        e.add(new E820Entry(EBDA_START, VGA_START - EBDA_START, E820Entry.E820_RESERVED));
        e.add(new E820Entry(BIOS_START, HIGH_MEMORY - BIOS_START, E820Entry.E820_RESERVED));
        e.add(new E820Entry(HIGH_MEMORY, lowRamEnd() - HIGH_MEMORY, E820Entry.E820_RAM));
        if (highRamSize() > 0) {
            e.add(new E820Entry(HIGH_RAM_START, highRamSize(), E820Entry.E820_RAM));
        }
        return e;
    }
}
