package dev.jvmm.devices.net;

import dev.jvmm.core.net.NetOffloads;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * QEMU 7.2's vmstate_virtio_net_device for {@link VirtioNet}: the receive filter, the status and queue-pair
 * settings, the negotiated header lengths and offloads, and the posted receive buffers. Everything is read
 * and checked before any of it is applied, so a stream that fails leaves the device as it was.
 */
final class VirtioNetState {
    private VirtioNetState() {
    }

    static void save(VirtioNet n, StateWriter w) {
        synchronized (n.lock) {
            w.u32("queue-pairs", n.queuePairs()).bool("vnet-hdr", n.hasVnetHdr());
            n.filter.save(w);
            w.u16("status", n.status).u32("curr-queue-pairs", n.currPairs).bool("multiqueue", n.multiqueue)
                    .bool("mergeable", n.mergeable).u8("guest-hdr-len", n.guestHdrLen)
                    .u8("host-hdr-len", n.hostHdrLen).u64("guest-offloads", n.curGuestOffloads)
                    .u64("features", n.negotiated);
            n.receiver.save(w);
        }
    }

    /** QEMU's virtio_net_post_load_device too: header lengths and offloads go back to the backend. */
    static void load(VirtioNet n, StateReader r) throws StateException {
        boolean hasVnetHdr = n.hasVnetHdr();
        r.expectU32("queue-pairs", n.queuePairs());
        r.expectBool("vnet-hdr", hasVnetHdr);
        NetOffloads restored;
        int backendHdrLen;
        boolean down;
        synchronized (n.lock) {
            n.filter.load(r);
            int st = r.u16("status", VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
            int cur = r.u32("curr-queue-pairs", 1, n.queuePairs());
            boolean mq = r.bool("multiqueue");
            boolean mrg = r.bool("mergeable");
            int ghl = r.u8("guest-hdr-len", VIRTIO_NET_HDR_MRG_RXBUF_LEN);
            int hhl = r.u8("host-hdr-len", VIRTIO_NET_HDR_MRG_RXBUF_LEN);
            long offloads = r.u64("guest-offloads");
            long features = r.u64("features");
            if (ghl < VIRTIO_NET_HDR_LEN || (hhl != 0) != hasVnetHdr || hhl > ghl) {
                throw r.invalid("host-hdr-len", "headers of " + ghl + " and " + hhl + " bytes");
            }
            n.receiver.load(r, n.memory());
            n.status = st;
            n.currPairs = cur;
            n.multiqueue = mq;
            n.negotiated = features;
            n.curGuestOffloads = offloads & GUEST_OFFLOADS;
            n.mergeable = mrg;
            n.guestHdrLen = ghl;
            restored = hasVnetHdr ? n.guestOffloads() : null;
            backendHdrLen = hhl;
            down = (st & VIRTIO_NET_S_LINK_UP) == 0;
            n.receiver.starveAll();
        }
        n.restored(backendHdrLen, restored, down);
    }
}
