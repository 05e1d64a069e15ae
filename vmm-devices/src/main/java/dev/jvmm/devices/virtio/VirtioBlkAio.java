package dev.jvmm.devices.virtio;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.jvmm.core.block.AioEngine;
import dev.jvmm.core.block.BlockBackend;
import dev.jvmm.core.block.HostIoException;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.os.EventFd;

/**
 * Virtio 1.1, section 5.2.6: virtio-blk reads and writes in flight at once, as QEMU's virtio_blk_submit_multireq
 * hands them to blk_aio_preadv/pwritev (hw/block/virtio-blk.c). A popped chain becomes an iovec list straight into
 * guest RAM in a preallocated slot (one per possible chain: queues x queue size), goes to the drive's
 * {@link AioEngine} (aio=threads, native or io_uring), and completes - status byte, used ring, interrupt - on the
 * device thread when the engine reports it. Submissions are batched per queue drain (QEMU's blk_io_plug).
 *
 * <p>Chains with more data segments than a slot holds, or buffers not aligned as the drive's O_DIRECT descriptor
 * needs, take the synchronous path instead (QEMU bounces those).
 */
final class VirtioBlkAio implements AioEngine.Sink {
    /** Data segments one slot carries. */
    static final int MAX_SEGMENTS = 16;
    /** struct iovec: iov_base, iov_len. */
    private static final int IOVEC_SIZE = 16;
    private static final int DRAIN_POLL_MS = 100;

    /** What the device does with a finished request. */
    interface Completion {
        /** The request succeeded (status OK) or failed with error (the device applies werror/rerror). */
        void finished(VirtQueue queue, DescriptorChain chain, boolean write, HostIoException error);
    }

    /** One request's state while the engine has it. */
    private static final class Slot {
        final DescriptorChain chain = new DescriptorChain(MAX_SEGMENTS + 2);
        VirtQueue queue;
        boolean write;
        long offset;
        long bytes;
        long start;
        /** Guest addresses and lengths of the data segments, for zero-filling a short read. */
        final long[] gpa = new long[MAX_SEGMENTS];
        final int[] len = new int[MAX_SEGMENTS];
        int segments;
    }

    private final BlockBackend backend;
    private final GuestMemory mem;
    private final Completion completion;
    private final String name;
    private final int capacity;
    private final EventFd done = new EventFd();
    private final Slot[] slots;
    private final int[] free;
    private int freeCount;
    private final boolean[] touched;
    private final VirtQueue[] touchedQueue;
    private AioEngine engine;
    /** The engine could not start (io_uring refused by the kernel, AIO limits): every request runs synchronously. */
    private boolean unavailable;
    private Memory iovecs;
    private boolean prepared;
    /** Inside the engine's reap: a completion that runs a request again must not reap (or drain) in turn. */
    private boolean reaping;
    private EventPoller drainPoller;

    VirtioBlkAio(BlockBackend backend, GuestMemory mem, int queues, int queueSize, String name,
                 Completion completion) {
        this.backend = backend;
        this.mem = mem;
        this.completion = completion;
        this.name = name;
        this.capacity = queues * queueSize;
        this.slots = new Slot[capacity];
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
        }
        freeCount = capacity;
        touched = new boolean[queues];
        touchedQueue = new VirtQueue[queues];
    }

    /** Readable when the engine has results. */
    EventFd completions() {
        return done;
    }

    /**
     * Hands a read (the writable data segments, bytes long) or a write (the readable segments after the skip-byte
     * header) at offset to the engine; false when it must run synchronously instead.
     */
    boolean submit(VirtQueue q, DescriptorChain c, boolean write, long offset, long bytes, int headerSkip) {
        BlockBackend.AioTarget target = backend.aioTarget();
        if (target == null || freeCount == 0 || unavailable || !started()) {
            return false;
        }
        int align = target.alignment();
        int tag = free[freeCount - 1];
        Slot s = slots[tag];
        if (s == null) {
            s = slots[tag] = new Slot();
        }
        if (iovecs == null) {
            iovecs = new Memory((long) capacity * MAX_SEGMENTS * IOVEC_SIZE);
        }
        long iov = (long) tag * MAX_SEGMENTS * IOVEC_SIZE;
        int n = 0;
        long skip = write ? headerSkip : 0;
        long remaining = bytes;
        int from = write ? 0 : c.readableSegments();
        int to = write ? c.readableSegments() : c.segments();
        for (int i = from; i < to && remaining > 0; i++) {
            long l = c.length(i);
            if (skip >= l) {
                skip -= l;
                continue;
            }
            long gpa = c.address(i) + skip;
            long part = Math.min(l - skip, remaining);
            skip = 0;
            long host = mem.hostAddress(gpa, part);
            if (n == MAX_SEGMENTS || host < 0 || (host % align) != 0 || (part % align) != 0) {
                return false;
            }
            iovecs.setLong(iov + (long) n * IOVEC_SIZE, host);
            iovecs.setLong(iov + (long) n * IOVEC_SIZE + 8, part);
            s.gpa[n] = gpa;
            s.len[n] = (int) part;
            n++;
            remaining -= part;
        }
        if (n == 0 || offset % align != 0) {
            return false;
        }
        freeCount--;
        c.copyInto(s.chain);
        s.queue = q;
        s.write = write;
        s.offset = offset;
        s.bytes = bytes;
        s.segments = n;
        s.start = backend.aioBegin();
        engine().prepare(tag, write, target.fd(), Pointer.nativeValue(iovecs) + iov, n, offset);
        prepared = true;
        return true;
    }

    /** Starts the engine on the first request; false (for good) when the host refuses it. */
    private boolean started() {
        if (engine == null) {
            try {
                engine = AioEngine.open(backend.aio(), capacity, name, done);
            } catch (RuntimeException | LinkageError e) {
                unavailable = true;
                return false;
            }
        }
        return true;
    }

    private AioEngine engine() {
        return engine;
    }

    /** Submits what this queue drain prepared. */
    void unplug() {
        if (prepared) {
            prepared = false;
            engine.submit();
        }
    }

    boolean idle() {
        return engine == null || engine.inFlight() == 0;
    }

    /** Completes every finished request and sends each touched queue's interrupt once (device thread). */
    void reap(VirtioHost host) {
        if (engine == null || reaping) {
            return;
        }
        reaping = true;
        try {
            engine.reap(this);
        } finally {
            reaping = false;
        }
        for (int i = 0; i < touched.length; i++) {
            if (touched[i]) {
                touched[i] = false;
                host.notifyUsed(touchedQueue[i]);
            }
        }
    }

    @Override
    public void done(int tag, long result) {
        Slot s = slots[tag];
        int errno = 0;
        if (result < 0) {
            errno = (int) -result;
        } else if (result < s.bytes) {
            if (s.write) {
                errno = HostIoException.ENOSPC; // QEMU's file-posix: a short write is out of space
            } else {
                zeroFrom(s, result); // a short read ends at end of file, which reads as zeroes
            }
        }
        backend.aioEnd(s.write ? BlockBackend.Operation.WRITE : BlockBackend.Operation.READ, s.offset, s.bytes,
                s.start, errno);
        free[freeCount++] = tag;
        VirtQueue q = s.queue;
        s.queue = null;
        touched[q.index()] = true;
        touchedQueue[q.index()] = q;
        completion.finished(q, s.chain, s.write, errno == 0 ? null : new HostIoException(errno));
    }

    private void zeroFrom(Slot s, long got) {
        long skip = got;
        for (int i = 0; i < s.segments; i++) {
            if (skip >= s.len[i]) {
                skip -= s.len[i];
                continue;
            }
            mem.zero(s.gpa[i] + skip, s.len[i] - skip);
            skip = 0;
        }
    }

    /**
     * Waits for every request in flight and completes it (reset, save, close and flush barriers: QEMU's
     * blk_drain). Runs on the device thread or on a thread that quiesced it.
     */
    void drain(VirtioHost host) {
        unplug();
        while (!reaping && !idle()) {
            if (drainPoller == null) {
                drainPoller = new EventPoller(new EventFd[] {done});
            }
            drainPoller.await(DRAIN_POLL_MS);
            reap(host);
        }
    }

    void close() {
        if (engine != null) {
            engine.close();
        }
        done.close();
    }
}
