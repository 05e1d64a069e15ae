package dev.jvmm.core.block;

/**
 * One snapshot of QEMU 7.2's BlockDeviceStats (query-blockstats "stats"). The *_merged counters and
 * timed_stats are always 0 / empty in jvmm (no request merging, no interval stats configured).
 *
 * @param idleTimeNs nanoseconds since the last accounted request, or -1 before the first one (QEMU then
 *                   leaves "idle_time_ns" out)
 */
public record BlockDeviceStats(long rdBytes, long wrBytes, long unmapBytes, long rdOperations, long wrOperations,
        long flushOperations, long unmapOperations, long rdTotalTimeNs, long wrTotalTimeNs, long flushTotalTimeNs,
        long unmapTotalTimeNs, long wrHighestOffset, long rdMerged, long wrMerged, long unmapMerged,
        long idleTimeNs, long failedRdOperations, long failedWrOperations, long failedFlushOperations,
        long failedUnmapOperations, long invalidRdOperations, long invalidWrOperations,
        long invalidFlushOperations, long invalidUnmapOperations, boolean accountInvalid, boolean accountFailed) {

    /** A node's stats, which nothing accounts (QEMU accounts per BlockBackend): all zero, both flags off. */
    public static BlockDeviceStats zero(long wrHighestOffset) {
        return new BlockDeviceStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, wrHighestOffset, 0, 0, 0, -1, 0, 0, 0, 0, 0,
                0, 0, 0, false, false);
    }

    public boolean hasIdleTime() {
        return idleTimeNs >= 0;
    }
}
