package dev.jvmm.cli;

import dev.jvmm.core.block.Drive;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.ide.AtaDrive;
import dev.jvmm.devices.ide.AtapiCdrom;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;
import dev.jvmm.devices.virtio.VirtioPciTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The disks' part of PcMachine's assembly without KVM: the block graph from the options, the PIIX3 IDE
 * function at its QEMU number, the units of the if=ide drives (-hda..-hdd, -cdrom, the default CD-ROM), the
 * -device options, the virtio-blk-pci of each if=virtio drive, the orphan check, in pc_init1's order.
 */
class DriveDevicesTest {
    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    record Machine(BlockBackends drives, DeviceModel devices, PciBus pci) {
        Drive drive(String name) {
            return drives.graph().drive(name);
        }

        Piix3Ide ide() {
            return assertInstanceOf(Piix3Ide.class, pci.function(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION));
        }
    }

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    Path image(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return p;
    }

    Machine machine(String... args) {
        MachineConfig c = IdeDriveOptionsTest.config(args);
        GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 4 << 20)));
        open.add(mem);
        PioBus pio = new PioBus();
        PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, new MmioBus()));
        EventBus events = new EventBus();
        BlockBackends drives = new BlockBackends(c, events, Runnable::run, () -> { });
        open.add(drives);
        DeviceModel devices = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), c.globals(),
                "pc-i440fx-7.2-machine");
        devices.addBus(devices.machineNode().addChild("i440fx", "i440FX-pcihost"), "pci.0", "PCI", pci);
        MsiRouter msi = () -> new MsiRouter.MsiVector() {
            @Override
            public void update(long address, int data) {
            }

            @Override
            public void trigger() {
            }

            @Override
            public void close() {
            }
        };
        devices.bind(new PcDeviceContext(mem, pio, pci, n -> IrqLine.NONE, msi, IoEventRegistry.NONE, events, null,
                null, null, drives.graph(), null, System.err, 1, 4 << 20, d -> { }, 4 << 20, 0, null,
                dev.jvmm.core.memory.LowMemoryWindows.FIXED_RAM, name -> java.util.Optional.empty(),
                new java.util.ArrayList<>(), new dev.jvmm.core.net.NetClients()));
        try {
            while (devices.unattachedCount() < ideFunctionNumber(c, 1)) {
                devices.skipUnattached();
            }
            devices.addUnattached("piix3-ide", Map.of("addr", "01.1"));
            drives.addIdeDriveDevices(devices);
            for (QemuOpts d : c.devices()) {
                devices.add(d);
            }
            drives.addDefaultDevices(devices);
            drives.checkOrphans();
        } catch (RuntimeException e) {
            // a refused machine releases its images at once, as the process would (the next one opens them)
            devices.closeAll();
            drives.close();
            open.remove(drives);
            throw e;
        }
        open.add(devices::closeAll);
        return new Machine(drives, devices, pci);
    }

    String error(String... args) {
        OptionException e = assertThrows(OptionException.class, () -> machine(args));
        return e.formatted();
    }

    @Test
    void theFunctionIsAlwaysThere() {
        Machine m = machine("-nodefaults");
        assertEquals(null, m.ide().bus(0).device(0));
        assertTrue(m.drives().graph().drives().isEmpty());
        assertTrue(m.devices().tree().resolve("/machine/unattached/device[18]/ide.1").isPresent());
    }

    @Test
    void hdaHddCdromInIndexOrderWithQemusPaths() throws IOException {
        Machine m = machine("-nodefaults", "-hda", image("a.img").toString(), "-hdb", image("b.img").toString(),
                "-hdd", image("d.img").toString(), "-cdrom", image("cd.iso").toString());
        assertEquals("/machine/unattached/device[19]", m.drive("ide0-hd0").qdev());
        assertEquals("/machine/unattached/device[20]", m.drive("ide0-hd1").qdev());
        assertEquals("/machine/unattached/device[21]", m.drive("ide1-cd0").qdev());
        assertEquals("/machine/unattached/device[22]", m.drive("ide1-hd1").qdev());
        assertInstanceOf(AtaDrive.class, m.ide().bus(0).device(1));
        AtapiCdrom cd = assertInstanceOf(AtapiCdrom.class, m.ide().bus(1).device(0));
        assertEquals("QM00003", cd.serial());
        assertTrue(m.drive("ide1-cd0").hasTray());
        assertFalse(m.drive("ide0-hd0").removable());
    }

    @Test
    void serialPortsCountBeforeIde() throws IOException {
        Machine m = machine("-nodefaults", "-serial", "null", "-cdrom", image("cd.iso").toString());
        assertEquals("/machine/unattached/device[20]", m.drive("ide1-cd0").qdev());
    }

    @Test
    void defaultCdromWithoutNodefaults() {
        Machine m = machine();
        Drive cd = m.drive("ide1-cd0");
        assertNotNull(cd);
        assertFalse(cd.hasMedium());
        assertEquals("/machine/unattached/device[24]", cd.qdev());
        assertInstanceOf(AtapiCdrom.class, m.ide().bus(1).device(0));
    }

    @Test
    void ifVirtioDevicesFollowTheDeviceOptions() throws IOException {
        Path v = image("v.img");
        Machine m = machine("-nodefaults", "-drive", "file=" + v + ",format=raw,if=virtio,serial=S1", "-drive",
                "file=" + image("d.img") + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0");
        assertEquals("/machine/peripheral-anon/device[0]/virtio-backend", m.drive("d0").qdev());
        assertEquals("/machine/peripheral-anon/device[1]/virtio-backend", m.drive("virtio0").qdev());
        assertEquals("S1", m.drive("virtio0").serial());
        assertInstanceOf(VirtioPciTransport.class, m.pci().function(3, 0));
    }

    @Test
    void errorsNameTheirOption() throws IOException {
        Path hd = image("hd.img");
        assertEquals("-drive file=" + hd + ",format=raw,if=ide,index=4: machine type does not support"
                + " if=ide,bus=2,unit=0", error("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=ide,index=4"));
        assertEquals("-drive file=" + hd + ",format=raw,if=scsi: machine type does not support if=scsi,bus=0,unit=0",
                error("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=scsi"));
        assertEquals("Device needs media, but drive is empty", error("-nodefaults", "-drive", "if=ide,media=disk"));
        assertEquals("-drive if=virtio: Device needs media, but drive is empty",
                error("-nodefaults", "-drive", "if=virtio"));
        assertEquals("-drive file=" + hd + ",format=raw,if=virtio: Drive 'virtio0' is already in use because it has"
                + " been automatically connected to another device (did you need 'if=none' in the drive options?)",
                error("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=virtio", "-device",
                        "virtio-blk-pci,drive=virtio0"));
        assertEquals("-device ide-cd,bus=ide.0,unit=0: IDE unit 0 is in use", error("-nodefaults", "-hda",
                hd.toString(), "-device", "ide-cd,bus=ide.0,unit=0"));
    }

    /** QEMU 7.2's /machine/unattached number of piix3-ide: the vCPUs and the board devices made before it. */
    static int ideFunctionNumber(MachineConfig config, int cpus) {
        return cpus + 17 + config.serials().size() + (config.nodefaults() ? 0 : 4);
    }
}
