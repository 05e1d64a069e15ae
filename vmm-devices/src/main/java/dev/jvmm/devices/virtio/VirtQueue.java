package dev.jvmm.devices.virtio;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * Virtio 1.1, section 2.6: one split virtqueue (descriptor table, available ring, used ring at the
 * addresses the driver chose). Rings are mapped once when the driver enables the queue; popping a chain
 * allocates nothing. Anything malformed (a ring or buffer outside RAM, a loop, an index jump, a bad
 * indirect table) is reported once through the failure callback, as QEMU's virtio_error, and the queue
 * then yields nothing more until reset.
 *
 * <p>Register fields are written by the transport under its lock; the ring state belongs to the device
 * thread.
 */
public final class VirtQueue {
    /** Section 2.6.5: this descriptor continues via the next field. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** Section 2.6.5: device-writable buffer. */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** Section 2.6.5.3: the buffer is a table of indirect descriptors. */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    /** Section 2.6.6: the driver wants no interrupt (without EVENT_IDX). */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    /** Section 2.6.8: the device wants no kick (without EVENT_IDX). */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;
    /** Section 4.1.4.3: queue_msix_vector / config_msix_vector value meaning "no vector". */
    public static final int VIRTIO_MSI_NO_VECTOR = 0xffff;
    /** QEMU's VIRTQUEUE_MAX_SIZE: the largest queue, and the most segments one chain may map. */
    public static final int MAX_QUEUE_SIZE = 1024;
    static final int DESC_SIZE = 16;

    private final GuestMemory mem;
    private final int index;
    private final int maxSize;
    private final EventFd kick = new EventFd();
    private final DescriptorChain chain = new DescriptorChain(MAX_QUEUE_SIZE);
    private final Consumer<String> failure;

    // Registers (common configuration, section 4.1.4.3), staged until the driver enables the queue.
    int size;
    long descAddr;
    long driverAddr;
    long deviceAddr;
    boolean enabled;
    int vector = VIRTIO_MSI_NO_VECTOR;

    // Live ring state, valid while enabled. avail and lastAvail are volatile for notifyNeeded, which a vCPU
    // thread calls while the device thread pops.
    private ByteBuffer desc;
    private volatile ByteBuffer avail;
    private ByteBuffer used;
    private int ringSize;
    private boolean eventIdx;
    private volatile int lastAvail;
    private int usedIdx;
    private int signalledUsed;
    private boolean signalledUsedValid;
    private boolean failed;

    VirtQueue(GuestMemory mem, int index, int maxSize, Consumer<String> failure) {
        if (maxSize < 1 || maxSize > MAX_QUEUE_SIZE || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two up to 1024: " + maxSize);
        }
        this.mem = mem;
        this.index = index;
        this.maxSize = maxSize;
        this.failure = failure;
        this.size = maxSize;
    }

    public int index() {
        return index;
    }

    public int maxSize() {
        return maxSize;
    }

    /** The size the driver chose (the maximum until it writes queue_size). */
    public int size() {
        return size;
    }

    public boolean enabled() {
        return enabled;
    }

    /** Signalled on every driver kick (by KVM's ioeventfd, or the notify handler when that is absent). */
    public EventFd kick() {
        return kick;
    }

    /** The chain the last successful {@link #pop()} filled in (reused by the next pop). */
    public DescriptorChain chain() {
        return chain;
    }

    /** Section 2.6: queue reset, back to the power-on registers (size = maximum, no vector). */
    void reset() {
        size = maxSize;
        descAddr = 0;
        driverAddr = 0;
        deviceAddr = 0;
        enabled = false;
        vector = VIRTIO_MSI_NO_VECTOR;
        desc = null;
        avail = null;
        used = null;
        lastAvail = 0;
        usedIdx = 0;
        signalledUsed = 0;
        signalledUsedValid = false;
        failed = false;
    }

    /**
     * The driver wrote 1 to queue_enable: maps the three rings (QEMU's virtio_init_region_cache); a ring
     * outside RAM fails the device. eventIdx is whether VIRTIO_F_EVENT_IDX was negotiated.
     */
    boolean enable(boolean eventIdx) {
        this.eventIdx = eventIdx;
        enabled = true;
        ringSize = size;
        lastAvail = 0;
        usedIdx = 0;
        signalledUsedValid = false;
        failed = false;
        return mapRings();
    }

    /** Maps the three rings of size entries at the registers' addresses; a ring outside RAM fails the queue. */
    private boolean mapRings() {
        int n = size;
        long descLen = (long) DESC_SIZE * n;
        long availLen = 4 + 2L * n + 2;
        long usedLen = 4 + 8L * n + 2;
        if (!mem.contains(descAddr, descLen)) {
            return fail("Cannot map desc");
        }
        if (!mem.contains(driverAddr, availLen)) {
            return fail("Cannot map avail");
        }
        if (!mem.contains(deviceAddr, usedLen)) {
            return fail("Cannot map used");
        }
        desc = mem.slice(descAddr, (int) descLen);
        avail = mem.slice(driverAddr, (int) availLen);
        used = mem.slice(deviceAddr, (int) usedLen);
        return true;
    }

    private boolean fail(String why) {
        if (!failed) {
            failed = true;
            failure.accept(why);
        }
        return false;
    }

    /** True once this queue hit a malformed ring (until reset). */
    public boolean failed() {
        return failed;
    }

    private boolean live() {
        return enabled && !failed && desc != null;
    }

    private int availIdx() {
        int v = avail.getShort(2) & 0xffff;
        VarHandle.acquireFence();
        return v;
    }

    /**
     * Whether a driver notify has to wake the device thread: false only when the available index is where
     * the device has popped to, so the notify brings no buffer the device has not already taken (the
     * device's own pass over the queue re-checks it before sleeping). On a vCPU thread, racing with pops: an
     * index read before a pop only gives true. True also when the ring is not mapped.
     */
    public boolean notifyNeeded() {
        ByteBuffer a = avail;
        return a == null || (a.getShort(2) & 0xffff) != lastAvail;
    }

    /** Section 2.6.6: whether the driver has made no buffer available beyond what was popped. */
    public boolean isEmpty() {
        return !live() || availIdx() == lastAvail;
    }

    /**
     * Section 2.6.7 / 2.6.10: pops the next available chain into {@link #chain()}. False when the ring is
     * empty, or when the chain is malformed (the device is then failed; see the class comment).
     */
    public boolean pop() {
        if (!live()) {
            return false;
        }
        int ai = availIdx();
        int pending = (ai - lastAvail) & 0xffff;
        if (pending == 0) {
            return false;
        }
        if (pending > ringSize) {
            return fail("Guest moved avail index from " + lastAvail + " to " + ai);
        }
        int head = avail.getShort(4 + 2 * (lastAvail & (ringSize - 1))) & 0xffff;
        if (head >= ringSize) {
            return fail("Guest says index " + head + " is available");
        }
        if (!walk(head)) {
            return false;
        }
        lastAvail = (lastAvail + 1) & 0xffff;
        if (eventIdx) {
            setAvailEvent(lastAvail);
        }
        return true;
    }

    /** Follows the chain from head (one level of indirection at most) into {@link #chain}. */
    private boolean walk(int head) {
        chain.clear(head);
        int i = head;
        int max = ringSize;
        long table = -1;
        int visited = 0;
        while (true) {
            long off = (long) DESC_SIZE * i;
            long a;
            int l;
            int flags;
            int next;
            if (table < 0) {
                a = desc.getLong((int) off);
                l = desc.getInt((int) off + 8);
                flags = desc.getShort((int) off + 12) & 0xffff;
                next = desc.getShort((int) off + 14) & 0xffff;
            } else {
                a = mem.readLong(table + off);
                l = mem.readInt(table + off + 8);
                flags = mem.readShort(table + off + 12) & 0xffff;
                next = mem.readShort(table + off + 14) & 0xffff;
            }
            if (++visited > max) {
                return fail("Looped descriptor");
            }
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (table >= 0) {
                    return fail("Indirect descriptor in indirect table");
                }
                if (i != head) {
                    return fail("Indirect descriptor not at the head of a chain");
                }
                long tl = l & 0xffff_ffffL;
                if (tl == 0 || tl % DESC_SIZE != 0) {
                    return fail("Invalid size for indirect buffer table");
                }
                if (tl / DESC_SIZE > MAX_QUEUE_SIZE) {
                    return fail("Indirect buffer table too large");
                }
                if (!mem.contains(a, tl)) {
                    return fail("Cannot map indirect buffer");
                }
                // the head's NEXT is ignored, as QEMU does: the table is the whole chain
                table = a;
                max = (int) (tl / DESC_SIZE);
                visited = 0;
                i = 0;
                continue;
            }
            long len = l & 0xffff_ffffL;
            if (len == 0) {
                return fail("virtio: zero sized buffers are not allowed");
            }
            boolean writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (!writable && chain.writableSegments() > 0) {
                return fail("Incorrect order for descriptors");
            }
            if (!mem.contains(a, len)) {
                return fail("virtio: bogus descriptor or out of resources");
            }
            if (!chain.add(a, l, writable)) {
                return fail("virtio: too many descriptors in one chain");
            }
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                return true;
            }
            if (next >= max) {
                return fail("Desc next is " + next);
            }
            i = next;
        }
    }

    /**
     * Section 2.6.8: returns chain head to the driver with len bytes written. The index store is ordered
     * after the element's (release fence).
     */
    public void push(int head, int len) {
        fill(0, head, len);
        flush(1);
    }

    /**
     * QEMU's virtqueue_fill: writes the used element offset places past the next one without publishing it,
     * so that a buffer spread over several chains (virtio-net's mergeable receive buffers) reaches the
     * driver all at once with {@link #flush}.
     */
    public void fill(int offset, int head, int len) {
        if (!live()) {
            return;
        }
        int slot = (usedIdx + offset) & (ringSize - 1);
        used.putInt(4 + 8 * slot, head);
        used.putInt(8 + 8 * slot, len);
    }

    /** QEMU's virtqueue_flush: publishes count filled elements; the index store is ordered after theirs. */
    public void flush(int count) {
        if (!live()) {
            return;
        }
        VarHandle.releaseFence();
        usedIdx = (usedIdx + count) & 0xffff;
        used.putShort(2, (short) usedIdx);
    }

    /**
     * Section 2.6.7.1 (used_event) and 2.6.6 (NO_INTERRUPT): whether the driver wants an interrupt for what
     * was pushed since the last one (QEMU's virtio_split_should_notify).
     */
    public boolean shouldNotify() {
        if (!live()) {
            return false;
        }
        VarHandle.fullFence();
        if (!eventIdx) {
            return (avail.getShort(0) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
        boolean valid = signalledUsedValid;
        signalledUsedValid = true;
        int old = signalledUsed;
        int now = usedIdx;
        signalledUsed = now;
        int event = avail.getShort(4 + 2 * ringSize) & 0xffff;
        return !valid || needEvent(event, now, old);
    }

    /** Section 2.6.7.2: vring_need_event. */
    static boolean needEvent(int event, int newIdx, int oldIdx) {
        return ((newIdx - event - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }

    /**
     * Section 2.6.7.2 / 2.6.10: asks the driver to kick (enable) or not while the device is already
     * draining the ring. With EVENT_IDX, avail_event is set to the current available index either way.
     */
    public void setNotification(boolean enable) {
        if (!live()) {
            return;
        }
        if (eventIdx) {
            setAvailEvent(availIdx());
        } else {
            int flags = used.getShort(0) & 0xffff;
            flags = enable ? flags & ~VIRTQ_USED_F_NO_NOTIFY : flags | VIRTQ_USED_F_NO_NOTIFY;
            used.putShort(0, (short) flags);
        }
        if (enable) {
            VarHandle.fullFence();
        }
    }

    private void setAvailEvent(int v) {
        used.putShort(4 + 8 * ringSize, (short) v);
    }

    /** The next used index the device will write (for tests and diagnostics). */
    public int usedIndex() {
        return usedIdx;
    }

    public int lastAvailIndex() {
        return lastAvail;
    }

    void close() {
        kick.close();
    }

    // ---- saved state (the transport calls these with the device thread quiesced)

    /** Registers, ring indices and notification state; the rings themselves are guest RAM. */
    void saveState(StateWriter w) {
        w.begin("queue").u32("max-size", maxSize).u16("size", size).u64("desc", descAddr)
                .u64("driver", driverAddr).u64("device", deviceAddr).bool("enabled", enabled).u16("vector", vector)
                .bool("event-idx", eventIdx).u16("last-avail", lastAvail).u16("used-idx", usedIdx)
                .u16("signalled-used", signalledUsed).bool("signalled-used-valid", signalledUsedValid)
                .bool("failed", failed).end();
    }

    /** The inverse of {@link #saveState}; vectors is the MSI-X table size (a vector must be in it). */
    void loadState(StateReader r, int vectors) throws StateException {
        r.begin("queue", 1);
        r.expectU32("max-size", maxSize);
        int s = r.u16("size");
        if (s == 0 || Integer.bitCount(s) != 1 || s > maxSize) {
            throw r.invalid("size", s + " is not a power of two up to " + maxSize);
        }
        long d = r.u64("desc");
        long a = r.u64("driver");
        long u = r.u64("device");
        boolean en = r.bool("enabled");
        int vec = r.u16("vector");
        if (vec != VIRTIO_MSI_NO_VECTOR && vec >= vectors) {
            throw r.invalid("vector", vec + " is beyond the " + vectors + " MSI-X vectors");
        }
        boolean ei = r.bool("event-idx");
        int la = r.u16("last-avail");
        int ui = r.u16("used-idx");
        if (((la - ui) & 0xffff) > s) {
            throw r.invalid("used-idx", "used index " + ui + " is more than the queue size behind " + la);
        }
        int su = r.u16("signalled-used");
        boolean suv = r.bool("signalled-used-valid");
        boolean f = r.bool("failed");
        r.end();
        reset();
        size = s;
        descAddr = d;
        driverAddr = a;
        deviceAddr = u;
        vector = vec;
        if (en) {
            enabled = true;
            eventIdx = ei;
            ringSize = s;
            lastAvail = la;
            usedIdx = ui;
            signalledUsed = su;
            signalledUsedValid = suv;
            if (f) {
                failed = true; // the device is broken too; it stays so until the driver resets it
            } else if (!mem.contains(d, (long) DESC_SIZE * s) || !mem.contains(a, 4 + 2L * s + 2)
                    || !mem.contains(u, 4 + 8L * s + 2)) {
                throw r.invalid("desc", "an enabled queue's rings lie outside RAM");
            } else {
                mapRings();
            }
        }
    }
}
