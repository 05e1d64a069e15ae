package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.BlockBackend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A disk's legacy CHS geometry as QEMU 7.2 guesses it when none is given (hw/block/hd-geometry.c): from an
 * MS-DOS partition table whose partitions end on a cylinder boundary, else 16 heads and 63 sectors with
 * cylinders from the size (2 to 16383).
 */
public record DiskGeometry(int cylinders, int heads, int sectors) {
    public static final int SECTOR_SIZE = 512;
    /** MBR layout: partition table at 0x1be, four 16-byte entries, signature 0x55 0xaa at 510. */
    static final int PARTITION_TABLE = 0x1be;
    static final int PARTITION_ENTRY = 16;
    static final int END_HEAD = 5;
    static final int END_SECTOR = 6;
    static final int NR_SECTS = 12;

    /** QEMU's hd_geometry_guess for a disk of the backend's size and first sector. */
    public static DiskGeometry guess(BlockBackend backend) {
        long sectors = backend.size() / SECTOR_SIZE;
        ByteBuffer mbr = ByteBuffer.allocate(SECTOR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        boolean haveMbr = false;
        if (backend.size() >= SECTOR_SIZE) {
            try {
                backend.readInternal(0, mbr);
                haveMbr = true;
            } catch (IOException | RuntimeException e) {
                // an unreadable first sector just means "no partition table", as in QEMU
            }
        }
        DiskGeometry lchs = haveMbr ? fromPartitionTable(mbr, sectors) : null;
        if (lchs == null || lchs.heads() > 16) {
            return fromSize(sectors);
        }
        return lchs;
    }

    /** QEMU's guess_disk_lchs, or null when the table gives nothing usable. */
    static DiskGeometry fromPartitionTable(ByteBuffer mbr, long totalSectors) {
        if ((mbr.get(510) & 0xff) != 0x55 || (mbr.get(511) & 0xff) != 0xaa) {
            return null;
        }
        for (int i = 0; i < 4; i++) {
            int p = PARTITION_TABLE + i * PARTITION_ENTRY;
            long nrSects = mbr.getInt(p + NR_SECTS) & 0xffff_ffffL;
            int endHead = mbr.get(p + END_HEAD) & 0xff;
            if (nrSects != 0 && endHead != 0) {
                int heads = endHead + 1;
                int secs = mbr.get(p + END_SECTOR) & 63;
                if (secs == 0) {
                    continue;
                }
                long cyls = totalSectors / ((long) heads * secs);
                if (cyls < 1 || cyls > 16383) {
                    continue;
                }
                return new DiskGeometry((int) cyls, heads, secs);
            }
        }
        return null;
    }

    /** QEMU's guess_chs_for_size. */
    static DiskGeometry fromSize(long totalSectors) {
        long cyls = totalSectors / (16 * 63);
        cyls = Math.max(2, Math.min(16383, cyls));
        return new DiskGeometry((int) cyls, 16, 63);
    }
}
