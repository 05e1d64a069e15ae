package dev.jvmm.devices.virtio;

import static dev.jvmm.devices.virtio.VirtioBlk.*;

/**
 * Virtio 1.1, section 5.2.4: virtio-blk's configuration space, byte by byte, as QEMU 7.2 fills it; and the
 * little-endian fields of its requests (section 5.2.6).
 */
final class VirtioBlkConfig {
    private VirtioBlkConfig() {
    }

    /** Section 5.2.4, with QEMU's values (virtio_blk_update_config). */
    static int configByte(int off, long capacity, VirtioBlkOptions opts, DiskGeometry geometry,
            boolean writeCache) {
        if (off < CFG_SIZE_MAX) {
            return byteOf(capacity, off - CFG_CAPACITY);
        }
        if (off < CFG_SEG_MAX) {
            return 0; // size_max: SIZE_MAX is not offered
        }
        if (off < CFG_GEOMETRY_CYLINDERS) {
            return byteOf(opts.queueSize() - 2, off - CFG_SEG_MAX); // QEMU's seg-max-adjust
        }
        if (off < CFG_GEOMETRY_HEADS) {
            return byteOf(geometry.cylinders(), off - CFG_GEOMETRY_CYLINDERS);
        }
        if (off == CFG_GEOMETRY_HEADS) {
            return geometry.heads() & 0xff;
        }
        if (off == CFG_GEOMETRY_SECTORS) {
            return geometry.sectors() & 0xff;
        }
        if (off < CFG_PHYSICAL_BLOCK_EXP) {
            return byteOf(SECTOR_SIZE, off - CFG_BLK_SIZE);
        }
        if (off < CFG_WRITEBACK) {
            return 0; // topology: physical_block_exp, alignment_offset, min_io_size, opt_io_size all 0
        }
        if (off == CFG_WRITEBACK) {
            return writeCache ? 1 : 0;
        }
        if (off < CFG_NUM_QUEUES) {
            return 0;
        }
        if (off < CFG_MAX_DISCARD_SECTORS) {
            return byteOf(opts.numQueues(), off - CFG_NUM_QUEUES);
        }
        if (off < CFG_MAX_DISCARD_SEG) {
            return byteOf(BDRV_REQUEST_MAX_SECTORS, off - CFG_MAX_DISCARD_SECTORS);
        }
        if (off < CFG_DISCARD_SECTOR_ALIGNMENT) {
            return byteOf(1, off - CFG_MAX_DISCARD_SEG);
        }
        if (off < CFG_MAX_WRITE_ZEROES_SECTORS) {
            return byteOf(1, off - CFG_DISCARD_SECTOR_ALIGNMENT); // blk_size >> 9
        }
        if (off < CFG_MAX_WRITE_ZEROES_SEG) {
            return byteOf(BDRV_REQUEST_MAX_SECTORS, off - CFG_MAX_WRITE_ZEROES_SECTORS);
        }
        if (off < CFG_WRITE_ZEROES_MAY_UNMAP) {
            return byteOf(1, off - CFG_MAX_WRITE_ZEROES_SEG);
        }
        if (off == CFG_WRITE_ZEROES_MAY_UNMAP) {
            return 1;
        }
        return 0;
    }

    private static int byteOf(long v, int i) {
        return (int) (v >>> (8 * i)) & 0xff;
    }

    static int le32(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    static long le64(byte[] b, int o) {
        return (le32(b, o) & 0xffff_ffffL) | (long) le32(b, o + 4) << 32;
    }
}
