package dev.jvmm.devices.net;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.virtio.DescriptorChain;
import dev.jvmm.devices.virtio.VirtQueue;
import dev.jvmm.devices.virtio.VirtioPciTransport;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * Virtio 1.1, section 5.1.6.3 and 5.1.6.4: virtio-net's receive side, as QEMU 7.2's virtio_net_receive_rcu:
 * the receive buffers each pair's receiveq posted, and frames from the backend copied into them behind the
 * header the guest expects. Buffers are posted on the device thread; frames arrive on backend threads. Both
 * run under the device's lock, which is released before the used-buffer interrupt.
 */
final class VirtioNetReceiver {
    private final VirtioNet n;
    private final RxBuffers[] rx;
    /** Per pair: a frame waits in the NIC's queue, to be flushed once a buffer is posted. */
    private final boolean[] starved;
    private final byte[] header = new byte[VIRTIO_NET_HDR_MRG_RXBUF_LEN];
    private final byte[] numBuffers = new byte[2];
    private final int[] lens = new int[VIRTIO_QUEUE_MAX];
    private byte[] rxScratch = new byte[0];

    VirtioNetReceiver(VirtioNet n, int pairs, int queueSize) {
        this.n = n;
        rx = new RxBuffers[pairs];
        starved = new boolean[pairs];
        for (int i = 0; i < pairs; i++) {
            rx[i] = new RxBuffers(queueSize);
        }
    }

    /**
     * Keeps a buffer the driver posted on pair's receiveq (device thread); true when frames wait for it. A
     * driver posting more buffers than the queue holds breaks the device (QEMU's "Virtqueue size exceeded").
     */
    boolean post(int pair, VirtQueue queue, DescriptorChain chain) {
        synchronized (n.lock) {
            if (rx[pair].isFull(queue.size())) {
                n.host().fail("Virtqueue size exceeded");
                return false;
            }
            rx[pair].add(chain);
            boolean flush = starved[pair];
            starved[pair] = false;
            return flush;
        }
    }

    /** Device reset (lock held): posted buffers are gone; waiting frames go with the next posted buffer. */
    void reset() {
        for (int i = 0; i < rx.length; i++) {
            rx[i].clear();
            starved[i] = true;
        }
    }

    void starveAll() {
        Arrays.fill(starved, true);
    }

    void save(StateWriter w) {
        w.begin("rx", rx.length);
        for (RxBuffers b : rx) {
            b.save(w);
        }
        w.end();
    }

    void load(StateReader r, GuestMemory mem) throws StateException {
        r.begin("rx", rx.length);
        for (int i = 0; i < rx.length; i++) {
            rx[i].load(r, mem, n.host().queue(2 * i).size());
        }
        r.end();
    }

    /** QEMU's virtio_net_can_receive for pair (the net layer holds frames while the machine is stopped). */
    boolean canReceive(int pair) {
        boolean ok;
        synchronized (n.lock) {
            ok = canReceiveLocked(pair);
            if (!ok) {
                starved[pair] = true;
            }
        }
        return ok;
    }

    private boolean canReceiveLocked(int pair) {
        if (n.host() == null || !n.driverOk || pair >= n.currPairs) {
            return false;
        }
        VirtQueue q = n.host().queue(2 * pair);
        return q.enabled() && !q.failed() && !(n.host() instanceof VirtioPciTransport t && t.broken());
    }

    /**
     * QEMU's virtio_net_receive_rcu: 0 while the posted buffers cannot take the frame (it waits in the NIC's
     * queue until the driver posts more), else the frame's length, taken or dropped by the filter.
     */
    int receive(int pair, ByteBuffer frame) {
        int size = frame.remaining();
        VirtQueue rxq;
        synchronized (n.lock) {
            if (!canReceiveLocked(pair) || size < n.hostHdrLen) {
                return size;
            }
            RxBuffers b = rx[pair];
            long need = (long) size + n.guestHdrLen - n.hostHdrLen;
            if (b.count() == 0 || (n.mergeable && b.totalBytes() < need)) {
                starved[pair] = true;
                return 0;
            }
            if (!n.filter.accept(frame, n.hostHdrLen)) {
                return size;
            }
            rxq = n.host().queue(2 * pair);
            int used = fill(b, frame, size);
            if (used <= 0) {
                return size;
            }
            for (int j = 0; j < used; j++) {
                rxq.fill(j, b.head(j), lens[j]);
            }
            rxq.flush(used);
            b.removeFirst(used);
        }
        n.host().notifyUsed(rxq);
        return size;
    }

    /** Copies the frame into posted buffers; the number used, or 0 when it was dropped. */
    private int fill(RxBuffers b, ByteBuffer frame, int size) {
        byte[] src;
        int base;
        if (frame.hasArray()) {
            src = frame.array();
            base = frame.arrayOffset() + frame.position();
        } else {
            src = scratch(size);
            frame.get(frame.position(), src, 0, size);
            base = 0;
        }
        int hhl = n.hostHdrLen;
        Arrays.fill(header, (byte) 0);
        if (hhl > 0) {
            System.arraycopy(src, base, header, 0, VIRTIO_NET_HDR_LEN);
            if (NetChecksum.isDhcpReplyNeedingChecksum(header[0], src, base + hhl, size - hhl)) {
                // QEMU's work_around_broken_dhclient: the checksum is filled in, on a copy of the frame
                if (src != rxScratch) {
                    byte[] copy = scratch(size);
                    System.arraycopy(src, base, copy, 0, size);
                    src = copy;
                    base = 0;
                }
                NetChecksum.calculate(src, base + hhl, size - hhl, NetChecksum.CSUM_UDP);
                header[0] &= ~VIRTIO_NET_HDR_F_NEEDS_CSUM;
            }
        }
        int ghl = n.guestHdrLen;
        GuestMemory mem = n.host().memory();
        boolean mergeable = n.mergeable;
        int offset = hhl;
        int i = 0;
        while (offset < size) {
            if (i == VIRTIO_QUEUE_MAX) {
                n.host().fail("virtio-net unexpected long buffer chain");
                return 0;
            }
            if (i >= b.count()) {
                if (i > 0) {
                    n.host().fail(String.format("virtio-net unexpected empty queue: i %d mergeable %d offset %d, size %d,"
                            + " guest hdr len %d, host hdr len %d guest features 0x%x", i, mergeable ? 1 : 0,
                            offset, size, ghl, hhl, n.negotiated));
                }
                return 0;
            }
            if (b.segments(i) < 1) {
                n.host().fail("virtio-net receive queue contains no in buffers");
                return 0;
            }
            long total = 0;
            long guestOffset = 0;
            if (i == 0) {
                b.write(mem, 0, 0, header, 0, VIRTIO_NET_HDR_LEN);
                total = ghl;
                guestOffset = ghl;
            }
            int len = b.write(mem, i, guestOffset, src, base + offset, size - offset);
            total += len;
            offset += len;
            if (!mergeable && offset < size) {
                return 0; // the buffer is too small: the frame is dropped, the buffer stays for the next
            }
            lens[i] = (int) total;
            i++;
        }
        if (mergeable && i > 0) {
            numBuffers[0] = (byte) i;
            numBuffers[1] = (byte) (i >>> 8);
            b.write(mem, 0, NUM_BUFFERS_OFFSET, numBuffers, 0, 2);
        }
        return i;
    }

    private byte[] scratch(int size) {
        if (rxScratch.length < size) {
            rxScratch = new byte[Math.max(size, NET_BUFSIZE)];
        }
        return rxScratch;
    }
}
