package dev.jvmm.devices.virtio;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collection;

/**
 * Saved form of popped descriptor chains a device still holds (kept requests, posted receive buffers): the
 * head and the flattened segments, as QEMU's qemu_put_virtqueue_element. A loaded chain is checked as
 * {@link VirtQueue#pop()} checks one: head inside the queue, every segment non-empty and inside RAM,
 * readable segments first.
 */
final class ChainState {
    private ChainState() {
    }

    static void save(StateWriter w, String name, Collection<DescriptorChain> chains) {
        w.begin(name, chains.size());
        for (DescriptorChain c : chains) {
            save(w, c);
        }
        w.end();
    }

    static void save(StateWriter w, DescriptorChain c) {
        ByteBuffer b = ByteBuffer.allocate(12 * c.segments()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < c.segments(); i++) {
            b.putLong(c.address(i)).putInt((int) c.length(i));
        }
        w.begin("chain").u16("head", c.head()).u16("readable", c.readableSegments()).bytes("segments", b.array())
                .end();
    }

    /** Reads a chain popped from queue. */
    static DescriptorChain load(StateReader r, GuestMemory mem, VirtQueue queue) throws StateException {
        r.begin("chain", 1);
        int head = r.u16("head");
        int readable = r.u16("readable");
        byte[] segs = r.bytes("segments");
        r.end();
        if (head >= queue.size()) {
            throw r.invalid("head", "descriptor " + head + " is outside queue " + queue.index() + " of size "
                    + queue.size());
        }
        int n = segs.length / 12;
        if (segs.length % 12 != 0 || n == 0 || n > VirtQueue.MAX_QUEUE_SIZE) {
            throw r.invalid("segments", segs.length + " bytes are not 1 to 1024 segments");
        }
        if (readable > n) {
            throw r.invalid("readable", readable + " of " + n + " segments");
        }
        DescriptorChain c = new DescriptorChain(n);
        c.clear(head);
        ByteBuffer b = ByteBuffer.wrap(segs).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            long a = b.getLong();
            int l = b.getInt();
            if (l == 0 || !mem.contains(a, l & 0xffff_ffffL)) {
                throw r.invalid("segments", "segment " + i + " is empty or outside RAM");
            }
            c.add(a, l, i >= readable);
        }
        return c;
    }
}
