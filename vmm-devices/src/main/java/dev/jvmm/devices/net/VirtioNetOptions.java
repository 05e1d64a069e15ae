package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;

/**
 * The virtio-net-device properties jvmm honours, settled at realize.
 *
 * @param id           qdev id ("" when none): the NIC's name and NIC_RX_FILTER_CHANGED's "name"
 * @param path         QOM path of the virtio-net-device (the proxy's virtio-backend child), for events
 * @param mac          the configured address (mac=, else QEMU's default 52:54:00:12:34:NN)
 * @param features     the feature bits the properties ask for (QEMU's host_features, MAC added), before
 *                     the peer's vnet-header support trims them
 * @param rxQueueSize  rx_queue_size: power of two, 256 to 1024
 * @param txQueueSize  tx_queue_size as used: QEMU caps it at 256 for every backend jvmm has
 * @param hostMtu      host_mtu (0: no MTU feature)
 * @param speed        speed in Mbit/s, -1 unknown
 * @param duplex       VIRTIO_NET_DUPLEX_HALF, _FULL or _UNKNOWN
 */
public record VirtioNetOptions(String id, String path, MacAddress mac, long features, int rxQueueSize,
                               int txQueueSize, int hostMtu, int speed, int duplex) {
    public static final int DEFAULT_QUEUE_SIZE = 256;

    public VirtioNetOptions {
        id = id == null ? "" : id;
    }

    /** QEMU's defaults for a NIC with the given address (every default-on feature, mq off). */
    public static VirtioNetOptions defaults(String id, String path, MacAddress mac) {
        return new VirtioNetOptions(id, path, mac, VirtioNet.DEFAULT_FEATURES, DEFAULT_QUEUE_SIZE,
                DEFAULT_QUEUE_SIZE, 0, VirtioNet.SPEED_UNKNOWN, VirtioNet.DUPLEX_UNKNOWN);
    }

    public boolean has(int feature) {
        return (features & 1L << feature) != 0;
    }
}
