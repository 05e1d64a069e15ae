package dev.jvmm.devices.ide;

/**
 * ATA8-ACS annex (CHS addressing): the logical cylinders/heads/sectors-per-track a drive reports in
 * IDENTIFY DEVICE words 1, 3, 6 and 54-56 and uses for CHS commands.
 */
public record AtaGeometry(int cylinders, int heads, int sectors) {
    public AtaGeometry {
        if (cylinders < 1 || cylinders > 65535 || heads < 1 || heads > 16 || sectors < 1 || sectors > 255) {
            throw new IllegalArgumentException("bad CHS geometry " + cylinders + "/" + heads + "/" + sectors);
        }
    }

    /**
     * QEMU's guess for an image without a usable partition table (hd_geometry_guess/guess_chs_for_size):
     * 16 heads, 63 sectors, cylinders from the size clamped to 2..16383.
     */
    public static AtaGeometry forSectors(long totalSectors) {
        long cyl = totalSectors / (16 * 63);
        return new AtaGeometry((int) Math.max(2, Math.min(16383, cyl)), 16, 63);
    }
}
