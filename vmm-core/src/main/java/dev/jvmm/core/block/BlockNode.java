package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One node of the block graph (QEMU's BlockDriverState): a format node ("raw", "qcow2", "blkdebug") with the
 * open {@link BlockDriver}, or a protocol node ("file") naming the host file under it. Nodes only describe
 * the graph for query-named-block-nodes and query-blockstats; all I/O goes through the root's driver.
 */
public final class BlockNode {
    private final String nodeName;
    private final String driverName;
    private final String filename;
    private final boolean readOnly;
    private final DriveCache cache;
    private volatile BlockDriver driver;
    private final BlockNode file;
    private final BlockNode backing;
    private final AtomicLong wrHighestOffset = new AtomicLong();

    /**
     * @param driver the open image for a format node (null for a protocol node nobody reads through)
     * @param file   the protocol child ("file" / QEMU's "parent" in query-blockstats), or null
     * @param backing the backing format node, or null
     */
    public BlockNode(String nodeName, String driverName, String filename, boolean readOnly, DriveCache cache,
            BlockDriver driver, BlockNode file, BlockNode backing) {
        this.nodeName = nodeName;
        this.driverName = driverName;
        this.filename = filename;
        this.readOnly = readOnly;
        this.cache = cache;
        this.driver = driver;
        this.file = file;
        this.backing = backing;
    }

    public String nodeName() {
        return nodeName;
    }

    /** QEMU's driver name: "drv" in query-named-block-nodes. */
    public String driverName() {
        return driverName;
    }

    public String filename() {
        return filename;
    }

    public boolean readOnly() {
        return readOnly;
    }

    public DriveCache cache() {
        return cache;
    }

    /** The image this node serves, or null for a pure protocol node. */
    public BlockDriver driver() {
        return driver;
    }

    /** Sets the driver of a protocol node a device reads directly (opened as raw on demand). */
    void setDriver(BlockDriver d) {
        this.driver = d;
    }

    public BlockNode file() {
        return file;
    }

    public BlockNode backing() {
        return backing;
    }

    public boolean isProtocol() {
        return "file".equals(driverName);
    }

    /** Guest-visible size: the image's for a format node, the host file's length for a protocol node. */
    public long virtualSize() {
        if (driver != null && !isProtocol()) {
            return driver.size();
        }
        if (filename == null || filename.isEmpty()) {
            return driver == null ? 0 : driver.size();
        }
        try {
            // bdrv_getlength counts whole sectors
            return (Files.size(Path.of(filename)) + 511) & ~511L;
        } catch (IOException | RuntimeException e) {
            return driver == null ? 0 : driver.size();
        }
    }

    /** Bytes the file occupies on the host, or -1 when unknown ("actual-size" is then left out). */
    public long actualSize() {
        BlockNode n = this;
        while (n != null) {
            if ("blkdebug".equals(n.driverName)) {
                return -1; // blkdebug does not report it, so QEMU leaves "actual-size" out above it
            }
            if (n.driver != null && n.driver.allocatedSize() >= 0) {
                return n.driver.allocatedSize();
            }
            n = n.file;
        }
        return -1;
    }

    /** How many backing images lie under this node ("backing_file_depth"). */
    public int backingDepth() {
        int d = 0;
        for (BlockNode b = backing; b != null; b = b.backing) {
            d++;
        }
        return d;
    }

    public long wrHighestOffset() {
        return wrHighestOffset.get();
    }

    /**
     * A write reached this node, done or failed (QEMU's bdrv_co_write_req_finish moves wr_highest_offset either
     * way). raw and blkdebug pass offsets through unchanged, so their file child moves too; a failed write is
     * taken to stop at a blkdebug filter, where injected errors come from.
     */
    void wrote(long offset, long length, boolean failed) {
        wrHighestOffset.accumulateAndGet(offset + length, Math::max);
        if (file != null && ("raw".equals(driverName) || "blkdebug".equals(driverName) && !failed)) {
            file.wrote(offset, length, failed);
        }
    }

    @Override
    public String toString() {
        return nodeName + "(" + driverName + ")";
    }
}
