package dev.jvmm.devices.net;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.virtio.DescriptorChain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Virtio 1.1, section 5.1.6.3: the receive buffers a driver posted on one receiveq, popped by the device
 * thread and waiting for frames, oldest first. Only their device-writable segments are kept (a receive
 * buffer's readable part is never used), flattened into rings that grow to the largest set seen, so
 * posting and filling buffers allocates nothing in the steady state. Not thread-safe: {@link VirtioNet}'s
 * lock guards it.
 */
final class RxBuffers {
    private final int capacity;
    private final int[] heads;
    private final int[] segStart;
    private final int[] segCount;
    private final long[] bytes;
    private int first;
    private int count;
    private long totalBytes;
    private long[] segAddr = new long[256];
    private int[] segLen = new int[256];
    private int segFirst;
    private int segUsed;

    /** At most capacity buffers (the queue's size: more would mean the driver reused a head). */
    RxBuffers(int capacity) {
        this.capacity = capacity;
        heads = new int[capacity];
        segStart = new int[capacity];
        segCount = new int[capacity];
        bytes = new long[capacity];
    }

    int count() {
        return count;
    }

    /** Whether the driver has as many buffers out as its queue of size entries can hold. */
    boolean isFull(int size) {
        return count >= Math.min(size, capacity);
    }

    /** Bytes the posted buffers can take, all together (QEMU's virtqueue_avail_bytes, in bytes). */
    long totalBytes() {
        return totalBytes;
    }

    void clear() {
        first = 0;
        count = 0;
        totalBytes = 0;
        segFirst = 0;
        segUsed = 0;
    }

    /** Keeps the writable part of chain (the caller checked {@link #isFull}). */
    void add(DescriptorChain chain) {
        int n = chain.writableSegments();
        ensureSegments(n);
        int slot = (first + count) % capacity;
        int start = (segFirst + segUsed) % segAddr.length;
        long total = 0;
        for (int i = 0; i < n; i++) {
            int s = (start + i) % segAddr.length;
            segAddr[s] = chain.address(chain.readableSegments() + i);
            segLen[s] = (int) chain.length(chain.readableSegments() + i);
            total += chain.length(chain.readableSegments() + i);
        }
        heads[slot] = chain.head();
        segStart[slot] = start;
        segCount[slot] = n;
        bytes[slot] = total;
        segUsed += n;
        count++;
        totalBytes += total;
    }

    private void ensureSegments(int more) {
        if (segUsed + more <= segAddr.length) {
            return;
        }
        int size = segAddr.length;
        while (size < segUsed + more) {
            size *= 2;
        }
        long[] a = new long[size];
        int[] l = new int[size];
        for (int i = 0; i < segUsed; i++) {
            a[i] = segAddr[(segFirst + i) % segAddr.length];
            l[i] = segLen[(segFirst + i) % segAddr.length];
        }
        // entries' segment starts move with the copy
        for (int k = 0; k < count; k++) {
            int slot = (first + k) % capacity;
            segStart[slot] = (segStart[slot] - segFirst + segAddr.length) % segAddr.length;
        }
        segAddr = a;
        segLen = l;
        segFirst = 0;
    }

    /** The head descriptor of the k-th waiting buffer. */
    int head(int k) {
        return heads[(first + k) % capacity];
    }

    /** Writable segments of the k-th waiting buffer. */
    int segments(int k) {
        return segCount[(first + k) % capacity];
    }

    long bytes(int k) {
        return bytes[(first + k) % capacity];
    }

    /**
     * Copies len bytes of src from srcOff into the k-th buffer from byte offset at; returns how many
     * fitted (QEMU's iov_from_buf).
     */
    int write(GuestMemory mem, int k, long at, byte[] src, int srcOff, int len) {
        int slot = (first + k) % capacity;
        int done = 0;
        long skip = at;
        for (int i = 0; i < segCount[slot] && done < len; i++) {
            int s = (segStart[slot] + i) % segAddr.length;
            long l = segLen[s] & 0xffff_ffffL;
            if (skip >= l) {
                skip -= l;
                continue;
            }
            int n = (int) Math.min(l - skip, len - done);
            mem.write(segAddr[s] + skip, src, srcOff + done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /** Drops the n oldest buffers (they went to the used ring). */
    void removeFirst(int n) {
        for (int k = 0; k < n; k++) {
            int slot = first;
            segFirst = (segFirst + segCount[slot]) % segAddr.length;
            segUsed -= segCount[slot];
            totalBytes -= bytes[slot];
            first = (first + 1) % capacity;
            count--;
        }
        if (count == 0) {
            segFirst = 0;
            segUsed = 0;
        }
    }

    void save(StateWriter w) {
        w.begin("buffers", count);
        for (int k = 0; k < count; k++) {
            int slot = (first + k) % capacity;
            ByteBuffer b = ByteBuffer.allocate(12 * segCount[slot]).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < segCount[slot]; i++) {
                int s = (segStart[slot] + i) % segAddr.length;
                b.putLong(segAddr[s]).putInt(segLen[s]);
            }
            w.begin("buffer").u16("head", heads[slot]).bytes("segments", b.array()).end();
        }
        w.end();
    }

    /** Reads what {@link #save} wrote; every segment must be non-empty and inside RAM, heads inside the queue. */
    void load(StateReader r, GuestMemory mem, int queueSize) throws StateException {
        int n = r.begin("buffers");
        if (n > capacity) {
            throw r.invalid("buffers", n + " receive buffers for a queue of " + capacity);
        }
        clear();
        for (int k = 0; k < n; k++) {
            r.begin("buffer", 1);
            int head = r.u16("head");
            byte[] segs = r.bytes("segments");
            r.end();
            if (head >= queueSize) {
                throw r.invalid("head", "descriptor " + head + " is outside the queue of size " + queueSize);
            }
            int m = segs.length / 12;
            if (segs.length % 12 != 0 || m > 1024) {
                throw r.invalid("segments", segs.length + " bytes are not up to 1024 segments");
            }
            ensureSegments(m);
            ByteBuffer b = ByteBuffer.wrap(segs).order(ByteOrder.LITTLE_ENDIAN);
            int slot = (first + count) % capacity;
            int start = (segFirst + segUsed) % segAddr.length;
            long total = 0;
            for (int i = 0; i < m; i++) {
                long a = b.getLong();
                int l = b.getInt();
                if (l == 0 || !mem.contains(a, l & 0xffff_ffffL)) {
                    throw r.invalid("segments", "segment " + i + " is empty or outside RAM");
                }
                int s = (start + i) % segAddr.length;
                segAddr[s] = a;
                segLen[s] = l;
                total += l & 0xffff_ffffL;
            }
            heads[slot] = head;
            segStart[slot] = start;
            segCount[slot] = m;
            bytes[slot] = total;
            segUsed += m;
            count++;
            totalBytes += total;
        }
        r.end();
    }
}
