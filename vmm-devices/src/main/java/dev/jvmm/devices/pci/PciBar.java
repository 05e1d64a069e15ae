package dev.jvmm.devices.pci;

import dev.jvmm.core.io.IoHandler;

/**
 * PCI Local Bus Specification 3.0, section 6.2.5.1: one base address register of a function, with the
 * handler that serves the range wherever the guest (or {@link PciBus#assignResources()}) places it.
 *
 * @param index    BAR number 0-5 (a 64-bit BAR also occupies index + 1), or {@link #ROM_SLOT} for the
 *                 expansion ROM
 * @param kind     I/O, 32-bit memory, 64-bit memory or the expansion ROM (section 6.2.5.2)
 * @param size     power of two, at least 4 for I/O and 16 for memory (any power of two for a ROM, as QEMU
 *                 sizes it from the file)
 * @param prefetch prefetchable memory (memory BARs only)
 * @param handler  serves accesses; offsets are relative to the BAR's base
 */
public record PciBar(int index, Kind kind, long size, boolean prefetch, IoHandler handler) {
    /**
     * Section 6.2.5.2: the expansion ROM base address register, at configuration offset 0x30; QEMU's
     * PCI_ROM_SLOT, the index after the six BARs.
     */
    public static final int ROM_SLOT = 6;
    /** The largest ROM QEMU takes (pci_add_option_rom: "size cannot exceed 2 GiB"). */
    public static final long ROM_MAX = 0x8000_0000L;

    public enum Kind { IO, MEMORY32, MEMORY64, ROM }

    public PciBar {
        if (kind == Kind.ROM) {
            checkRom(index, size, prefetch);
        } else {
            checkBar(index, kind, size, prefetch);
        }
    }

    private static void checkRom(int index, long size, boolean prefetch) {
        if (index != ROM_SLOT || size < 1 || Long.bitCount(size) != 1 || size > ROM_MAX || prefetch) {
            throw new IllegalArgumentException("bad ROM BAR " + index + " of size " + size);
        }
    }

    private static void checkBar(int index, Kind kind, long size, boolean prefetch) {
        int last = kind == Kind.MEMORY64 ? 4 : 5;
        if (index < 0 || index > last) {
            throw new IllegalArgumentException("bad BAR index " + index + " for " + kind);
        }
        long min = kind == Kind.IO ? 4 : 16;
        if (size < min || Long.bitCount(size) != 1 || (kind == Kind.IO && size > 0x10000)
                || (kind == Kind.MEMORY32 && size > 0x8000_0000L)) {
            throw new IllegalArgumentException("bad BAR size " + size + " for " + kind);
        }
        if (prefetch && kind == Kind.IO) {
            throw new IllegalArgumentException("an I/O BAR cannot be prefetchable");
        }
    }

    public boolean isIo() {
        return kind == Kind.IO;
    }

    public boolean isRom() {
        return kind == Kind.ROM;
    }

    /** The configuration-space offset of this BAR's register. */
    public int configOffset() {
        return kind == Kind.ROM ? PciConfigSpace.ROM_ADDRESS : PciConfigSpace.BAR0 + 4 * index;
    }
}
