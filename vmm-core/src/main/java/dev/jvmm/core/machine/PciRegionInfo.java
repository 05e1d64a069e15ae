package dev.jvmm.core.machine;

/**
 * One BAR as QEMU 7.2's query-pci reports it (PciMemoryRegion). QEMU writes the members of an "io"
 * region in the order bar, size, address, type and of a "memory" region in the order prefetch,
 * mem_type_64, bar, size, address, type; "prefetch" and "mem_type_64" appear only for memory regions.
 *
 * @param bar       BAR index (0-5, 6 for the expansion ROM)
 * @param io        true for "type": "io", false for "memory"
 * @param address   the mapped address, or -1 while the BAR is not decoded (QEMU's PCI_BAR_UNMAPPED)
 * @param size      region size in bytes
 * @param memType64 64-bit memory BAR (memory regions only)
 * @param prefetch  prefetchable memory BAR (memory regions only)
 */
public record PciRegionInfo(int bar, boolean io, long address, long size, boolean memType64, boolean prefetch) {
    /** query-pci's "type" member. */
    public String type() {
        return io ? "io" : "memory";
    }
}
