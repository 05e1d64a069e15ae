package dev.jvmm.devices.net;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.virtio.DescriptorChain;
import dev.jvmm.devices.virtio.VirtQueue;

import java.nio.ByteBuffer;

import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * Virtio 1.1, section 5.1.6.2: virtio-net's transmit side, as QEMU 7.2's virtio_net_flush_tx for one chain:
 * the guest's header reaches a vnet-header backend (cut to the backend's length), any other backend gets the
 * bare frame. Device thread only, so one frame buffer serves every pair without allocating per frame.
 */
final class VirtioNetTransmitter {
    private final VirtioNet n;
    private final byte[] buf = new byte[NET_BUFSIZE + VIRTIO_NET_HDR_MRG_RXBUF_LEN];
    private final ByteBuffer view = ByteBuffer.wrap(buf);

    VirtioNetTransmitter(VirtioNet n) {
        this.n = n;
    }

    /** Sends the frame of chain through nic; the chain is always completed with length 0. */
    void transmit(VirtioNetNic nic, VirtQueue queue, DescriptorChain chain, GuestMemory mem) {
        if (chain.readableSegments() < 1) {
            n.host().fail("virtio-net header not in first element");
            return;
        }
        int ghl = n.guestHdrLen;
        int hhl = n.hostHdrLen;
        long readable = chain.readableBytes();
        if (hhl > 0 && readable < ghl) {
            n.host().fail("virtio-net header incorrect");
            return;
        }
        if (hhl != ghl) {
            // the header is cut to the backend's length: a chain shorter than the guest's header, or one with
            // nothing after it for a backend without a header, leaves QEMU nothing to send
            if (readable < ghl) {
                n.host().fail("virtio-net header is invalid");
                return;
            }
            if (hhl == 0 && readable == ghl) {
                n.host().fail("virtio-net nothing to send");
                return;
            }
        }
        long payload = readable - ghl;
        // a frame larger than any backend takes is dropped, as jvmm's bound on what one frame may cost
        if (hhl + payload <= NET_BUFSIZE) {
            int len = (int) readable;
            chain.readFromReadable(mem, 0, buf, len);
            if (hhl < ghl) {
                System.arraycopy(buf, ghl, buf, hhl, (int) payload);
            }
            view.clear().limit(hhl + (int) payload);
            nic.send(view);
        }
        queue.push(chain.head(), 0);
    }
}
