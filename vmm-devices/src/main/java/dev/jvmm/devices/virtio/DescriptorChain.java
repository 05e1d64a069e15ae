package dev.jvmm.devices.virtio;

import dev.jvmm.core.memory.GuestMemory;

/**
 * Virtio 1.1, section 2.6.4: one available buffer, its descriptor chain flattened into segments: the
 * device-readable ones first, then the device-writable ones (the order the spec requires). Every segment
 * has been checked to lie inside guest RAM. A queue reuses one instance for every chain it pops;
 * {@link #copy()} keeps one beyond that (a request held for retry).
 */
public final class DescriptorChain {
    private final long[] addr;
    private final int[] len;
    private int head;
    private int readable;
    private int count;

    DescriptorChain(int capacity) {
        addr = new long[capacity];
        len = new int[capacity];
    }

    void clear(int head) {
        this.head = head;
        readable = 0;
        count = 0;
    }

    /** Appends a segment; false when the chain already holds capacity segments. */
    boolean add(long address, int length, boolean writable) {
        if (count == addr.length) {
            return false;
        }
        addr[count] = address;
        len[count] = length;
        count++;
        if (!writable) {
            readable++;
        }
        return true;
    }

    /** The head descriptor index, the id the used ring reports. */
    public int head() {
        return head;
    }

    public int segments() {
        return count;
    }

    /** Segments 0 .. readableSegments()-1 are device-readable, the rest device-writable. */
    public int readableSegments() {
        return readable;
    }

    public int writableSegments() {
        return count - readable;
    }

    public long address(int i) {
        return addr[i];
    }

    /** Segment length in bytes (1 to 2^32-1, unsigned). */
    public long length(int i) {
        return len[i] & 0xffff_ffffL;
    }

    /** Total bytes of the device-readable segments. */
    public long readableBytes() {
        long n = 0;
        for (int i = 0; i < readable; i++) {
            n += length(i);
        }
        return n;
    }

    /** Total bytes of the device-writable segments. */
    public long writableBytes() {
        long n = 0;
        for (int i = readable; i < count; i++) {
            n += length(i);
        }
        return n;
    }

    /**
     * Copies up to length bytes of the device-readable stream, starting at byte offset of that stream, into
     * dst; returns how many bytes there were (QEMU's iov_to_buf).
     */
    public int readFromReadable(GuestMemory mem, long offset, byte[] dst, int length) {
        int done = 0;
        long skip = offset;
        for (int i = 0; i < readable && done < length; i++) {
            long l = length(i);
            if (skip >= l) {
                skip -= l;
                continue;
            }
            int n = (int) Math.min(l - skip, length - done);
            mem.read(addr[i] + skip, dst, done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /** Copies src into the device-writable stream from its start; returns how many bytes fit. */
    public int writeToWritable(GuestMemory mem, byte[] src, int length) {
        int done = 0;
        for (int i = readable; i < count && done < length; i++) {
            int n = (int) Math.min(length(i), length - done);
            mem.write(addr[i], src, done, n);
            done += n;
        }
        return done;
    }

    /** Copies this chain into dst, whose capacity must hold it (a request slot's own chain, no allocation). */
    void copyInto(DescriptorChain dst) {
        dst.head = head;
        dst.readable = readable;
        dst.count = count;
        System.arraycopy(addr, 0, dst.addr, 0, count);
        System.arraycopy(len, 0, dst.len, 0, count);
    }

    /** A private copy, for a request kept past the next pop. */
    public DescriptorChain copy() {
        DescriptorChain c = new DescriptorChain(count);
        c.head = head;
        c.readable = readable;
        c.count = count;
        System.arraycopy(addr, 0, c.addr, 0, count);
        System.arraycopy(len, 0, c.len, 0, count);
        return c;
    }
}
