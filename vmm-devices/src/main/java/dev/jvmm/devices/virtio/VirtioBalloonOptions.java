package dev.jvmm.devices.virtio;

/**
 * The -device virtio-balloon-pci properties jvmm honours, with QEMU 7.2's defaults.
 *
 * @param id                qdev id (-device ...,id=), also names the device thread; "" when none was given
 * @param deflateOnOom      deflate-on-oom: offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM (default off)
 * @param pagePoison        page-poison: offer VIRTIO_BALLOON_F_PAGE_POISON (default on; it also sets the
 *                          configuration space to 16 bytes)
 * @param freePageReporting free-page-reporting: offer VIRTIO_BALLOON_F_REPORTING and its queue (default off)
 */
public record VirtioBalloonOptions(String id, boolean deflateOnOom, boolean pagePoison, boolean freePageReporting) {
    public VirtioBalloonOptions {
        id = id == null ? "" : id;
    }

    /** QEMU 7.2's defaults: page-poison on, everything else off. */
    public static VirtioBalloonOptions defaults(String id) {
        return new VirtioBalloonOptions(id, false, true, false);
    }
}
