package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.RamRange;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a PC's RAM lives: the first {@code belowFourG} bytes from address 0, the rest from 4 GiB; and the e820
 * map the firmware would report (EBDA and BIOS area reserved). {@link #pc} splits the RAM as QEMU 7.2's pc
 * machine does (hw/i386/pc_piix.c, pc_init1).
 *
 * @param ramSize    all guest RAM in bytes
 * @param belowFourG RAM below 4 GiB, from address 0
 */
public record MemoryLayout(long ramSize, long belowFourG) {
    /** QEMU's default max-ram-below-4g: the traditional 3.5 GiB split. */
    public static final long DEFAULT_MAX_RAM_BELOW_4G = 0xE0000000L;
    /** Where QEMU's gigabyte-aligned split puts the end of low RAM once RAM reaches max-ram-below-4g. */
    public static final long GIGABYTE_ALIGNED_SPLIT = 0xC0000000L;
    public static final long GIB = 1L << 30;
    public static final long HIGH_RAM_START = 0x100000000L;
    public static final long EBDA_START = 0x9fc00;
    public static final long VGA_START = 0xa0000;
    public static final long BIOS_START = 0xf0000;
    public static final long HIGH_MEMORY = 0x100000;
    /** The least RAM below 4 GiB jvmm boots with: the first MiB and room for a kernel at 1 MiB. */
    public static final long MIN_BELOW_4G = 2 * HIGH_MEMORY;
    /** The IOAPIC's page, where QEMU's 32-bit PCI window ends; low RAM must stay below it. */
    public static final long IOAPIC_ADDRESS = 0xfec00000L;

    public MemoryLayout {
        if (ramSize < MIN_BELOW_4G) {
            throw new IllegalArgumentException("RAM size " + ramSize + " is below the 2 MiB minimum");
        }
        if (belowFourG < MIN_BELOW_4G || belowFourG > ramSize || belowFourG > IOAPIC_ADDRESS) {
            throw new IllegalArgumentException("RAM below 4 GiB " + belowFourG + " is outside 2 MiB..min(RAM, "
                    + "0xfec00000)");
        }
    }

    /** QEMU's default split of ramSize bytes. */
    public MemoryLayout(long ramSize) {
        this(ramSize, pcBelowFourG(ramSize, 0));
    }

    /** The layout of QEMU's pc machine for ramSize bytes and max-ram-below-4g (0 for the default). */
    public static MemoryLayout pc(long ramSize, long maxRamBelow4g) {
        return new MemoryLayout(ramSize, pcBelowFourG(ramSize, maxRamBelow4g));
    }

    /**
     * QEMU 7.2 pc_init1: low RAM ends at max-ram-below-4g (3.5 GiB by default); once RAM reaches that, the split
     * moves down to 3 GiB if it was above, so that high RAM starts gigabyte-aligned.
     */
    public static long pcBelowFourG(long ramSize, long maxRamBelow4g) {
        long max = maxRamBelow4g == 0 ? DEFAULT_MAX_RAM_BELOW_4G : maxRamBelow4g;
        long lowmem = max;
        if (ramSize >= max && lowmem > GIGABYTE_ALIGNED_SPLIT) {
            lowmem = GIGABYTE_ALIGNED_SPLIT;
        }
        return Math.min(ramSize, lowmem);
    }

    /** Whether QEMU warns "Large machine and max_ram_below_4g (...) not a multiple of 1G". */
    public static boolean splitNotGigabyteAligned(long ramSize, long maxRamBelow4g) {
        long max = maxRamBelow4g == 0 ? DEFAULT_MAX_RAM_BELOW_4G : maxRamBelow4g;
        return ramSize >= max && (Math.min(max, GIGABYTE_ALIGNED_SPLIT) & (GIB - 1)) != 0;
    }

    /** End of RAM below 4 GiB (exclusive). */
    public long lowRamEnd() {
        return belowFourG;
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
