package dev.jvmm.core.io;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Guest-physical MMIO ranges outside RAM. Lookups binary-search an immutable sorted snapshot, so vCPU
 * threads never take a lock; (un)registration, which is rare, builds a new snapshot.
 * Unassigned addresses read as all ones and ignore writes.
 */
public final class MmioBus {
    private record Mapping(long base, long length, IoHandler handler) {
        long end() {
            return base + length;
        }
    }

    private volatile Mapping[] mappings = new Mapping[0];

    public synchronized void register(long base, long length, IoHandler handler) {
        if (length <= 0 || base < 0 || base + length < base) {
            throw new IllegalArgumentException(String.format("bad MMIO range 0x%x+%d", base, length));
        }
        for (Mapping m : mappings) {
            if (base < m.end() && m.base() < base + length) {
                throw new IllegalStateException(String.format(
                        "MMIO range 0x%x+0x%x overlaps 0x%x+0x%x", base, length, m.base(), m.length()));
            }
        }
        List<Mapping> next = new ArrayList<>(List.of(mappings));
        next.add(new Mapping(base, length, handler));
        next.sort(Comparator.comparingLong(Mapping::base));
        mappings = next.toArray(new Mapping[0]);
    }

    public synchronized void unregister(long base, IoHandler handler) {
        List<Mapping> next = new ArrayList<>(List.of(mappings));
        next.removeIf(m -> m.base() == base && m.handler() == handler);
        mappings = next.toArray(new Mapping[0]);
    }

    private Mapping find(long addr) {
        Mapping[] ms = mappings;
        int lo = 0;
        int hi = ms.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Mapping m = ms[mid];
            if (addr < m.base()) {
                hi = mid - 1;
            } else if (addr >= m.end()) {
                lo = mid + 1;
            } else {
                return m;
            }
        }
        return null;
    }

    public boolean isAssigned(long addr) {
        return find(addr) != null;
    }

    /** A read; an address nothing claims reads as 0, as QEMU's unassigned_mem_read answers. */
    public long read(long addr, int size) {
        Mapping m = find(addr);
        if (m == null) {
            return 0;
        }
        return m.handler().read(addr - m.base(), size);
    }

    public void write(long addr, int size, long value) {
        Mapping m = find(addr);
        if (m != null) {
            m.handler().write(addr - m.base(), size, value);
        }
    }
}
