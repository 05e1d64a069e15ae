package dev.jvmm.devices;

import dev.jvmm.core.block.BlockErrorPolicy;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.RemovableMediaDevice;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;

/**
 * What every disk device does with its block properties, as QEMU's hw/block/block.c (blkconf_*) and the drive
 * property setter do: take the drive, apply werror/rerror, settle write-cache and the serial number.
 */
public final class BlockConf {
    private BlockConf() {
    }

    /**
     * Takes the drive named by the drive property (a -drive id or a -blockdev node-name) for the device, with
     * QEMU's errors.
     *
     * @param drive        the drive= value; null for a removable device without one (an empty drive is made)
     * @param qdev         the device's id, or its QOM path without one (query-block's "qdev")
     * @param qomPath      the device's QOM path
     * @param tray         the device's tray, or null for a fixed disk
     * @param propertyName named in the unknown-drive message ("virtio-blk-device.drive")
     */
    public static Drive attach(BlockGraph graph, String drive, String qdev, String qomPath,
            RemovableMediaDevice tray, String propertyName) throws PropertyException {
        try {
            return graph.attach(drive, qdev, qomPath, tray, propertyName);
        } catch (OptionException e) {
            throw new PropertyException(e.getMessage());
        }
    }

    /** werror and rerror, where -device or -global set them, replace the drive's own policies. */
    public static void applyErrorPolicy(Drive d, PropertyValues p) {
        BlockErrorPolicy werror = p.isSet("werror") ? policy(p.str("werror").orElseThrow()) : null;
        BlockErrorPolicy rerror = p.isSet("rerror") ? policy(p.str("rerror").orElseThrow()) : null;
        if (werror != null || rerror != null) {
            d.applyDevicePolicy(werror, rerror);
        }
    }

    /** The device properties are QEMU's BlockdevOnError: unlike -drive rerror=, they take enospc for reads too. */
    private static BlockErrorPolicy policy(String v) {
        return v.equals("auto") ? BlockErrorPolicy.AUTO : BlockErrorPolicy.parseDriveOption(v, false);
    }

    /** write-cache: auto follows the drive's cache mode. */
    public static boolean writeCache(Drive d, PropertyValues p) {
        return switch (p.str("write-cache").orElse("auto")) {
            case "on" -> true;
            case "off" -> false;
            default -> d.cache().writeback();
        };
    }

    /** serial= when the device has one, else the serial= of the drive's -drive option, else null. */
    public static String serial(Drive d, PropertyValues p) {
        if (p.isSet("serial")) {
            return p.str("serial").orElse("");
        }
        String s = d.serial();
        return s == null || s.isEmpty() ? null : s;
    }
}
