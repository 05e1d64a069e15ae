package dev.jvmm.core.block;

/**
 * QEMU 7.2's BlockDeviceInfo: one node as query-block's "inserted" and query-named-block-nodes show it.
 * I/O throttling members (bps*, iops*) are all 0 in jvmm, as QEMU shows them without throttling.
 *
 * @param backingFile the backing file name, or null ("backing_file" left out)
 */
public record BlockDeviceInfo(String file, String nodeName, boolean ro, String drv, String backingFile,
        int backingFileDepth, boolean encrypted, String detectZeroes, DriveCache cache, long writeThreshold,
        BlockImageInfo image) {
}
