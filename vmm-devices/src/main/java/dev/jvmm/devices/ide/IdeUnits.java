package dev.jvmm.devices.ide;

import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.RemovableMediaDevice;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.BlockConf;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;

import java.util.List;

import static dev.jvmm.core.qom.Property.fixed;

/**
 * ide-hd and ide-cd units on a PIIX3 channel, as QEMU's hw/ide/qdev.c realizes them: from -device, and from
 * the board for each if=ide drive (-hda..-hdd, -cdrom, the default CD-ROM), with QEMU's bus, unit and drive
 * rules and errors.
 */
final class IdeUnits {
    private IdeUnits() {
    }

    /** unit's default: the first free unit of the bus. */
    static final long UNIT_AUTO = 0xffff_ffffL;
    /** Units per channel. */
    static final int UNITS = 2;

    private static final String IDENTITY = "jvmm's IDE devices identify as QEMU 7.2's own: ";
    private static final String SECTORS = "jvmm's IDE devices have 512-byte sectors: ";

    /**
     * QEMU's DEFINE_IDE_DEV_PROPERTIES, which ide-hd and ide-cd each declare. min_io_size and opt_io_size
     * reach no IDE register, in QEMU either.
     */
    static final List<Property> COMMON = List.of(
            Property.of("drive", PropType.DRIVE),
            Property.of("serial", PropType.STR),
            Property.of("werror", PropType.BLOCKDEV_ON_ERROR, "auto"),
            Property.of("rerror", PropType.BLOCKDEV_ON_ERROR, "auto"),
            Property.of("write-cache", PropType.ON_OFF_AUTO, "auto"),
            Property.of("min_io_size", PropType.SIZE, 0L),
            Property.of("opt_io_size", PropType.SIZE, 0L),
            fixed("logical_block_size", PropType.BLOCKSIZE, 0L)
                    .only(SECTORS + "logical_block_size=VALUE is not supported", 0L, (long) AtaDrive.SECTOR_SIZE),
            fixed("physical_block_size", PropType.BLOCKSIZE, 0L)
                    .only(SECTORS + "physical_block_size=VALUE is not supported", 0L, (long) AtaDrive.SECTOR_SIZE),
            fixed("discard_granularity", PropType.SIZE, 0xffff_ffffL)
                    .only(SECTORS + "discard_granularity=VALUE is not supported", 0xffff_ffffL,
                            (long) AtaDrive.SECTOR_SIZE),
            // auto means off in QEMU 7.2
            fixed("backend_defaults", PropType.ON_OFF_AUTO, "auto")
                    .only(SECTORS + "backend_defaults=VALUE is not supported", "auto", "off"),
            fixed("share-rw", PropType.BOOL, false)
                    .only("jvmm locks images for exclusive write: share-rw=VALUE is not supported", false),
            fixed("account-invalid", PropType.ON_OFF_AUTO, "auto"),
            fixed("account-failed", PropType.ON_OFF_AUTO, "auto"),
            Property.of("model", PropType.STR).only(IDENTITY + "model=VALUE is not supported"),
            Property.of("ver", PropType.STR).only(IDENTITY + "ver=VALUE is not supported"),
            fixed("wwn", PropType.UINT64, 0L).only(IDENTITY + "wwn=VALUE is not supported", 0L));

    /**
     * The drive (taken when the property is set), then the unit on the bus the model chose (bus=, or the last
     * IDE bus, ide.1, as QEMU finds it), then the device itself. A refusal gives the drive back.
     */
    static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where, boolean cdrom)
            throws PropertyException {
        String qomPath = where.node().path();
        String qdev = where.id() != null ? where.id() : qomPath;
        String property = (cdrom ? AtapiCdrom.TYPE : AtaDrive.TYPE).name() + ".drive";
        TrayForward tray = cdrom ? new TrayForward() : null;
        Drive drive = p.str("drive").isEmpty() ? null
                : BlockConf.attach(ctx.block(), p.str("drive").get(), qdev, qomPath, tray, property);
        try {
            int unit = unit(p, where.bus().owner(Piix3Ide.Channel.class).bus());
            if (drive == null) {
                // an ide-cd gets an empty drive of its own; an ide-hd has "No drive specified"
                drive = BlockConf.attach(ctx.block(), null, qdev, qomPath, tray, property);
            }
            return realize(p, where, drive, tray, unit);
        } catch (PropertyException | RuntimeException e) {
            if (drive != null) {
                ctx.block().detach(drive);
            }
            throw e;
        }
    }

    private static DeviceInstance realize(PropertyValues p, Placement where, Drive drive, TrayForward tray,
            int unit) throws PropertyException {
        Piix3Ide.Channel channel = where.bus().owner(Piix3Ide.Channel.class);
        IdeBus bus = channel.bus();
        String serial = BlockConf.serial(drive, p);
        if (serial == null) {
            serial = IdeDevice.defaultSerial(channel.number(), unit);
        }
        IdeDevice dev;
        if (tray != null) {
            BlockConf.applyErrorPolicy(drive, p);
            AtapiCdrom cd = new AtapiCdrom(drive, serial);
            tray.target = cd;
            dev = cd;
        } else {
            // an ide-hd asks for write permission (blkconf_apply_backend_options); a read-only node refuses it
            if (drive.readOnly()) {
                throw new PropertyException("Block node is read-only");
            }
            AtaGeometry geometry = geometry(p);
            BlockConf.applyErrorPolicy(drive, p);
            dev = new AtaDrive(drive, serial, geometry, BlockConf.writeCache(drive, p));
        }
        bus.attach(unit, dev);
        describe(where, p, dev, unit, serial, p.str("drive").orElse(""));
        return DeviceInstance.STATELESS;
    }

    private static int unit(PropertyValues p, IdeBus bus) throws PropertyException {
        long u = p.number("unit");
        if (u == UNIT_AUTO) {
            u = bus.device(0) != null ? 1 : 0;
        } else if (u >= UNITS) {
            throw new PropertyException("Can't create IDE unit " + u + ", bus supports only " + UNITS + " units");
        }
        if (bus.device((int) u) != null) {
            throw new PropertyException("IDE unit " + u + " is in use");
        }
        return (int) u;
    }

    /** cyls, heads and secs, when any is set; null for QEMU's guess from the size. */
    private static AtaGeometry geometry(PropertyValues p) throws PropertyException {
        if (!p.isSet("cyls") && !p.isSet("heads") && !p.isSet("secs")) {
            return null;
        }
        try {
            return new AtaGeometry((int) p.number("cyls"), (int) p.number("heads"), (int) p.number("secs"));
        } catch (IllegalArgumentException e) {
            throw new PropertyException("cyls, heads and secs must be given together and in range (cyls"
                    + " 1-65535, heads 1-16, secs 1-255)");
        }
    }

    /** The values QEMU shows once the unit is realized, where they differ from the settled properties. */
    private static void describe(Placement where, PropertyValues p, IdeDevice dev, int unit, String serial,
            String driveName) {
        QomNode n = where.node();
        n.addConstant("hotpluggable", "bool", false);
        n.addConstant("unit", "uint32", (long) unit);
        n.addConstant("serial", "str", serial);
        n.addConstant("ver", "str", AtaDrive.DEFAULT_VERSION);
        n.addConstant("drive", "str", driveName);
        n.addConstant("logical_block_size", "size", (long) AtaDrive.SECTOR_SIZE);
        n.addConstant("physical_block_size", "size", (long) AtaDrive.SECTOR_SIZE);
        n.addConstant("discard_granularity", "size", (long) AtaDrive.SECTOR_SIZE);
        n.addConstant("bootindex", "int32", p.get("bootindex").orElse(-1L));
        if (dev instanceof AtaDrive hd) {
            AtaGeometry g = hd.geometry();
            n.addConstant("cyls", "uint32", (long) g.cylinders());
            n.addConstant("heads", "uint32", (long) g.heads());
            n.addConstant("secs", "uint32", (long) g.sectors());
            // QEMU's hd_bios_chs_auto_trans
            boolean fits = g.cylinders() <= 1024 && g.heads() <= 16 && g.sectors() <= 63;
            n.addConstant("bios-chs-trans", "BiosAtaTranslation", p.str("bios-chs-trans")
                    .filter(t -> !t.equals("auto")).orElse(fits ? "none" : "lba"));
        }
        QomNode bus = where.bus().node();
        long links = bus.list().stream().filter(e -> e.getKey().startsWith("child[")).count();
        bus.addLink("child[" + links + "]", n.type(), n::path);
    }

    /**
     * The CD-ROM's tray as the graph sees it while the device is being made: the graph needs the device when
     * it attaches the drive, and the device needs that drive, so this forwards to it once it exists.
     */
    private static final class TrayForward implements RemovableMediaDevice {
        private volatile AtapiCdrom target;

        @Override
        public void changeMedia(boolean load) {
            target.changeMedia(load);
        }

        @Override
        public boolean isTrayOpen() {
            AtapiCdrom t = target;
            return t != null && t.isTrayOpen();
        }

        @Override
        public boolean isMediumLocked() {
            AtapiCdrom t = target;
            return t != null && t.isMediumLocked();
        }

        @Override
        public void ejectRequest(boolean force) {
            target.ejectRequest(force);
        }

        @Override
        public <E extends Exception> void exclusive(Steps<E> steps) throws E {
            target.exclusive(steps);
        }
    }
}
