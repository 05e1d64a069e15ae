package dev.jvmm.core.block;

import dev.jvmm.core.block.BlockBackend.Operation;

/**
 * A drive's I/O accounting (QEMU's BlockAcctStats): bytes, operations and total time per request kind,
 * failed and invalid counts, the highest offset written, and when the last request ended. One lock guards
 * it; each update is a handful of adds, far cheaper than the I/O it counts.
 */
public final class BlockStats {
    private static final int KINDS = Operation.values().length;

    private final long[] bytes = new long[KINDS];
    private final long[] ops = new long[KINDS];
    private final long[] timeNs = new long[KINDS];
    private final long[] failed = new long[KINDS];
    private final long[] invalid = new long[KINDS];
    private long wrHighestOffset;
    private long lastAccessNs = -1;
    private final boolean accountInvalid;
    private final boolean accountFailed;
    private final java.util.function.LongSupplier clock;

    public BlockStats(boolean accountInvalid, boolean accountFailed, java.util.function.LongSupplier clock) {
        this.accountInvalid = accountInvalid;
        this.accountFailed = accountFailed;
        this.clock = clock;
    }

    public BlockStats() {
        this(true, true, System::nanoTime);
    }

    public long now() {
        return clock.getAsLong();
    }

    /** A request that completed (block_acct_done). */
    public synchronized void done(Operation op, long nbytes, long startNs) {
        long end = clock.getAsLong();
        int i = op.ordinal();
        bytes[i] += nbytes;
        ops[i]++;
        timeNs[i] += end - startNs;
        lastAccessNs = end;
    }

    /** A write that reached the block graph, done or failed: moves the high-water mark (wr_highest_offset, an end). */
    public synchronized void wrote(long offset, long length) {
        wrHighestOffset = Math.max(wrHighestOffset, offset + length);
    }

    /** A request the disk failed and the guest was told of (block_acct_failed). */
    public synchronized void failed(Operation op, long startNs) {
        long end = clock.getAsLong();
        int i = op.ordinal();
        failed[i]++;
        if (accountFailed) {
            timeNs[i] += end - startNs;
            lastAccessNs = end;
        }
    }

    /** A request refused before it reached the disk (block_acct_invalid). */
    public synchronized void invalid(Operation op) {
        invalid[op.ordinal()]++;
        if (accountInvalid) {
            lastAccessNs = clock.getAsLong();
        }
    }

    public synchronized BlockDeviceStats snapshot() {
        int r = Operation.READ.ordinal();
        int w = Operation.WRITE.ordinal();
        int f = Operation.FLUSH.ordinal();
        int u = Operation.UNMAP.ordinal();
        long idle = lastAccessNs < 0 ? -1 : Math.max(0, clock.getAsLong() - lastAccessNs);
        return new BlockDeviceStats(bytes[r], bytes[w], bytes[u], ops[r], ops[w], ops[f], ops[u], timeNs[r],
                timeNs[w], timeNs[f], timeNs[u], wrHighestOffset, 0, 0, 0, idle, failed[r], failed[w], failed[f],
                failed[u], invalid[r], invalid[w], invalid[f], invalid[u], accountInvalid, accountFailed);
    }
}
