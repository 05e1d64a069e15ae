package dev.jvmm.devices.net;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.virtio.DescriptorChain;
import dev.jvmm.devices.virtio.VirtQueue;

import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * Virtio 1.1, section 5.1.6.5: the control queue, as QEMU 7.2's virtio_net_handle_ctrl_iov: a command of
 * class and cmd with its data, answered by one ack byte. Commands QEMU refuses are answered VIRTIO_NET_ERR; a
 * chain without room for the header or the ack breaks the device. Device thread only.
 */
final class VirtioNetControl {
    private static final int CTRL_HDR_LEN = 2;
    private static final int MAC_TABLE_HDR = 4;

    private final VirtioNet n;
    private final byte[] buf = new byte[8];
    private final byte[] macs = new byte[VirtioNetRxFilter.MAC_TABLE_ENTRIES * VirtioNetRxFilter.ETH_ALEN];
    private final byte[] ack = new byte[1];
    private GuestMemory mem;
    private DescriptorChain chain;

    VirtioNetControl(VirtioNet n) {
        this.n = n;
    }

    void handle(VirtQueue queue, DescriptorChain c, GuestMemory m) {
        if (c.writableBytes() < 1 || c.readableBytes() < CTRL_HDR_LEN) {
            n.host().fail("virtio-net ctrl missing headers");
            return;
        }
        mem = m;
        chain = c;
        c.readFromReadable(m, 0, buf, CTRL_HDR_LEN);
        int cls = buf[0] & 0xff;
        int cmd = buf[1] & 0xff;
        long size = c.readableBytes() - CTRL_HDR_LEN;
        int status = switch (cls) {
            case VIRTIO_NET_CTRL_RX -> rxMode(cmd, size);
            case VIRTIO_NET_CTRL_MAC -> mac(cmd, size);
            case VIRTIO_NET_CTRL_VLAN -> vlan(cmd, size);
            case VIRTIO_NET_CTRL_ANNOUNCE -> announce(cmd);
            case VIRTIO_NET_CTRL_MQ -> mq(cmd, size);
            case VIRTIO_NET_CTRL_GUEST_OFFLOADS -> offloads(cmd, size);
            default -> VIRTIO_NET_ERR;
        };
        ack[0] = (byte) status;
        c.writeToWritable(m, ack, 1);
        queue.push(c.head(), 1);
        chain = null;
    }

    /** Reads len bytes of the command's data from offset into buf; false when the data is shorter. */
    private boolean read(long offset, int len) {
        return chain.readFromReadable(mem, CTRL_HDR_LEN + offset, buf, len) == len;
    }

    private static int le16(byte[] b) {
        return (b[0] & 0xff) | (b[1] & 0xff) << 8;
    }

    private static long le32(byte[] b) {
        return ((b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24) & 0xffff_ffffL;
    }

    /** QEMU's virtio_net_handle_rx_mode. */
    private int rxMode(int cmd, long size) {
        if (size < 1 || !read(0, 1)) {
            return VIRTIO_NET_ERR;
        }
        synchronized (n.lock) {
            if (!n.filter.setMode(cmd, buf[0] != 0)) {
                return VIRTIO_NET_ERR;
            }
        }
        n.rxFilterNotify();
        return VIRTIO_NET_OK;
    }

    /** QEMU's virtio_net_handle_mac: the address, or the unicast and multicast tables. */
    private int mac(int cmd, long size) {
        if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
            if (size != VirtioNetRxFilter.ETH_ALEN) {
                return VIRTIO_NET_ERR;
            }
            chain.readFromReadable(mem, CTRL_HDR_LEN, macs, VirtioNetRxFilter.ETH_ALEN);
            synchronized (n.lock) {
                System.arraycopy(macs, 0, n.filter.mac, 0, VirtioNetRxFilter.ETH_ALEN);
            }
            n.rxFilterNotify();
            return VIRTIO_NET_OK;
        }
        if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET) {
            return VIRTIO_NET_ERR;
        }
        // two tables, each a 32-bit count and its entries; the entry bytes are counted in 32 bits, as QEMU does
        java.util.Arrays.fill(macs, (byte) 0);
        long pos = 0;
        long rem = size;
        if (rem < MAC_TABLE_HDR || !read(pos, MAC_TABLE_HDR)) {
            return VIRTIO_NET_ERR;
        }
        long entries = le32(buf);
        pos += MAC_TABLE_HDR;
        rem -= MAC_TABLE_HDR;
        long bytes = entries * VirtioNetRxFilter.ETH_ALEN & 0xffff_ffffL;
        if (bytes > rem) {
            return VIRTIO_NET_ERR;
        }
        int inUse = 0;
        boolean uniOverflow = false;
        if (entries <= VirtioNetRxFilter.MAC_TABLE_ENTRIES) {
            chain.readFromReadable(mem, CTRL_HDR_LEN + pos, macs, (int) bytes);
            inUse = (int) entries;
        } else {
            uniOverflow = true;
        }
        pos += bytes;
        rem -= bytes;
        int firstMulti = inUse;
        if (rem < MAC_TABLE_HDR || !read(pos, MAC_TABLE_HDR)) {
            return VIRTIO_NET_ERR;
        }
        entries = le32(buf);
        pos += MAC_TABLE_HDR;
        rem -= MAC_TABLE_HDR;
        bytes = entries * VirtioNetRxFilter.ETH_ALEN & 0xffff_ffffL;
        if (bytes != rem) {
            return VIRTIO_NET_ERR;
        }
        boolean multiOverflow = false;
        if (entries <= VirtioNetRxFilter.MAC_TABLE_ENTRIES - inUse) {
            byte[] multi = new byte[(int) bytes];
            chain.readFromReadable(mem, CTRL_HDR_LEN + pos, multi, (int) bytes);
            System.arraycopy(multi, 0, macs, inUse * VirtioNetRxFilter.ETH_ALEN, (int) bytes);
            inUse += (int) entries;
        } else {
            multiOverflow = true;
        }
        synchronized (n.lock) {
            VirtioNetRxFilter f = n.filter;
            f.inUse = inUse;
            f.firstMulti = firstMulti;
            f.uniOverflow = uniOverflow;
            f.multiOverflow = multiOverflow;
            System.arraycopy(macs, 0, f.macs, 0, macs.length);
        }
        n.rxFilterNotify();
        return VIRTIO_NET_OK;
    }

    /** QEMU's virtio_net_handle_vlan_table. */
    private int vlan(int cmd, long size) {
        if (size < 2 || !read(0, 2)) {
            return VIRTIO_NET_ERR;
        }
        int vid = le16(buf);
        if (vid >= VirtioNetRxFilter.MAX_VLAN) {
            return VIRTIO_NET_ERR;
        }
        if (cmd != VIRTIO_NET_CTRL_VLAN_ADD && cmd != VIRTIO_NET_CTRL_VLAN_DEL) {
            return VIRTIO_NET_ERR;
        }
        synchronized (n.lock) {
            n.filter.setVlan(vid, cmd == VIRTIO_NET_CTRL_VLAN_ADD);
        }
        n.rxFilterNotify();
        return VIRTIO_NET_OK;
    }

    /** QEMU's virtio_net_handle_announce: the driver acknowledges an announcement it was asked for. */
    private int announce(int cmd) {
        synchronized (n.lock) {
            if (cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK && (n.status & VIRTIO_NET_S_ANNOUNCE) != 0) {
                n.status &= ~VIRTIO_NET_S_ANNOUNCE;
                return VIRTIO_NET_OK;
            }
        }
        return VIRTIO_NET_ERR;
    }

    /** QEMU's virtio_net_handle_mq: VQ_PAIRS_SET (RSS and hash reporting are not offered). */
    private int mq(int cmd, long size) {
        if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !n.negotiated(VIRTIO_NET_F_MQ)) {
            return VIRTIO_NET_ERR;
        }
        if (size < 2 || !read(0, 2)) {
            return VIRTIO_NET_ERR;
        }
        int pairs = le16(buf);
        synchronized (n.lock) {
            if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX
                    || pairs > n.queuePairs() || !n.multiqueue) {
                return VIRTIO_NET_ERR;
            }
            n.currPairs = pairs;
        }
        n.queuePairsChanged();
        return VIRTIO_NET_OK;
    }

    /** QEMU's virtio_net_handle_offloads: what a vnet-header backend may hand the guest from now on. */
    private int offloads(int cmd, long size) {
        if (!n.negotiated(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) {
            return VIRTIO_NET_ERR;
        }
        if (size < 8 || !read(0, 8)) {
            return VIRTIO_NET_ERR;
        }
        if (cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || !n.hasVnetHdr()) {
            return VIRTIO_NET_ERR;
        }
        long offloads = le32(buf) | le32(new byte[] {buf[4], buf[5], buf[6], buf[7]}) << 32;
        offloads &= ~(1L << VIRTIO_NET_F_RSC_EXT);
        dev.jvmm.core.net.NetOffloads apply;
        synchronized (n.lock) {
            long supported = n.negotiated & GUEST_OFFLOADS;
            if ((offloads & ~supported) != 0) {
                return VIRTIO_NET_ERR;
            }
            n.curGuestOffloads = offloads;
            apply = n.guestOffloads();
        }
        n.applyGuestOffloads(apply);
        return VIRTIO_NET_OK;
    }
}
