package dev.jvmm.devices.pci;

import dev.jvmm.core.io.IoHandler;

/**
 * PCI Local Bus Specification 3.0, section 6.2.5.1: one base address register of a function, with the
 * handler that serves the range wherever the guest (or {@link PciBus#assignResources()}) places it.
 *
 * @param index    BAR number 0-5 (a 64-bit BAR also occupies index + 1)
 * @param kind     I/O, 32-bit memory or 64-bit memory
 * @param size     power of two, at least 4 for I/O and 16 for memory
 * @param prefetch prefetchable memory (memory BARs only)
 * @param handler  serves accesses; offsets are relative to the BAR's base
 */
public record PciBar(int index, Kind kind, long size, boolean prefetch, IoHandler handler) {
    public enum Kind { IO, MEMORY32, MEMORY64 }

    public PciBar {
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
}
