package dev.jvmm.cli;

import dev.jvmm.core.block.Drive;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.ide.AtaDrive;
import dev.jvmm.devices.ide.AtapiCdrom;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pc machine's IDE as PcMachine assembles it (no KVM needed): devices for if=ide drives, -device
 * ide-hd/ide-cd, the default CD-ROM, and QEMU 7.2's errors (tests/reference/ide/errors-cli.txt, q-*.txt).
 */
class IdeDevicesTest {
    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    /** What PcMachine makes of the command line's disks: the graph, the IDE devices, the -device options. */
    record Machine(BlockDevices disks, IdeDevices ide, PciBus pci) {
        Drive drive(String name) {
            return disks.graph().drive(name);
        }
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    Path image(String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    Machine machine(String... args) {
        MachineConfig c = IdeDriveOptionsTest.config(args);
        GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 1 << 20)));
        open.add(mem);
        PioBus pio = new PioBus();
        PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, new MmioBus()));
        BlockDevices disks = new BlockDevices(c, new EventBus(), Runnable::run, () -> { }, mem, pci, null, null);
        open.add(disks);
        IdeDevices ide = new IdeDevices(disks.graph(), mem, pio, pci, IrqLine.NONE, IrqLine.NONE,
                disks::driveSerial);
        try {
            ide.addDriveDevices(firstUnattached(c));
            int anon = 0;
            for (QemuOpts d : c.devices()) {
                String qom = d.has("id") ? "/machine/peripheral/" + d.get("id").get()
                        : "/machine/peripheral-anon/device[" + anon++ + "]";
                ide.addDevice(d, qom);
            }
            disks.checkOrphans();
        } catch (RuntimeException e) {
            // a refused machine releases its images (the process would end; this JVM goes on)
            disks.close();
            throw e;
        }
        return new Machine(disks, ide, pci);
    }

    /**
     * QEMU 7.2's /machine/unattached number of the first if=ide drive's device with one vCPU: after the
     * vCPU, kvmvapic, the board's devices and the serial ports (and, without -nodefaults, VGA, parallel
     * port, NIC and floppy drive). PcBoard counts the same way.
     */
    static int firstUnattached(MachineConfig c) {
        return 19 + c.serials().size() + (c.nodefaults() ? 0 : 4);
    }

    String error(String... args) {
        OptionException e = assertThrows(OptionException.class, () -> machine(args));
        return e.option() == null ? e.getMessage() : e.option() + ": " + e.getMessage();
    }

    @Test
    void controllerIsAlwaysThere() {
        Machine m = machine("-nodefaults");
        assertInstanceOf(Piix3Ide.class, m.pci().function(1, 1));
        assertNull(m.ide().controller().bus(0).device(0));
        assertTrue(m.disks().graph().drives().isEmpty());
    }

    @Test
    void hdaHddCdromInIndexOrderWithQemusPaths() throws IOException {
        Machine m = machine("-nodefaults", "-hda", image("a.img", 1 << 20).toString(), "-hdb",
                image("b.img", 1 << 20).toString(), "-hdd", image("d.img", 1 << 20).toString(), "-cdrom",
                image("cd.iso", 1 << 20).toString());
        assertEquals("/machine/unattached/device[19]", m.drive("ide0-hd0").qdev());
        assertEquals("/machine/unattached/device[20]", m.drive("ide0-hd1").qdev());
        assertEquals("/machine/unattached/device[21]", m.drive("ide1-cd0").qdev());
        assertEquals("/machine/unattached/device[22]", m.drive("ide1-hd1").qdev());
        assertInstanceOf(AtaDrive.class, m.ide().controller().bus(0).device(1));
        AtapiCdrom cd = assertInstanceOf(AtapiCdrom.class, m.ide().controller().bus(1).device(0));
        assertSame(m.drive("ide1-cd0"), cd.drive());
        assertEquals("QM00003", cd.serial());
        assertTrue(m.drive("ide1-cd0").removable());
        assertTrue(m.drive("ide1-cd0").hasTray());
        assertTrue(!m.drive("ide0-hd0").removable());
    }

    @Test
    void serialPortsCountBeforeIde() throws IOException {
        Machine m = machine("-nodefaults", "-serial", "null", "-cdrom", image("cd.iso", 1 << 20).toString());
        assertEquals("/machine/unattached/device[20]", m.drive("ide1-cd0").qdev());
    }

    @Test
    void defaultCdromWithoutNodefaults() {
        Machine m = machine();
        Drive cd = m.drive("ide1-cd0");
        assertNotNull(cd);
        assertTrue(!cd.hasMedium());
        assertEquals("/machine/unattached/device[24]", cd.qdev());
        assertInstanceOf(AtapiCdrom.class, m.ide().controller().bus(1).device(0));
    }

    @Test
    void deviceIdeHdAndIdeCd() throws IOException {
        Path hd = image("hd.img", 1 << 20);
        Machine m = machine("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=none,id=d0",
                "-device", "ide-hd,drive=d0,bus=ide.0,unit=1,serial=abc", "-device", "ide-cd,id=cd0");
        assertEquals("/machine/peripheral-anon/device[0]", m.drive("d0").qdev());
        AtaDrive disk = assertInstanceOf(AtaDrive.class, m.ide().controller().bus(0).device(1));
        assertEquals("abc", disk.serial());
        // without bus=, QEMU takes ide.1; an ide-cd without drive= has an anonymous empty drive
        AtapiCdrom cd = assertInstanceOf(AtapiCdrom.class, m.ide().controller().bus(1).device(0));
        assertEquals("", cd.drive().name());
        assertEquals("cd0", ((Drive) cd.drive()).qdev());
        assertTrue(((Drive) cd.drive()).hasTray());
    }

    @Test
    void qemusBusAndUnitErrors() throws IOException {
        assertEquals("-device ide-cd,bus=ide.2: Bus 'ide.2' not found", error("-nodefaults", "-device",
                "ide-cd,bus=ide.2"));
        assertEquals("-device ide-cd,bus=ide.0,unit=2: Can't create IDE unit 2, bus supports only 2 units",
                error("-nodefaults", "-device", "ide-cd,bus=ide.0,unit=2"));
        assertEquals("-device ide-cd,bus=ide.0,unit=0: IDE unit 0 is in use", error("-nodefaults", "-device",
                "ide-cd,bus=ide.0,unit=0", "-device", "ide-cd,bus=ide.0,unit=0"));
        assertEquals("-device ide-cd,bus=ide.0,unit=0: IDE unit 0 is in use", error("-nodefaults", "-hda",
                image("hd.img", 1 << 20).toString(), "-device", "ide-cd,bus=ide.0,unit=0"));
        assertEquals("-device ide-cd,id=c: IDE unit 1 is in use", error("-nodefaults", "-device", "ide-cd,id=a",
                "-device", "ide-cd,id=b", "-device", "ide-cd,id=c"));
        assertEquals("-device ide-cd,bus=ide.0,unit=0,foo=1: Property 'ide-cd.foo' not found",
                error("-nodefaults", "-device", "ide-cd,bus=ide.0,unit=0,foo=1"));
    }

    @Test
    void qemusDriveErrors() throws IOException {
        Path hd = image("hd.img", 1 << 20);
        assertEquals("-device ide-hd,bus=ide.0: No drive specified", error("-nodefaults", "-device",
                "ide-hd,bus=ide.0"));
        assertEquals("-device ide-hd,bus=ide.0,unit=0,drive=x: Property 'ide-hd.drive' can't find value 'x'",
                error("-nodefaults", "-device", "ide-hd,bus=ide.0,unit=0,drive=x"));
        assertEquals("Device needs media, but drive is empty", error("-nodefaults", "-drive", "if=ide,media=disk"));
        assertEquals("-device ide-hd,drive=d0: Device needs media, but drive is empty", error("-nodefaults",
                "-drive", "if=none,id=d0", "-device", "ide-hd,drive=d0"));
        assertEquals("-drive file=" + hd + ",format=raw,if=ide,index=4: machine type does not support"
                + " if=ide,bus=2,unit=0", error("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=ide,index=4"));
        assertEquals("-drive file=" + hd + ",format=raw,if=scsi: machine type does not support if=scsi,bus=0,unit=0",
                error("-nodefaults", "-drive", "file=" + hd + ",format=raw,if=scsi"));
        assertEquals("Block node is read-only", error("-nodefaults", "-drive", "file=" + hd
                + ",format=raw,if=ide,readonly=on"));
        assertEquals("-device ide-hd,drive=d: Block node is read-only", error("-nodefaults", "-drive", "file=" + hd
                + ",format=raw,if=none,id=d,readonly=on", "-device", "ide-hd,drive=d"));
        Path cd = image("cd.iso", 1 << 20);
        assertEquals("-device ide-cd,drive=cd0: Drive 'cd0' is already in use by another device",
                error("-nodefaults", "-drive", "if=none,id=cd0,media=cdrom,format=raw,file=" + cd, "-device",
                        "ide-cd,drive=cd0", "-device", "ide-cd,drive=cd0"));
    }
}
