package dev.jvmm.devices.pci;

import dev.jvmm.core.machine.PciDeviceInfo;
import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.devices.pci.PciMachineFixture.TestFunction;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jvmm.devices.pci.PciMachineFixture.tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** INTx swizzle and sharing, BAR sizing and mapping, and the firmware-less resource assignment. */
class PciRoutingAndBarTest {
    final PciMachineFixture m = new PciMachineFixture();

    TestFunction plain(int pin) {
        return new TestFunction(0x1000, 0x020000, pin);
    }

    @Test
    void swizzleIsQemuI440fx() {
        assertEquals(0, PciInterruptRouter.pirqFor(1, 1));
        assertEquals(1, PciInterruptRouter.pirqFor(1, 2));
        assertEquals(3, PciInterruptRouter.pirqFor(0, 1));
        assertEquals(2, PciInterruptRouter.pirqFor(3, 1));
        assertEquals(3, PciInterruptRouter.pirqFor(4, 1));
        assertEquals(0, PciInterruptRouter.pirqFor(4, 2));
        assertEquals(1, PciInterruptRouter.pirqFor(31, 4));
        assertThrows(IllegalArgumentException.class, () -> PciInterruptRouter.pirqFor(1, 0));
        assertThrows(IllegalArgumentException.class, () -> PciInterruptRouter.pirqFor(1, 5));
    }

    @Test
    void intxReachesTheRoutedIsaIrq() {
        TestFunction f = plain(1);
        m.bus.add(3, 0, f);
        f.intx.setLevel(true);
        assertFalse(m.irqLevel[11], "routes are disabled at reset");
        m.piix3.programFirmwareRoutes();
        assertTrue(m.irqLevel[11], "slot 3 INTA -> PIRQC -> IRQ 11");
        f.intx.setLevel(false);
        assertFalse(m.irqLevel[11]);
        // the guest re-routes PIRQC while the line is high: the old IRQ drops, the new one rises
        f.intx.setLevel(true);
        m.write(1, 0, 0x62, 1, 5);
        assertFalse(m.irqLevel[11]);
        assertTrue(m.irqLevel[5]);
        m.write(1, 0, 0x62, 1, 0x85);
        assertFalse(m.irqLevel[5], "bit 7 disables the route");
    }

    @Test
    void sharedLevelsAreOred() {
        m.piix3.programFirmwareRoutes();
        TestFunction a = plain(1);
        TestFunction b = plain(1);
        TestFunction c = plain(1);
        m.bus.add(1, 2, a);  // PIRQA -> 10
        m.bus.add(2, 0, b);  // PIRQB -> 10
        m.bus.add(5, 0, c);  // PIRQA -> 10
        a.intx.setLevel(true);
        b.intx.setLevel(true);
        c.intx.setLevel(true);
        c.intx.setLevel(true);
        assertTrue(m.irqLevel[10]);
        a.intx.setLevel(false);
        c.intx.setLevel(false);
        assertTrue(m.irqLevel[10], "b still holds the shared IRQ");
        b.intx.setLevel(false);
        assertFalse(m.irqLevel[10]);
        assertEquals(List.of("10+", "10-"), m.irqLog);
    }

    @Test
    void interruptDisableMasksTheLine() {
        m.piix3.programFirmwareRoutes();
        TestFunction f = plain(2);
        m.bus.add(3, 0, f); // INTB -> PIRQD -> 11
        f.intx.setLevel(true);
        assertTrue(m.irqLevel[11]);
        assertEquals(0x0008, m.read(3, 0, 0x06, 2), "STATUS.Interrupt Status follows the wire");
        m.write(3, 0, 0x04, 2, PciConfigSpace.COMMAND_INTX_DISABLE);
        assertFalse(m.irqLevel[11]);
        assertEquals(0x0008, m.read(3, 0, 0x06, 2), "masking does not clear the status bit");
        m.write(3, 0, 0x04, 2, 0);
        assertTrue(m.irqLevel[11]);
        m.bus.reset();
        assertFalse(m.irqLevel[11], "reset lowers INTx and disables routes");
        assertFalse(f.intx.level());
        assertEquals(0, m.read(3, 0, 0x06, 2));
    }

    @Test
    void functionsWithoutPinGetNoLine() {
        TestFunction f = plain(0);
        m.bus.add(3, 0, f);
        assertEquals(null, f.intx);
    }

    TestFunction withBars() {
        return new TestFunction(0x1000, 0x020000, 1,
                new PciBar(0, PciBar.Kind.IO, 32, false, tag(0x100)),
                new PciBar(1, PciBar.Kind.MEMORY32, 4096, false, tag(0x200)),
                new PciBar(4, PciBar.Kind.MEMORY64, 16384, true, tag(0x300)));
    }

    @Test
    void barSizing() {
        m.bus.add(3, 0, withBars());
        assertEquals(0x00000001, m.read(3, 0, 0x10, 4));
        assertEquals(0x00000000, m.read(3, 0, 0x14, 4));
        assertEquals(0x0000000c, m.read(3, 0, 0x20, 4));
        for (int off = 0x10; off < 0x28; off += 4) {
            m.write(3, 0, off, 4, 0xffffffff);
        }
        assertEquals(0xffffffe1, m.read(3, 0, 0x10, 4));
        assertEquals(0xfffff000, m.read(3, 0, 0x14, 4));
        assertEquals(0x00000000, m.read(3, 0, 0x18, 4), "unimplemented BARs are read-only zero");
        assertEquals(0xffffc00c, m.read(3, 0, 0x20, 4));
        assertEquals(0xffffffff, m.read(3, 0, 0x24, 4));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(0, PciBar.Kind.IO, 24, false, tag(0)));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(5, PciBar.Kind.MEMORY64, 16, false, tag(0)));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(0, PciBar.Kind.MEMORY32, 8, false, tag(0)));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(0, PciBar.Kind.IO, 16, true, tag(0)));
    }

    @Test
    void barsMapOnlyWhileDecodingIsEnabled() {
        m.bus.add(3, 0, withBars());
        m.write(3, 0, 0x10, 4, 0xd000);
        m.write(3, 0, 0x14, 4, 0xfe000000);
        m.write(3, 0, 0x20, 4, 0x0000_0000);
        m.write(3, 0, 0x24, 4, 0x1);
        assertFalse(m.pio.isAssigned(0xd000), "COMMAND.IO is clear");
        m.write(3, 0, 0x04, 2, PciConfigSpace.COMMAND_IO);
        assertEquals(0x104L, m.pio.read(0xd004, 1));
        assertFalse(m.mmio.isAssigned(0xfe000000L));
        m.write(3, 0, 0x04, 2, PciConfigSpace.COMMAND_IO | PciConfigSpace.COMMAND_MEMORY);
        assertEquals(0x208L, m.mmio.read(0xfe000008L, 4));
        assertEquals(0x300L, m.mmio.read(0x1_0000_0000L, 4), "64-bit BAR above 4 GiB");
        // the guest moves the I/O BAR: old range released, new one served
        m.write(3, 0, 0x10, 4, 0xd100);
        assertFalse(m.pio.isAssigned(0xd000));
        assertEquals(0x101L, m.pio.read(0xd101, 1));
        // sizing with decoding on leaves it unmapped (QEMU: ranges touching 4 GiB are not placed)
        m.write(3, 0, 0x14, 4, 0xffffffff);
        assertFalse(m.mmio.isAssigned(0xfffff000L));
        assertEquals(-1L, m.bus.mappedAddress(3, 0, 1));
        m.write(3, 0, 0x24, 4, 0x0010_0000); // 2^52: beyond the physical address space
        assertEquals(-1L, m.bus.mappedAddress(3, 0, 4));
        m.write(3, 0, 0x24, 4, 0x1);
        assertEquals(0x1_0000_0000L, m.bus.mappedAddress(3, 0, 4));
        m.write(3, 0, 0x04, 2, 0);
        assertFalse(m.pio.isAssigned(0xd100));
        assertFalse(m.mmio.isAssigned(0x1_0000_0000L));
    }

    @Test
    void conflictingOrImpossibleBarsStayUnmappedWithoutFailing() {
        m.bus.add(3, 0, withBars());
        m.write(3, 0, 0x04, 2, PciConfigSpace.COMMAND_IO);
        m.write(3, 0, 0x10, 4, 0xcf0); // overlaps the config ports 0xcf8-0xcff
        assertEquals(-1L, m.bus.mappedAddress(3, 0, 0));
        assertEquals(0x80000000L, m.pio.read(0xcf8, 4) & 0x80000000L, "config ports untouched");
        m.write(3, 0, 0x10, 4, 0x1_fff0); // beyond the 64 KiB port space
        assertEquals(-1L, m.bus.mappedAddress(3, 0, 0));
        m.write(3, 0, 0x10, 4, 0xc000);
        assertEquals(0xc000L, m.bus.mappedAddress(3, 0, 0));
    }

    @Test
    void assignResourcesLikeSeaBios() {
        // the QEMU 7.2 machine of the report (-vga std, virtio-net-pci, e1000) without option ROM BARs
        TestFunction ide = new TestFunction(0x7010, 0x010180, 0, new PciBar(4, PciBar.Kind.IO, 16, false, tag(1)));
        TestFunction vga = new TestFunction(0x1111, 0x030000, 0,
                new PciBar(0, PciBar.Kind.MEMORY32, 16 << 20, true, tag(2)),
                new PciBar(2, PciBar.Kind.MEMORY32, 4096, false, tag(3)));
        TestFunction virtio = new TestFunction(0x1000, 0x020000, 1,
                new PciBar(0, PciBar.Kind.IO, 32, false, tag(4)),
                new PciBar(1, PciBar.Kind.MEMORY32, 4096, false, tag(5)),
                new PciBar(4, PciBar.Kind.MEMORY64, 16384, true, tag(6)));
        TestFunction e1000 = new TestFunction(0x100e, 0x020000, 1,
                new PciBar(0, PciBar.Kind.MEMORY32, 128 << 10, false, tag(7)),
                new PciBar(1, PciBar.Kind.IO, 64, false, tag(8)));
        m.bus.add(1, 1, ide);
        m.bus.add(2, 0, vga);
        m.bus.add(3, 0, virtio);
        m.bus.add(4, 0, e1000);
        m.piix3.programFirmwareRoutes();
        m.bus.assignResources();
        // I/O as QEMU+SeaBIOS: e1000 0xc000, virtio 0xc040, IDE 0xc060
        assertEquals(0xc000L, m.bus.mappedAddress(4, 0, 1));
        assertEquals(0xc040L, m.bus.mappedAddress(3, 0, 0));
        assertEquals(0xc060L, m.bus.mappedAddress(1, 1, 4));
        // prefetchable as QEMU+SeaBIOS: VGA 0xfd000000, virtio 64-bit 0xfe000000
        assertEquals(0xfd000000L, m.bus.mappedAddress(2, 0, 0));
        assertEquals(0xfe000000L, m.bus.mappedAddress(3, 0, 4));
        // memory: e1000 0xfebc0000 as QEMU; the 4 KiB BARs follow it (QEMU's ROM BARs push them higher)
        assertEquals(0xfebc0000L, m.bus.mappedAddress(4, 0, 0));
        assertEquals(0xfebe0000L, m.bus.mappedAddress(2, 0, 2));
        assertEquals(0xfebe1000L, m.bus.mappedAddress(3, 0, 1));
        assertEquals(0x0103, m.read(3, 0, 0x04, 2));
        assertEquals(11, m.read(3, 0, 0x3c, 1), "slot 3 INTA -> PIRQC -> 11");
        assertEquals(11, m.read(4, 0, 0x3c, 1), "slot 4 INTA -> PIRQD -> 11");
        assertEquals(0, m.read(1, 1, 0x3c, 1), "no pin, no line");
        assertEquals(0x0000c041, m.read(3, 0, 0x10, 4));
        assertEquals(0xfe00000c, m.read(3, 0, 0x20, 4));
        assertEquals(0x4L, m.pio.read(0xc040, 1));

        PciDeviceInfo v = m.bus.describe().get(0).devices().stream().filter(d -> d.slot() == 3).findFirst()
                .orElseThrow();
        assertEquals(List.of(new PciRegionInfo(0, true, 0xc040, 32, false, false),
                new PciRegionInfo(1, false, 0xfebe1000L, 4096, false, false),
                new PciRegionInfo(4, false, 0xfe000000L, 16384, true, true)), v.regions());
        assertEquals(11, v.irq());
        assertEquals(1, v.irqPin());
        assertTrue(v.hasIrq());
        assertEquals("memory", v.regions().get(1).type());
        m.bus.reset();
        assertEquals(-1L, m.bus.describe().get(0).devices().get(2).regions().get(0).address(),
                "undecoded BARs report -1 as QEMU");
    }

    @Test
    void firmwareSetupRunsAfterInterruptLineAndBeforeCommand() {
        List<String> seen = new java.util.ArrayList<>();
        TestFunction pm = new TestFunction(0x7113, 0x068000, 1) {
            @Override
            public void firmwareSetup() {
                seen.add("line " + readConfig(0x3c, 1) + " command " + readConfig(0x04, 2));
                writeConfig(0x3c, 1, 9); // SeaBIOS: the PIIX4 SCI is hardwired to IRQ 9
            }
        };
        m.bus.add(1, 3, pm);
        m.piix3.programFirmwareRoutes();
        m.bus.assignResources();
        assertEquals(List.of("line 10 command 0"), seen);
        assertEquals(9, m.read(1, 3, 0x3c, 1));
        assertEquals(0x0103, m.read(1, 3, 0x04, 2));
        PciDeviceInfo info = m.bus.describe().get(0).devices().get(2);
        assertEquals(9, info.irq());
        assertEquals(1, info.irqPin());
    }

    @Test
    void concurrentSharedLevelsSettle() throws Exception {
        m.piix3.programFirmwareRoutes();
        TestFunction[] fs = new TestFunction[8];
        for (int i = 0; i < fs.length; i++) {
            fs[i] = plain(1);
            m.bus.add(8 + 4 * (i % 2), i / 2, fs[i]); // slots 8 and 12: INTA -> PIRQD -> IRQ 11
        }
        Thread[] ts = new Thread[fs.length];
        for (int i = 0; i < fs.length; i++) {
            TestFunction f = fs[i];
            ts[i] = new Thread(() -> {
                for (int k = 0; k < 2000; k++) {
                    f.intx.setLevel((k & 1) == 0);
                }
            });
            ts[i].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertFalse(m.irqLevel[11], "every line ended low");
        fs[3].intx.setLevel(true);
        assertTrue(m.irqLevel[11]);
    }
}
