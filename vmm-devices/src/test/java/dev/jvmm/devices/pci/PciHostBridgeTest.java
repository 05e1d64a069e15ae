package dev.jvmm.devices.pci;

import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciDeviceInfo;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration Mechanism #1, the i440FX and PIIX3 functions, RCR and reset, against QEMU 7.2's values. */
class PciHostBridgeTest {
    final PciMachineFixture m = new PciMachineFixture();

    @Test
    void identityAtEveryWidth() {
        assertEquals(0x12378086, m.read(0, 0, 0x00, 4));
        assertEquals(0x8086, m.read(0, 0, 0x00, 2));
        assertEquals(0x1237, m.read(0, 0, 0x02, 2));
        assertEquals(0x86, m.read(0, 0, 0x00, 1));
        assertEquals(0x12, m.read(0, 0, 0x03, 1));
        assertEquals(0x06000002, m.read(0, 0, 0x08, 4));
        assertEquals(0x11001af4, m.read(0, 0, 0x2c, 4));
        assertEquals(0x10000000, m.read(0, 0, 0x54, 4), "QEMU's RAM size byte: 128 MiB / 8 MiB");
        assertEquals(0x00020000, m.read(0, 0, 0x70, 4), "SMRAM reset 0x02");
        assertEquals(0x70008086, m.read(1, 0, 0x00, 4));
        assertEquals(0x02000000, m.read(1, 0, 0x04, 4));
        assertEquals(0x06010000, m.read(1, 0, 0x08, 4));
        assertEquals(0x00800000, m.read(1, 0, 0x0c, 4));
        assertEquals(0x0003004d, m.read(1, 0, 0x4c, 4));
        assertEquals(0x80808080, m.read(1, 0, 0x60, 4));
        assertEquals(0x80, m.read(1, 0, 0x62, 1));
        assertEquals(0x0c0c0000, m.read(1, 0, 0x74, 4));
        assertEquals(0x0000000f, m.read(1, 0, 0xa8, 4));
    }

    @Test
    void absentFunctionsAndOtherBusesReadAllOnes() {
        assertEquals(0xffffffff, m.read(5, 0, 0, 4));
        assertEquals(0xffff, m.read(5, 0, 0, 2));
        assertEquals(0xff, m.read(0, 1, 0, 1));
        m.pio.write(0xcf8, 4, 0x8001_0000L);
        assertEquals(0xffffffffL, m.pio.read(0xcfc, 4));
        m.write(5, 0, 0x04, 2, 0xffff);
        assertEquals(0xffffffff, m.read(5, 0, 0x04, 4));
    }

    @Test
    void withoutEnableBitDataPortReadsOnesAndDropsWrites() {
        m.pio.write(0xcf8, 4, 0x0000_0004L);
        assertEquals(0xffffffffL, m.pio.read(0xcfc, 4));
        assertEquals(0xffL, m.pio.read(0xcfd, 1));
        m.pio.write(0xcfc, 2, 0x0007);
        assertEquals(0, m.read(0, 0, 0x04, 2));
    }

    @Test
    void configAddressTakesOnlyDwordWritesAndKeepsLowBits() {
        m.pio.write(0xcf8, 4, 0x8000_0003L);
        assertEquals(0x80000003L, m.pio.read(0xcf8, 4));
        m.pio.write(0xcf8, 1, 0x12);
        m.pio.write(0xcfa, 2, 0x1234);
        assertEquals(0x80000003L, m.pio.read(0xcf8, 4));
        assertEquals(0x03L, m.pio.read(0xcf8, 1));
        assertEquals(0x0003L, m.pio.read(0xcfa, 2), "QEMU returns the low bytes whatever the offset");
        // low bits are OR-ed with the data port offset: a dword at register 2
        m.pio.write(0xcf8, 4, 0x8000_0002L);
        assertEquals(0x00001237L, m.pio.read(0xcfc, 4));
        assertEquals(0x1237L, m.pio.read(0xcfc, 2));
    }

    @Test
    void unalignedDataPortAccessesSplitAsQemu() {
        m.pio.write(0xcf8, 4, 0x8000_0000L);
        assertEquals(0x80L, m.pio.read(0xcfd, 1));
        assertEquals(0x1237L, m.pio.read(0xcfe, 2));
        assertEquals(0x3780L, m.pio.read(0xcfd, 2));
        assertEquals(0xff123780L, m.pio.read(0xcfd, 4));
        assertEquals(0xffff1237L, m.pio.read(0xcfe, 4));
        // a dword at register 0xfe is clipped to two bytes, the rest reading 0
        m.write(0, 0, 0xfc, 4, 0xa1b2c3d4);
        m.pio.write(0xcf8, 4, 0x8000_00feL);
        assertEquals(0x0000a1b2L, m.pio.read(0xcfc, 4));
        // unaligned writes land byte by byte
        m.pio.write(0xcf8, 4, 0x8000_0040L);
        m.pio.write(0xcfd, 2, 0xbeef);
        assertEquals(0x00beef00, m.read(0, 0, 0x40, 4));
    }

    @Test
    void readOnlyRegistersKeepTheirValues() {
        m.write(0, 0, 0x00, 4, 0);
        m.write(0, 0, 0x08, 4, 0xffffffff);
        m.write(0, 0, 0x2c, 4, 0);
        assertEquals(0x12378086, m.read(0, 0, 0x00, 4));
        assertEquals(0x06000002, m.read(0, 0, 0x08, 4));
        assertEquals(0x11001af4, m.read(0, 0, 0x2c, 4));
        // QEMU's masks: COMMAND 0x0507, cache line size, interrupt line, everything from 0x40
        m.write(1, 0, 0x04, 4, 0xffffffff);
        assertEquals(0x02000507, m.read(1, 0, 0x04, 4));
        m.write(1, 0, 0x0c, 4, 0xffffffff);
        assertEquals(0x008000ff, m.read(1, 0, 0x0c, 4));
        m.write(0, 0, 0x3c, 4, 0xffffffff);
        assertEquals(0x000000ff, m.read(0, 0, 0x3c, 4));
        m.write(0, 0, 0xa0, 4, 0xffffffff);
        assertEquals(0xffffffff, m.read(0, 0, 0xa0, 4));
    }

    @Test
    void configSpaceRejectsOutOfRangeOffsets() {
        PciConfigSpace c = new PciConfigSpace(1, 2, 3, 0x060000, 0);
        assertEquals(0xffffffff, c.read(254, 4));
        assertEquals(0xff, c.read(-1, 1));
        c.write(255, 2, 0);
        c.write(-4, 4, 0);
        assertEquals(1, c.read(0, 2));
        assertEquals(0xffffffff, m.bus.readConfig(0, 0, 300, 4));
        m.bus.writeConfig(0, 0, -1, 4, 0);
    }

    @Test
    void resetControlRegisterAsQemu() {
        assertEquals(0L, m.pio.read(0xcf9, 1));
        m.pio.write(0xcf9, 1, 0x02);
        assertEquals(2L, m.pio.read(0xcf9, 1));
        m.pio.write(0xcf9, 1, 0x0b);
        assertEquals(2L, m.pio.read(0xcf9, 1), "only System Reset is kept");
        assertEquals(0, m.resets);
        m.pio.write(0xcf9, 1, 0x06);
        assertEquals(1, m.resets);
        m.pio.write(0xcf9, 1, 0x04);
        assertEquals(2, m.resets);
        m.bus.reset();
        assertEquals(0L, m.pio.read(0xcf9, 1));
        // CONFIG_ADDRESS still works around it
        m.pio.write(0xcf8, 4, 0x8000_0800L);
        assertEquals(0x80000800L, m.pio.read(0xcf8, 4));
    }

    @Test
    void resetRestoresPowerOnState() {
        m.write(0, 0, 0x58, 4, 0x12345678);
        m.write(1, 0, 0x04, 2, 0x0007);
        m.piix3.programFirmwareRoutes();
        assertEquals(0x0b0b0a0a, m.read(1, 0, 0x60, 4));
        assertEquals(10, m.router.route(0));
        m.bus.reset();
        assertEquals(0, m.read(0, 0, 0x58, 4));
        assertEquals(0x02000000, m.read(1, 0, 0x04, 4));
        assertEquals(0x80808080, m.read(1, 0, 0x60, 4));
        assertEquals(0x80, m.router.route(0));
    }

    @Test
    void firmwareStateMatchesSeaBios() {
        m.i440fx.applyFirmwareState();
        m.piix3.programFirmwareRoutes();
        m.bus.assignResources();
        // values read from QEMU 7.2 after SeaBIOS ran
        assertEquals(0x00000103, m.read(0, 0, 0x04, 4));
        assertEquals(0x11111000, m.read(0, 0, 0x58, 4));
        assertEquals(0x33111111, m.read(0, 0, 0x5c, 4));
        assertEquals(0x000a0000, m.read(0, 0, 0x70, 4));
        assertEquals(0x02000103, m.read(1, 0, 0x04, 4));
        assertEquals(0x0b0b0a0a, m.read(1, 0, 0x60, 4));
    }

    @Test
    void addRejectsBadSlotsAndDoubles() {
        assertThrows(IllegalArgumentException.class, () -> m.bus.add(32, 0, m.i440fx));
        assertThrows(IllegalArgumentException.class, () -> m.bus.add(0, 8, m.i440fx));
        assertThrows(IllegalStateException.class, () -> m.bus.add(0, 0, m.i440fx));
    }

    @Test
    void describeGivesQueryPciValues() {
        List<PciBusInfo> info = m.bus.describe();
        assertEquals(1, info.size());
        assertEquals(0, info.get(0).bus());
        List<PciDeviceInfo> d = info.get(0).devices();
        assertEquals(2, d.size());
        PciDeviceInfo host = d.get(0);
        assertEquals(new PciDeviceInfo(0, 0, 0, 0x0600, "Host bridge", 0x8086, 0x1237, 0x1af4, 0x1100, 0, 0, "",
                List.of()), host);
        assertFalse(host.hasIrq());
        PciDeviceInfo isa = d.get(1);
        assertEquals(1, isa.slot());
        assertEquals(1537, isa.classCode());
        assertEquals("ISA bridge", isa.classDesc());
        assertEquals(28672, isa.device());
        assertTrue(isa.regions().isEmpty());
    }
}
