package dev.jvmm.cli;

import dev.jvmm.core.block.BlockErrorPolicy;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.virtio.VirtioBlk;
import dev.jvmm.devices.virtio.VirtioBlkOptions;
import dev.jvmm.devices.virtio.VirtioPciTransport;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The machine's disks: the block graph built from -drive, -blockdev and -snapshot (plus the default CD-ROM
 * drive without -nodefaults), and the virtio-blk-pci functions that use it (from -device, and one per if=virtio
 * drive as QEMU's default devices). The IDE devices over the same graph are {@link IdeDevices}.
 */
final class BlockDevices implements AutoCloseable {
    /** The -device virtio-blk-pci properties jvmm takes; anything else is refused as QEMU refuses unknown ones. */
    private static final String[] VIRTIO_BLK_PROPERTIES = {
        "driver", "id", "drive", "serial", "num-queues", "queue-size", "addr", "bootindex", "werror", "rerror",
        "write-cache", "disable-legacy", "disable-modern", "ioeventfd", "multifunction", "rombar", "romfile",
        "x-pcie-lnkctl-init", "event_idx", "indirect_desc", "bus",
    };

    private final BlockGraph graph;
    private final GuestMemory memory;
    private final PciBus pci;
    private final MsiRouter msi;
    private final IoEventRegistry ioevents;
    private final List<VirtioPciTransport> functions = new ArrayList<>();
    /** QEMU 7.2's virtio-blk-pci num-queues default: one queue per vCPU. */
    private final int defaultQueues;
    /** -drive serial= values, for the device made for the drive. */
    private final java.util.Map<Drive, String> serials = new java.util.HashMap<>();

    BlockDevices(MachineConfig config, EventBus events, Executor mainLoop, Runnable ioErrorStop, GuestMemory memory,
                 PciBus pci, MsiRouter msi, IoEventRegistry ioevents) {
        this.graph = new BlockGraph(events, mainLoop, ioErrorStop, BlockImageFactory.DEFAULT);
        this.memory = memory;
        this.pci = pci;
        this.msi = msi;
        this.ioevents = ioevents;
        this.defaultQueues = config.smp().cpus();
        try {
            // QEMU creates -blockdev nodes first, then -drive (which may name them), as configure_blockdev does.
            for (String b : config.blockdevs()) {
                withOption("-blockdev " + b, () -> graph.addBlockdev(b));
            }
            for (DriveArg arg : config.drives()) {
                String d = arg.text();
                // serial= left -drive in QEMU 7.0 for -device's; jvmm still takes it for the if=virtio device.
                String serial = null;
                List<String> kept = new ArrayList<>();
                for (String part : QemuOpts.splitCommas(d)) {
                    if (part.startsWith("serial=")) {
                        serial = part.substring("serial=".length());
                    } else {
                        kept.add(part.replace(",", ",,"));
                    }
                }
                String text = String.join(",", kept);
                String withSnap = config.snapshot() ? withSnapshot(text) : text;
                Drive[] made = new Drive[1];
                withOption(arg.option(), () -> made[0] = graph.addDrive(DriveOptions.parse(arg.option(), withSnap)));
                if (serial != null) {
                    serials.put(made[0], serial);
                }
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

    BlockGraph graph() {
        return graph;
    }

    /** The serial= a -drive carried, or null. */
    String driveSerial(Drive d) {
        return serials.get(d);
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

    /**
     * -device virtio-blk-pci.
     *
     * @param qomPath the device's QOM path (/machine/peripheral/ID or /machine/peripheral-anon/device[N])
     */
    void addVirtioBlkPci(QemuOpts d, String qomPath) {
        d.requireOnly(VIRTIO_BLK_PROPERTIES);
        // libvirt names the bus; the PC machine has one, QEMU's "pci.0".
        String bus = d.getOrDefault("bus", "pci.0");
        if (!bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        String driveName = d.get("drive").orElseThrow(
                () -> new OptionException(d.option(), "drive property not set"));
        if (d.has("disable-legacy") && !d.get("disable-legacy").get().equals("auto") && !d.getBool("disable-legacy", true)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-legacy=off"
                    + " is not supported");
        }
        if (d.getBool("disable-modern", false)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-modern=on"
                    + " is not supported");
        }
        for (String fixed : new String[] {"event_idx", "indirect_desc", "ioeventfd", "rombar"}) {
            if (d.has(fixed) && !d.getBool(fixed, true)) {
                throw new OptionException(d.option(), "property '" + fixed + "=off' is not supported by jvmm");
            }
        }
        Drive drive;
        try {
            drive = graph.attach(driveName, qomPath + "/virtio-backend", "virtio-blk-device.drive");
        } catch (OptionException e) {
            throw new OptionException(d.option(), e.getMessage());
        }
        BlockErrorPolicy werror = devicePolicy(d, "werror");
        BlockErrorPolicy rerror = devicePolicy(d, "rerror");
        if (werror != null || rerror != null) {
            drive.applyDevicePolicy(werror, rerror);
        }
        boolean writeCache = switch (d.getOrDefault("write-cache", "auto")) {
            case "auto" -> drive.cache().writeback();
            case "on" -> true;
            case "off" -> false;
            default -> throw new OptionException(d.option(), "Parameter 'write-cache' does not accept value '"
                    + d.get("write-cache").get() + "'");
        };
        VirtioBlkOptions opts;
        try {
            opts = new VirtioBlkOptions(d.getOrDefault("id", ""), d.getOrDefault("serial",
                    serials.getOrDefault(drive, "")),
                    (int) d.getNumber("num-queues", defaultQueues), (int) d.getNumber("queue-size",
                    VirtioBlkOptions.DEFAULT_QUEUE_SIZE), writeCache);
        } catch (IllegalArgumentException e) {
            throw new OptionException(d.option(), e.getMessage());
        }
        plug(VirtioBlk.pci(memory, drive, opts, msi, ioevents), d.get("addr").orElse(null), d.option());
    }

    /** One virtio-blk-pci per if=virtio drive, after the -device options, as QEMU adds them to that list. */
    void addDefaultDevices(java.util.function.Supplier<String> anonymousPath) {
        for (Drive drive : graph.drivesWithInterface("virtio")) {
            String path = anonymousPath.get();
            graph.attachAuto(drive, path + "/virtio-backend");
            VirtioBlkOptions opts = new VirtioBlkOptions("", serials.getOrDefault(drive, ""), defaultQueues,
                    VirtioBlkOptions.DEFAULT_QUEUE_SIZE, drive.cache().writeback());
            plug(VirtioBlk.pci(memory, drive, opts, msi, ioevents), null, "-drive " + drive.name());
        }
    }

    static BlockErrorPolicy devicePolicy(QemuOpts d, String key) {
        if (!d.has(key)) {
            return null;
        }
        String v = d.get(key).get();
        // The device properties are QEMU's BlockdevOnError: unlike -drive rerror=, they take enospc for reads too.
        BlockErrorPolicy p = v.equals("auto") ? BlockErrorPolicy.AUTO : BlockErrorPolicy.parseDriveOption(v, false);
        if (p == null) {
            throw new OptionException(d.option(), "Parameter '" + key + "' does not accept value '" + v + "'");
        }
        return p;
    }

    /** Flushes every drive (QEMU flushes all block devices before it exits); returns the first error. */
    IOException flushAll() {
        return graph.flushAll();
    }

    /** Plugs f at addr= or the first free slot; a refused place closes f. */
    private void plug(VirtioPciTransport f, String addr, String option) {
        LegacyPci.plug(pci, f, "virtio-blk-pci", addr, option);
        functions.add(f);
    }

    @Override
    public void close() {
        for (VirtioPciTransport f : functions) {
            f.close();
        }
        graph.close();
    }
}
