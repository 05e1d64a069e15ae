package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.Drive;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.BlockConf;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.OptionRom;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.List;
import java.util.Optional;

/**
 * QEMU 7.2's virtio-blk-pci (alias virtio-blk): the PCI function of a {@link VirtioBlk}, made by -device and,
 * for each -drive if=virtio, by the machine. Its virtio-blk-device child's properties are its own.
 */
public final class VirtioBlkPci {
    private VirtioBlkPci() {
    }

    /** vectors' default: QEMU then gives one MSI-X vector per queue and one for configuration changes. */
    public static final long VECTORS_UNSPECIFIED = 0xffff_ffffL;
    /** QEMU's PCI_CLASS_STORAGE_OTHER, the one class value that changes the function's class code. */
    public static final long CLASS_STORAGE_OTHER = 0x0180;

    /** vectors and class are checked when the queue count is known. */
    public static final TypeInfo BASE = VirtioTypes.pciBase("virtio-blk",
            Property.of("vectors", PropType.UINT32, VECTORS_UNSPECIFIED),
            VirtioTypes.IOEVENTFD,
            Property.of("class", PropType.UINT32, 0L));

    public static final TypeInfo TYPE = VirtioTypes.pciGeneric("virtio-blk", VirtioBlk.TYPE.name())
            .category("Storage").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, VirtioBlkPci::realize, List.of("virtio-blk"));

    /**
     * In QEMU's order: the drive (taken when the property is set), the PCI slot, then the device's own
     * checks. A refusal gives the drive back.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        String backendPath = where.node().path() + "/virtio-backend";
        Drive drive = null;
        if (p.str("drive").isPresent()) {
            drive = BlockConf.attach(ctx.block(), p.str("drive").get(), backendPath, backendPath, null,
                    VirtioBlk.TYPE.name() + ".drive");
        }
        try {
            return realize(ctx, p, where, drive);
        } catch (PropertyException | RuntimeException e) {
            if (drive != null) {
                ctx.block().detach(drive);
            }
            throw e;
        }
    }

    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where, Drive drive)
            throws PropertyException {
        PciPlacement at = PciPlacement.choose(ctx.pci(), TYPE.name(), p.number("addr"));
        if (drive == null) {
            throw new PropertyException("drive property not set");
        }
        int queues = p.number("num-queues") == VirtioBlk.AUTO_NUM_QUEUES ? ctx.cpus() : p.int32("num-queues");
        long vectors = p.number("vectors");
        if (vectors != VECTORS_UNSPECIFIED && vectors != queues + 1L) {
            throw new PropertyException("jvmm's virtio-blk-pci has one MSI-X vector per queue and one for"
                    + " configuration changes: vectors=" + vectors + " is not supported (num-queues=" + queues
                    + " takes " + (queues + 1) + ")");
        }
        if (p.number("class") == CLASS_STORAGE_OTHER) {
            throw new PropertyException("jvmm's virtio-blk-pci is a SCSI storage controller: class=0x180 is not"
                    + " supported");
        }
        VirtioBlkOptions opts;
        try {
            opts = new VirtioBlkOptions(where.idOrEmpty(), BlockConf.serial(drive, p), queues,
                    p.int32("queue-size"), BlockConf.writeCache(drive, p));
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e.getMessage());
        }
        // a refused romfile must leave the drive as it was: read it before the device takes the drive
        Optional<PciBar> rom = OptionRom.load(ctx, p, VirtioBlk.PCI_CLASS_STORAGE_SCSI >>> 8);
        BlockConf.applyErrorPolicy(drive, p);
        VirtioBlk blk = new VirtioBlk(drive, opts);
        VirtioPciTransport f = new VirtioPciTransport(ctx.memory(), blk, ctx.msi(), VirtioTypes.ioevents(ctx, p), opts.id());
        f.addOptionRom(rom);
        ctx.pci().add(at.slot(), at.function(), f);
        describe(where, p, at, opts, blk);
        // the PCI bus resets the function; its section is the transport's, the device's own state inside
        return new Realized<>(f, () -> { }, f::close).withUnplug(() -> ctx.block().unplugged(drive));
    }

    /** The values QEMU shows once the device is realized, where they differ from the settled properties. */
    private static void describe(Placement where, PropertyValues p, PciPlacement at, VirtioBlkOptions opts,
            VirtioBlk blk) {
        QomNode n = where.node();
        at.describe(n);
        n.addConstant("vectors", "uint32", opts.numQueues() + 1L);
        QomNode backend = VirtioTypes.addBackend(where, p);
        // the backend's properties are the proxy's aliases: both read the realized values
        for (QomNode x : List.of(n, backend)) {
            x.addConstant("num-queues", "uint16", (long) opts.numQueues());
            x.addConstant("serial", "str", opts.serial());
            x.addConstant("drive", "str", p.str("drive").orElseThrow());
            x.addConstant("cyls", "uint32", (long) blk.geometry().cylinders());
            x.addConstant("heads", "uint32", (long) blk.geometry().heads());
            x.addConstant("secs", "uint32", (long) blk.geometry().sectors());
            x.addConstant("logical_block_size", "size", (long) VirtioBlk.SECTOR_SIZE);
            x.addConstant("physical_block_size", "size", (long) VirtioBlk.SECTOR_SIZE);
        }
        n.addConstant("bootindex", "int32", p.get("bootindex").orElse(-1L));
    }
}
