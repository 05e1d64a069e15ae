package dev.jvmm.core.block;

/**
 * One query-blockstats entry (QEMU 7.2's BlockStats): a backend's stats with its root node's children, or a
 * node's (query-nodes=true).
 *
 * @param device         the backend name, or null for node entries (query-nodes)
 * @param qdev           the device's QOM path, or null
 * @param nodeName       the node's name, or null
 * @param parent         stats of the node's "file" child (QEMU calls it "parent"), or null
 * @param backing        stats of the backing node, or null
 * @param fileDriverStats "driver-specific" for file nodes, or null
 */
public record BlockStatsInfo(String device, String qdev, String nodeName, BlockDeviceStats stats,
        BlockStatsInfo parent, BlockStatsInfo backing, FileDriverStats fileDriverStats) {

    /** BlockStatsSpecificFile: discard requests the host file accepted or refused. */
    public record FileDriverStats(long discardNbOk, long discardNbFailed, long discardBytesOk) {
    }
}
