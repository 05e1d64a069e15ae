package dev.jvmm.cli;

import dev.jvmm.core.block.BlockErrorPolicy;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.RemovableMediaDevice;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.ide.AtaDrive;
import dev.jvmm.devices.ide.AtaGeometry;
import dev.jvmm.devices.ide.AtapiCdrom;
import dev.jvmm.devices.ide.IdeBus;
import dev.jvmm.devices.ide.IdeDevice;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.pci.PciBus;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * The pc machine's IDE: the PIIX3 IDE function at 00:01.1 (always there, as on QEMU's pc), the ATA disks and
 * ATAPI CD-ROMs QEMU's pc_init1 makes for the if=ide drives (-hda..-hdd, -cdrom, the default CD-ROM), and
 * {@code -device ide-hd|ide-cd}. The CD-ROMs are the block graph's removable-media devices.
 */
final class IdeDevices {
    /** The ide-hd/ide-cd properties jvmm takes (QEMU's IDE_DEV_PROPERTIES that mean something here). */
    private static final String[] PROPERTIES = {
        "driver", "id", "drive", "bus", "unit", "serial", "werror", "rerror", "write-cache", "bootindex",
        "cyls", "heads", "secs", "share-rw",
    };
    /** Units per channel on QEMU's pc machine. */
    private static final int UNITS = 2;

    private final Piix3Ide ide;
    private final BlockGraph graph;
    private final Function<Drive, String> driveSerial;

    /**
     * @param driveSerial the serial= a -drive carried (null when none): QEMU 7.2 moved it to the device
     */
    IdeDevices(BlockGraph graph, GuestMemory memory, PioBus pio, PciBus pci, IrqLine irq14, IrqLine irq15,
            Function<Drive, String> driveSerial) {
        this.graph = graph;
        this.driveSerial = driveSerial;
        this.ide = new Piix3Ide(memory, irq14, irq15);
        ide.attach(pio);
        pci.add(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION, ide);
    }

    Piix3Ide controller() {
        return ide;
    }

    /**
     * QEMU's pci_ide_create_devs: one ide-hd or ide-cd per if=ide drive on buses 0 and 1, in index order, each
     * named /machine/unattached/device[N] from firstUnattached on. Drives on other buses are left to
     * {@link BlockGraph#checkOrphans}.
     *
     * @return how many devices it made
     */
    int addDriveDevices(int firstUnattached) {
        List<Drive> drives = new ArrayList<>();
        for (Drive d : graph.drivesWithInterface("ide")) {
            BlockGraph.DriveLocation l = graph.location(d);
            if (l != null && l.bus() < 2 && l.unit() < UNITS) {
                drives.add(d);
            }
        }
        drives.sort(Comparator.comparingInt(d -> graph.location(d).bus() * UNITS + graph.location(d).unit()));
        int n = firstUnattached;
        for (Drive d : drives) {
            BlockGraph.DriveLocation l = graph.location(d);
            String path = "/machine/unattached/device[" + n++ + "]";
            String serial = serial(driveSerial.apply(d), l.bus(), l.unit());
            IdeDevice dev;
            if (l.cdrom()) {
                AtapiCdrom cd = new AtapiCdrom(d, serial);
                graph.attachAuto(d, path, path, cd);
                dev = cd;
            } else {
                graph.attachAuto(d, path, path, null);
                checkWritable(d, null);
                dev = new AtaDrive(d, serial, null, d.cache().writeback());
            }
            ide.bus(l.bus()).attach(l.unit(), dev);
        }
        return drives.size();
    }

    /**
     * -device ide-hd or ide-cd.
     *
     * @param qomPath the device's QOM path (/machine/peripheral/ID or /machine/peripheral-anon/device[N])
     */
    void addDevice(QemuOpts d, String qomPath) {
        String driver = d.get("driver").orElseThrow();
        for (String k : d.values().keySet()) {
            if (!List.of(PROPERTIES).contains(k)) {
                throw new OptionException(d.option(), "Property '" + driver + "." + k + "' not found");
            }
        }
        boolean cdrom = driver.equals("ide-cd");
        // Without bus=, QEMU finds the last IDE bus created, ide.1, whether or not it has room.
        String busName = d.getOrDefault("bus", "ide.1");
        int channel = switch (busName) {
            case "ide.0" -> 0;
            case "ide.1" -> 1;
            default -> throw new OptionException(d.option(), "Bus '" + busName + "' not found");
        };
        String qdev = d.get("id").orElse(qomPath);
        TrayForward tray = cdrom ? new TrayForward() : null;
        Drive drive;
        try {
            drive = graph.attach(d.get("drive").orElse(null), qdev, qomPath, tray, driver + ".drive");
        } catch (OptionException e) {
            throw new OptionException(d.option(), e.getMessage());
        }
        IdeBus bus = ide.bus(channel);
        int unit;
        if (d.has("unit")) {
            unit = (int) d.getNumber("unit", 0);
            if (unit < 0 || unit >= UNITS) {
                throw new OptionException(d.option(), "Can't create IDE unit " + unit + ", bus supports only "
                        + UNITS + " units");
            }
        } else {
            unit = bus.device(0) != null ? 1 : 0;
        }
        if (bus.device(unit) != null) {
            throw new OptionException(d.option(), "IDE unit " + unit + " is in use");
        }
        BlockErrorPolicy werror = BlockDevices.devicePolicy(d, "werror");
        BlockErrorPolicy rerror = BlockDevices.devicePolicy(d, "rerror");
        if (werror != null || rerror != null) {
            drive.applyDevicePolicy(werror, rerror);
        }
        String serial = d.has("serial") ? d.get("serial").get() : serial(driveSerial.apply(drive), channel, unit);
        IdeDevice dev;
        if (cdrom) {
            AtapiCdrom cd = new AtapiCdrom(drive, serial);
            tray.target = cd;
            dev = cd;
        } else {
            checkWritable(drive, d.option());
            boolean writeCache = switch (d.getOrDefault("write-cache", "auto")) {
                case "auto" -> drive.cache().writeback();
                case "on" -> true;
                case "off" -> false;
                default -> throw new OptionException(d.option(), "Parameter 'write-cache' does not accept value '"
                        + d.get("write-cache").get() + "'");
            };
            dev = new AtaDrive(drive, serial, geometry(d), writeCache);
        }
        bus.attach(unit, dev);
    }

    /** QEMU's "QM%05d" of the channel's unit counter (1 + 2 * bus + unit) unless serial= was given. */
    private static String serial(String given, int channel, int unit) {
        return given != null && !given.isEmpty() ? given : IdeDevice.defaultSerial(channel, unit);
    }

    /** An ide-hd asks for write permission (blkconf_apply_backend_options); a read-only node refuses it. */
    private static void checkWritable(Drive d, String option) {
        if (d.readOnly()) {
            throw new OptionException(option, "Block node is read-only");
        }
    }

    private static AtaGeometry geometry(QemuOpts d) {
        if (!d.has("cyls") && !d.has("heads") && !d.has("secs")) {
            return null;
        }
        try {
            return new AtaGeometry((int) d.getNumber("cyls", 0), (int) d.getNumber("heads", 0),
                    (int) d.getNumber("secs", 0));
        } catch (IllegalArgumentException e) {
            throw new OptionException(d.option(), "cyls, heads and secs must be given together and in range (cyls"
                    + " 1-65535, heads 1-16, secs 1-255)");
        }
    }

    /**
     * The CD-ROM's tray as the graph sees it while -device ide-cd is being made: the graph needs the device
     * when it attaches the drive, and the device needs that drive, so this forwards to it once it exists.
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
