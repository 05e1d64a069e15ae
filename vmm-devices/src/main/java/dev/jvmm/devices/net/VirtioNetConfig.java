package dev.jvmm.devices.net;

import dev.jvmm.devices.virtio.VirtioPciTransport;

import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * Virtio 1.1, section 5.1.4: {@link VirtioNet}'s device configuration layout (struct virtio_net_config) with
 * QEMU 7.2's values and sizing (virtio_net_get_config, virtio_net_set_config, virtio_get_config_size). The
 * address and status come from the device's state under its lock; the rest are fixed by the options.
 */
final class VirtioNetConfig {
    private VirtioNetConfig() {
    }

    /** QEMU's virtio_get_config_size: up to the last field a requested feature needs. */
    static int length(VirtioNetOptions opts) {
        long f = opts.features();
        if ((f & 1L << VIRTIO_NET_F_SPEED_DUPLEX) != 0) {
            return CFG_DUPLEX + 1;
        }
        if ((f & 1L << VIRTIO_NET_F_MTU) != 0) {
            return CFG_SPEED;
        }
        if ((f & 1L << VIRTIO_NET_F_MQ) != 0) {
            return CFG_MTU;
        }
        if ((f & 1L << VIRTIO_NET_F_STATUS) != 0) {
            return CFG_MAX_VIRTQUEUE_PAIRS;
        }
        return CFG_STATUS;
    }

    static int read(VirtioNet n, int offset, int size) {
        int v = 0;
        synchronized (n.lock) {
            for (int i = 0; i < size; i++) {
                v |= configByte(n, offset + i) << (8 * i);
            }
        }
        return v;
    }

    /** Section 5.1.4 with QEMU's values (virtio_net_get_config); caller holds the device's lock. */
    private static int configByte(VirtioNet n, int off) {
        VirtioNetOptions opts = n.options();
        if (off < CFG_STATUS) {
            return n.filter.mac[off] & 0xff;
        }
        if (off < CFG_MAX_VIRTQUEUE_PAIRS) {
            return byteOf(n.status, off - CFG_STATUS);
        }
        if (off < CFG_MTU) {
            return byteOf(n.queuePairs(), off - CFG_MAX_VIRTQUEUE_PAIRS);
        }
        if (off < CFG_SPEED) {
            return byteOf(opts.hostMtu(), off - CFG_MTU);
        }
        if (off < CFG_DUPLEX) {
            return byteOf(opts.speed(), off - CFG_SPEED);
        }
        return off == CFG_DUPLEX ? opts.duplex() & 0xff : 0;
    }

    private static int byteOf(long v, int i) {
        return (int) (v >>> (8 * i)) & 0xff;
    }

    /**
     * QEMU's virtio_net_set_config: the address is writable only for a driver that has neither
     * CTRL_MAC_ADDR nor VERSION_1 (before FEATURES_OK the device has no features yet).
     */
    static void write(VirtioNet n, int offset, int size, int value) {
        long f = n.host().negotiatedFeatures();
        if ((f & (1L << VIRTIO_NET_F_CTRL_MAC_ADDR | 1L << VirtioPciTransport.VIRTIO_F_VERSION_1)) != 0) {
            return;
        }
        synchronized (n.lock) {
            for (int i = 0; i < size; i++) {
                int off = offset + i;
                if (off >= CFG_MAC && off < CFG_STATUS) {
                    n.filter.mac[off] = (byte) (value >>> (8 * i));
                }
            }
        }
    }
}
