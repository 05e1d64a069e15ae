package dev.jvmm.cli;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.devices.model.DeviceModel;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * The machine's block backends: the block graph built from -drive, -blockdev and -snapshot (plus the default
 * CD-ROM drive without -nodefaults), and the devices QEMU's pc machine makes for the drives with an
 * interface: IDE units for if=ide, virtio-blk-pci for if=virtio. The devices themselves are the device
 * model's.
 */
final class BlockBackends implements AutoCloseable {
    /** Buses and units of the PIIX3 IDE function, where if=ide drives get a device. */
    private static final int IDE_BUSES = 2;
    private static final int IDE_UNITS = 2;

    private final BlockGraph graph;
    /** Each -drive's option as the user wrote it, for errors of the device made for it. */
    private final Map<Drive, String> options = new HashMap<>();

    BlockBackends(MachineConfig config, EventBus events, Executor mainLoop, Runnable ioErrorStop) {
        this(config, events, mainLoop, ioErrorStop, null);
    }

    /** fdSets: where /dev/fdset/N filenames are opened (null: nowhere). */
    BlockBackends(MachineConfig config, EventBus events, Executor mainLoop, Runnable ioErrorStop,
            dev.jvmm.core.fd.FdSets fdSets) {
        this.graph = new BlockGraph(events, mainLoop, ioErrorStop, BlockImageFactory.DEFAULT);
        graph.useFdSets(fdSets);
        try {
            // QEMU creates -blockdev nodes first, then -drive (which may name them), as configure_blockdev does.
            for (String b : config.blockdevs()) {
                withOption("-blockdev " + b, () -> graph.addBlockdev(b));
            }
            for (DriveArg arg : config.drives()) {
                addDrive(arg, config.snapshot());
            }
            if (!config.nodefaults()) {
                // QEMU's default empty CD-ROM (ide1-cd0) unless a drive already sits there.
                graph.addDefaultCdrom();
            }
        } catch (RuntimeException e) {
            graph.close();
            throw e;
        }
    }

    private void addDrive(DriveArg arg, boolean snapshot) {
        // serial= left -drive in QEMU 7.0 for -device's; jvmm still takes it for the drive's device.
        String serial = null;
        List<String> kept = new ArrayList<>();
        for (String part : QemuOpts.splitCommas(arg.text())) {
            if (part.startsWith("serial=")) {
                serial = part.substring("serial=".length());
            } else {
                kept.add(part.replace(",", ",,"));
            }
        }
        String text = String.join(",", kept);
        String withSnap = snapshot ? withSnapshot(text) : text;
        Drive[] made = new Drive[1];
        withOption(arg.option(), () -> made[0] = graph.addDrive(DriveOptions.parse(arg.option(), withSnap)));
        made[0].setSerial(serial);
        options.put(made[0], arg.option());
    }

    BlockGraph graph() {
        return graph;
    }

    /**
     * QEMU's pci_ide_create_devs: an ide-hd or ide-cd for each if=ide drive on buses 0 and 1, in index order,
     * as unattached devices. Drives on other buses are left to {@link #checkOrphans}.
     */
    void addIdeDriveDevices(DeviceModel devices) {
        List<Drive> drives = new ArrayList<>();
        for (Drive d : graph.drivesWithInterface("ide")) {
            BlockGraph.DriveLocation l = graph.location(d);
            if (l != null && l.bus() < IDE_BUSES && l.unit() < IDE_UNITS) {
                drives.add(d);
            }
        }
        drives.sort(Comparator.comparingInt(d -> graph.location(d).bus() * IDE_UNITS + graph.location(d).unit()));
        for (Drive d : drives) {
            BlockGraph.DriveLocation l = graph.location(d);
            devices.addUnattached(l.cdrom() ? "ide-cd" : "ide-hd",
                    Map.of("drive", d.name(), "unit", String.valueOf(l.unit())), "ide." + l.bus());
        }
    }

    /**
     * One virtio-blk-pci per if=virtio drive, after the -device options, as QEMU adds them to that list (so
     * they are numbered after the user's anonymous devices); their errors name the -drive option.
     */
    void addDefaultDevices(DeviceModel devices) {
        for (Drive d : graph.drivesWithInterface("virtio")) {
            devices.add(new QemuOpts(options.get(d), "virtio-blk-pci",
                    Map.of("driver", "virtio-blk-pci", "drive", d.name())));
        }
    }

    /** QEMU's drive_check_orphans, once every device is made: a drive no device took fails the launch. */
    void checkOrphans() {
        graph.checkOrphans();
    }

    /** -snapshot is snapshot=on for every -drive that does not say otherwise. */
    private static String withSnapshot(String drive) {
        QemuOpts o = QemuOpts.parse("-drive " + drive, drive, "file");
        return o.has("snapshot") ? drive : drive + ",snapshot=on";
    }

    private static void withOption(String option, Runnable r) {
        try {
            r.run();
        } catch (OptionException e) {
            throw e.option() == null ? new OptionException(option, e.getMessage()) : e;
        }
    }

    /** Closes every image; the devices using them are closed first, by the device model. */
    @Override
    public void close() {
        graph.close();
    }
}
