package dev.jvmm.core.block;

/**
 * QEMU 7.2's ImageInfo ("image" inside query-block's inserted and query-named-block-nodes).
 *
 * @param actualSize           host bytes used, or -1 to leave "actual-size" out
 * @param clusterSize          qcow2 cluster size, or -1 to leave it out
 * @param backingFilename      the backing file name as the image names it, or null
 * @param fullBackingFilename  the resolved backing file name, or null
 * @param backingFormat        the backing format the image records, or null
 * @param backingImage         the backing image's info (not in flat listings), or null
 * @param qcow2                qcow2's format-specific data, or null for other formats
 */
public record BlockImageInfo(String filename, String format, long virtualSize, long actualSize, long clusterSize,
        boolean dirtyFlag, String backingFilename, String fullBackingFilename, String backingFormat,
        BlockImageInfo backingImage, Qcow2Info qcow2) {

    /** ImageInfoSpecificQCow2: compat "0.10" (v2) or "1.1" (v3). */
    public record Qcow2Info(String compat, String compressionType, boolean lazyRefcounts, int refcountBits,
            boolean corrupt, boolean extendedL2) {
        public boolean v3() {
            return "1.1".equals(compat);
        }
    }
}
