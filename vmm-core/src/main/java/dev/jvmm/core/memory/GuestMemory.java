package dev.jvmm.core.memory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.LibC;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Guest RAM: one anonymous host mapping (MAP_NORESERVE) holding every {@link RamRange} back to back.
 * Accessors are little-endian and bounds-checked; an access outside RAM throws {@link GuestMemoryException}.
 * Safe for concurrent use: it holds no mutable Java state once built.
 */
public final class GuestMemory implements AutoCloseable {
    private static final int CHUNK_SHIFT = 30;
    private static final long CHUNK_SIZE = 1L << CHUNK_SHIFT;

    private final List<RamRange> ranges;
    private final long[] hostOffsets;
    private final Pointer base;
    private final long totalSize;
    /** Host mapping viewed as 1 GiB little-endian windows; ByteBuffer indices are int-sized. */
    private final ByteBuffer[] chunks;

    /** Whether the kernel took MADV_HUGEPAGE for the mapping (transparent huge pages may back it). */
    private final boolean hugePages;

    private GuestMemory(List<RamRange> ranges, Pointer base, long totalSize, boolean hugePages) {
        this.hugePages = hugePages;
        this.ranges = List.copyOf(ranges);
        this.base = base;
        this.totalSize = totalSize;
        this.hostOffsets = new long[ranges.size()];
        long off = 0;
        for (int i = 0; i < ranges.size(); i++) {
            hostOffsets[i] = off;
            off += ranges.get(i).size();
        }
        int n = (int) ((totalSize + CHUNK_SIZE - 1) >>> CHUNK_SHIFT);
        chunks = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            long start = (long) i << CHUNK_SHIFT;
            long len = Math.min(CHUNK_SIZE, totalSize - start);
            chunks[i] = base.getByteBuffer(start, len).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static final long HUGE_PAGE = 2L << 20;

    /** Maps anonymous memory for the given guest ranges (sorted, non-overlapping). */
    public static GuestMemory allocate(List<RamRange> ranges) {
        return allocate(ranges, false, -1);
    }

    /**
     * Maps the guest ranges from a memory backend: private anonymous memory, shared anonymous memory
     * (share=on), or the file fd from offset 0, shared (a memfd, a file with share=on) or copy-on-write. The mapping holds its own
     * reference to the file, so the caller may close fd afterwards.
     */
    public static GuestMemory allocate(List<RamRange> ranges, boolean shared, int fd) {
        long total = 0;
        long prevEnd = -1;
        for (RamRange r : ranges) {
            if (r.guestAddress() < prevEnd) {
                throw new IllegalArgumentException("RAM ranges overlap or are unsorted: " + ranges);
            }
            prevEnd = r.end();
            total += r.size();
        }
        Pointer p;
        try {
            // Over-map by one huge page and trim, so the RAM starts 2 MiB-aligned and transparent huge pages
            // can back it (as QEMU aligns and madvises its RAM): fewer faults and cheaper page pinning for
            // O_DIRECT disk I/O straight into guest memory.
            long mapped = total + HUGE_PAGE;
            Pointer raw = LibC.mmap(null, mapped, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
            long start = Pointer.nativeValue(raw);
            long aligned = (start + HUGE_PAGE - 1) & -HUGE_PAGE;
            if (aligned > start) {
                LibC.munmap(raw, aligned - start);
            }
            long tail = start + mapped - (aligned + total);
            if (tail > 0) {
                LibC.munmap(new Pointer(aligned + total), tail);
            }
            p = new Pointer(aligned);
            if (shared || fd >= 0) {
                // Replaces the aligned private pages in place, so the shared mapping keeps the alignment.
                LibC.mmap(p, total, LibC.PROT_READ | LibC.PROT_WRITE, (shared ? LibC.MAP_SHARED : LibC.MAP_PRIVATE)
                        | LibC.MAP_FIXED | (fd >= 0 ? 0 : LibC.MAP_ANONYMOUS) | LibC.MAP_NORESERVE, fd, 0);
            }
        } catch (LastErrorException e) {
            throw new IllegalStateException("cannot map " + (total >> 20) + " MiB of guest RAM: "
                    + LibC.describe(e.getErrorCode()), e);
        }
        boolean huge = true;
        try {
            LibC.madvise(p, total, LibC.MADV_HUGEPAGE);
        } catch (LastErrorException e) {
            // Kernels without transparent huge pages refuse the advice; small pages work the same, only slower.
            huge = false;
        }
        return new GuestMemory(ranges, p, total, huge);
    }

    /**
     * Populates every page before the guest runs (a backend's prealloc=on): the given madvise advice
     * (MADV_POPULATE_WRITE), or a write to each page where the kernel lacks it.
     */
    public void populate(int populateAdvice) {
        try {
            LibC.madvise(base, totalSize, populateAdvice);
        } catch (LastErrorException e) {
            for (long off = 0; off < totalSize; off += HOST_PAGE) {
                base.setByte(off, base.getByte(off));
            }
        }
    }

    /**
     * QEMU's mem-merge and dump-guest-core for all of guest RAM: MADV_MERGEABLE offers the pages to KSM, and
     * MADV_DONTDUMP keeps them out of a core dump of jvmm. A kernel built without KSM refuses MADV_MERGEABLE;
     * as in QEMU, the RAM then stays unmerged and nothing else changes.
     */
    public void adviseHost(boolean mergeable, boolean dumpable) {
        if (mergeable) {
            try {
                LibC.madvise(base, totalSize, LibC.MADV_MERGEABLE);
            } catch (LastErrorException e) {
                // no KSM in this kernel
            }
        }
        if (!dumpable) {
            LibC.madvise(base, totalSize, LibC.MADV_DONTDUMP);
        }
    }

    public List<RamRange> ranges() {
        return ranges;
    }

    public long totalSize() {
        return totalSize;
    }

    /** Host virtual address of the start of a RAM range, for KVM_SET_USER_MEMORY_REGION. */
    public long hostAddress(int rangeIndex) {
        return Pointer.nativeValue(base) + hostOffsets[rangeIndex];
    }

    /**
     * Host virtual address of gpa when [gpa, gpa+length) lies inside one RAM range, else -1: what an iovec for
     * host I/O straight into guest RAM holds.
     */
    public long hostAddress(long gpa, long length) {
        long off = hostOffset(gpa, length);
        return off < 0 ? -1 : Pointer.nativeValue(base) + off;
    }

    /** True if [gpa, gpa+length) lies inside one RAM range. */
    public boolean contains(long gpa, long length) {
        return hostOffset(gpa, length) >= 0;
    }

    /** Offset into the host mapping of gpa, or -1 when [gpa, gpa+length) is not inside one range. */
    private long hostOffset(long gpa, long length) {
        for (int i = 0; i < hostOffsets.length; i++) {
            RamRange r = ranges.get(i);
            if (r.contains(gpa, length)) {
                return hostOffsets[i] + (gpa - r.guestAddress());
            }
        }
        return -1;
    }

    private long checked(long gpa, long length) {
        long off = hostOffset(gpa, length);
        if (off < 0) {
            throw new GuestMemoryException(gpa, length);
        }
        return off;
    }

    private ByteBuffer chunk(long off) {
        return chunks[(int) (off >>> CHUNK_SHIFT)];
    }

    private static int index(long off) {
        return (int) (off & (CHUNK_SIZE - 1));
    }

    private static boolean crossesChunk(long off, int size) {
        return (off >>> CHUNK_SHIFT) != ((off + size - 1) >>> CHUNK_SHIFT);
    }

    public byte readByte(long gpa) {
        long off = checked(gpa, 1);
        return chunk(off).get(index(off));
    }

    public short readShort(long gpa) {
        long off = checked(gpa, 2);
        return crossesChunk(off, 2) ? (short) readSlow(off, 2) : chunk(off).getShort(index(off));
    }

    public int readInt(long gpa) {
        long off = checked(gpa, 4);
        return crossesChunk(off, 4) ? (int) readSlow(off, 4) : chunk(off).getInt(index(off));
    }

    public long readLong(long gpa) {
        long off = checked(gpa, 8);
        return crossesChunk(off, 8) ? readSlow(off, 8) : chunk(off).getLong(index(off));
    }

    public void writeByte(long gpa, byte v) {
        long off = checked(gpa, 1);
        chunk(off).put(index(off), v);
    }

    public void writeShort(long gpa, short v) {
        long off = checked(gpa, 2);
        if (crossesChunk(off, 2)) {
            writeSlow(off, 2, v);
        } else {
            chunk(off).putShort(index(off), v);
        }
    }

    public void writeInt(long gpa, int v) {
        long off = checked(gpa, 4);
        if (crossesChunk(off, 4)) {
            writeSlow(off, 4, v);
        } else {
            chunk(off).putInt(index(off), v);
        }
    }

    public void writeLong(long gpa, long v) {
        long off = checked(gpa, 8);
        if (crossesChunk(off, 8)) {
            writeSlow(off, 8, v);
        } else {
            chunk(off).putLong(index(off), v);
        }
    }

    private long readSlow(long off, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (chunk(off + i).get(index(off + i)) & 0xffL) << (8 * i);
        }
        return v;
    }

    private void writeSlow(long off, int size, long v) {
        for (int i = 0; i < size; i++) {
            chunk(off + i).put(index(off + i), (byte) (v >>> (8 * i)));
        }
    }

    public void read(long gpa, byte[] dst, int dstOffset, int length) {
        long off = checked(gpa, length);
        base.read(off, dst, dstOffset, length);
    }

    public void write(long gpa, byte[] src, int srcOffset, int length) {
        long off = checked(gpa, length);
        base.write(off, src, srcOffset, length);
    }

    /** Fills [gpa, gpa+length) with zeroes. */
    public void zero(long gpa, long length) {
        long off = checked(gpa, length);
        base.setMemory(off, length, (byte) 0);
    }

    /** Host page size the mapping is discarded in (x86-64). */
    public static final long HOST_PAGE = 4096;

    /**
     * Gives [gpa, gpa+length) back to the host (madvise MADV_DONTNEED, as QEMU's ram_block_discard_range does
     * for anonymous RAM): the pages leave the process's RSS and read as zeroes when next touched. Both ends
     * must be host-page aligned and the range inside one RAM range. Inside a transparent huge page this splits
     * the huge mapping; the memory is freed once every small page of it is discarded (or by the kernel's
     * deferred split). Returns false if the kernel refused (nothing is lost: the range simply stays).
     */
    public boolean discard(long gpa, long length) {
        if (((gpa | length) & (HOST_PAGE - 1)) != 0) {
            throw new IllegalArgumentException("discard of an unaligned range " + Long.toHexString(gpa) + "+"
                    + Long.toHexString(length));
        }
        long off = checked(gpa, length);
        try {
            LibC.madvise(base.share(off), length, LibC.MADV_DONTNEED);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    /** Size of a transparent huge page (x86-64 PMD), the unit of {@link #adviseHugePages}. */
    public static final long HUGE_PAGE_SIZE = HUGE_PAGE;

    /**
     * Advises whether the huge-page-sized block of the host mapping holding gpa may be backed by transparent
     * huge pages (MADV_HUGEPAGE) or not (MADV_NOHUGEPAGE). The balloon marks blocks it holds pages of, so that
     * khugepaged does not collapse them back into huge pages and fill the discarded pages again. The block
     * is clipped to gpa's RAM range. Returns false when the mapping has no huge pages or the kernel refused
     * (e.g. at its limit of mappings); the advice is only an optimisation either way.
     */
    public boolean adviseHugePages(long gpa, boolean huge) {
        if (!hugePages) {
            return false;
        }
        for (int i = 0; i < hostOffsets.length; i++) {
            RamRange r = ranges.get(i);
            if (r.contains(gpa, 1)) {
                long off = hostOffsets[i] + (gpa - r.guestAddress());
                long start = Math.max(off & -HUGE_PAGE, hostOffsets[i]);
                long end = Math.min((off & -HUGE_PAGE) + HUGE_PAGE, hostOffsets[i] + r.size());
                try {
                    LibC.madvise(base.share(start), end - start, huge ? LibC.MADV_HUGEPAGE : LibC.MADV_NOHUGEPAGE);
                    return true;
                } catch (LastErrorException e) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * A little-endian view of [gpa, gpa+length) that reads and writes guest RAM directly, for block I/O
     * straight into guest memory.
     */
    public ByteBuffer slice(long gpa, int length) {
        long off = checked(gpa, length);
        return base.getByteBuffer(off, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() {
        try {
            LibC.munmap(base, totalSize);
        } catch (LastErrorException ignored) {
            // Unmapping only fails for bad arguments, which cannot happen here; nothing to recover.
        }
    }
}
