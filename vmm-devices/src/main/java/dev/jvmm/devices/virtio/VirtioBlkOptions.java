package dev.jvmm.devices.virtio;

/**
 * The -device virtio-blk-pci properties jvmm honours, with QEMU 7.2's defaults.
 *
 * @param id         qdev id (-device ...,id=), also names the device thread; "" when none was given
 * @param serial     the serial= string GET_ID returns (null or "" for none)
 * @param numQueues  num-queues (QEMU's default is the vCPU count; 1 here unless told)
 * @param queueSize  queue-size: power of two, 3 to 1024 (QEMU's default 256)
 * @param writeCache whether the drive starts in writeback mode (cache=writethrough/directsync: false);
 *                   the guest may change it through the writeback field
 */
public record VirtioBlkOptions(String id, String serial, int numQueues, int queueSize, boolean writeCache) {
    public static final int DEFAULT_QUEUE_SIZE = 256;

    public VirtioBlkOptions {
        id = id == null ? "" : id;
        serial = serial == null ? "" : serial;
        if (numQueues < 1 || numQueues > 64) {
            throw new IllegalArgumentException("num-queues property must be between 1 and 64");
        }
        if (queueSize <= 2) {
            throw new IllegalArgumentException("invalid queue-size property (" + queueSize + "), must be > 2");
        }
        if (Integer.bitCount(queueSize) != 1 || queueSize > VirtQueue.MAX_QUEUE_SIZE) {
            throw new IllegalArgumentException("invalid queue-size property (" + queueSize
                    + "), must be a power of 2 (max " + VirtQueue.MAX_QUEUE_SIZE + ")");
        }
    }

    /** One queue of 256, writeback, no serial. */
    public static VirtioBlkOptions defaults(String id) {
        return new VirtioBlkOptions(id, "", 1, DEFAULT_QUEUE_SIZE, true);
    }
}
