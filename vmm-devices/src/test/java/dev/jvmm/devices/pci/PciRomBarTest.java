package dev.jvmm.devices.pci;

import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.devices.pci.PciMachineFixture.TestFunction;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The expansion ROM BAR (PCI Local Bus Specification 3.0, section 6.2.5.2) as QEMU 7.2 decodes it: sizing
 * through the all-ones write, the enable bit and COMMAND.MEM both needed, the contents read-only.
 */
class PciRomBarTest {
    static final int SLOT = 3;
    static final int ROM = PciConfigSpace.ROM_ADDRESS;
    static final long BASE = 0xfeb8_0000L;
    /** A 3000-byte "file": the BAR is 4 KiB, the rest reads as zeros. */
    static final int FILE_SIZE = 3000;

    final PciMachineFixture m = new PciMachineFixture();
    final byte[] contents = contents();

    static byte[] contents() {
        byte[] b = new byte[FILE_SIZE];
        b[0] = 0x55;
        b[1] = (byte) 0xaa;
        for (int i = 2; i < b.length; i++) {
            b[i] = (byte) (i * 7);
        }
        return b;
    }

    TestFunction withRom() {
        PciBar rom = new PciBar(PciBar.ROM_SLOT, PciBar.Kind.ROM, 4096, false, new OptionRom.Contents(contents));
        TestFunction f = new TestFunction(0x1000, 0x020000, 1, rom);
        m.bus.add(SLOT, 0, f);
        return f;
    }

    @Test
    void sizingReadsTheSizeAndTheEnableBit() {
        withRom();
        assertEquals(0, m.read(SLOT, 0, ROM, 4), "no address and disabled at power-on");
        m.write(SLOT, 0, ROM, 4, 0xffff_fffe);
        assertEquals(0xffff_f000, m.read(SLOT, 0, ROM, 4), "address bits above the 4 KiB size");
        m.write(SLOT, 0, ROM, 4, -1);
        assertEquals(0xffff_f001, m.read(SLOT, 0, ROM, 4), "the enable bit is writable");
        // decoding at 0xfffff000 would touch 4 GiB: QEMU leaves a sized BAR unmapped
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertEquals(PciBus.UNMAPPED, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT));
    }

    @Test
    void aFunctionWithoutRomHasAReadOnlyZeroRegister() {
        m.bus.add(SLOT, 0, new TestFunction(0x1000, 0x020000, 1));
        m.write(SLOT, 0, ROM, 4, -1);
        assertEquals(0, m.read(SLOT, 0, ROM, 4));
    }

    @Test
    void mapsOnlyWithEnableBitAndMemoryDecoding() {
        withRom();
        m.write(SLOT, 0, ROM, 4, (int) BASE);
        assertFalse(m.mmio.isAssigned(BASE), "not enabled, no memory decoding");
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertFalse(m.mmio.isAssigned(BASE), "memory decoding alone does not enable the ROM");
        m.write(SLOT, 0, ROM, 4, (int) BASE | PciConfigSpace.ROM_ADDRESS_ENABLE);
        assertEquals(BASE, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT));
        assertEquals(0xaa55, m.mmio.read(BASE, 2));
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, 0);
        assertFalse(m.mmio.isAssigned(BASE), "COMMAND.MEM off unmaps the ROM too");
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertTrue(m.mmio.isAssigned(BASE));
        m.write(SLOT, 0, ROM, 1, 0);
        assertFalse(m.mmio.isAssigned(BASE), "a byte write clearing the enable bit unmaps it");
    }

    @Test
    void readsTheFileThenZerosAndIgnoresWrites() {
        withRom();
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        m.write(SLOT, 0, ROM, 4, (int) BASE | PciConfigSpace.ROM_ADDRESS_ENABLE);
        assertEquals(contents[100] & 0xff, m.mmio.read(BASE + 100, 1));
        long expect = 0;
        for (int i = 0; i < 8; i++) {
            expect |= (long) (contents[16 + i] & 0xff) << (8 * i);
        }
        assertEquals(expect, m.mmio.read(BASE + 16, 8));
        assertEquals(0, m.mmio.read(BASE + FILE_SIZE, 4), "past the file, inside the BAR: zeros");
        assertEquals(0, m.mmio.read(BASE + 4095, 1));
        m.mmio.write(BASE + 100, 4, 0xdead_beefL);
        m.mmio.write(BASE, 8, -1L);
        assertEquals(contents[100] & 0xff, m.mmio.read(BASE + 100, 1), "writes to the ROM are dropped");
        assertEquals(0xaa55, m.mmio.read(BASE, 2));
    }

    @Test
    void garbageWritesKeepTheReservedBitsAndAMisplacedRomUnmapped() {
        withRom();
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        m.write(SLOT, 0, ROM, 4, 0x1234_5ffe | PciConfigSpace.ROM_ADDRESS_ENABLE);
        assertEquals(0x1234_5001, m.read(SLOT, 0, ROM, 4), "bits under the size read as zero");
        assertEquals(0x1234_5000L, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT));
        m.write(SLOT, 0, ROM, 4, PciConfigSpace.ROM_ADDRESS_ENABLE);
        assertEquals(PciBus.UNMAPPED, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT), "address 0 is not placed");
        m.write(SLOT, 0, ROM + 2, 2, 0xabcd);
        assertEquals(0xabcd_0001, m.read(SLOT, 0, ROM, 4), "a 16-bit write to the high half moves it");
        assertEquals(0xabcd_0000L, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT));
    }

    @Test
    void resetDisablesAndQueryPciListsTheRom() {
        withRom();
        m.write(SLOT, 0, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        m.write(SLOT, 0, ROM, 4, (int) BASE | PciConfigSpace.ROM_ADDRESS_ENABLE);
        List<PciRegionInfo> regions = m.bus.describe().get(0).devices().stream()
                .filter(d -> d.slot() == SLOT).findFirst().orElseThrow().regions();
        assertEquals(List.of(new PciRegionInfo(PciBar.ROM_SLOT, false, BASE, 4096, false, false)), regions);
        m.bus.reset();
        assertEquals(0, m.read(SLOT, 0, ROM, 4));
        assertFalse(m.mmio.isAssigned(BASE));
    }

    @Test
    void firmwareLessSetupPlacesTheRomDisabled() {
        withRom();
        m.bus.assignResources();
        int reg = m.read(SLOT, 0, ROM, 4);
        assertEquals(0, reg & PciConfigSpace.ROM_ADDRESS_ENABLE, "SeaBIOS leaves the ROM disabled");
        assertTrue(reg != 0 && (reg & 0xfff) == 0, "placed, aligned to its size: " + Integer.toHexString(reg));
        assertEquals(PciBus.UNMAPPED, m.bus.mappedAddress(SLOT, 0, PciBar.ROM_SLOT));
    }

    @Test
    void romBarsAreCheckedPowersOfTwoAtTheRomSlot() {
        OptionRom.Contents c = new OptionRom.Contents(new byte[1]);
        assertThrows(IllegalArgumentException.class, () -> new PciBar(5, PciBar.Kind.ROM, 4096, false, c));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(6, PciBar.Kind.ROM, 3000, false, c));
        assertThrows(IllegalArgumentException.class, () -> new PciBar(6, PciBar.Kind.MEMORY32, 4096, false, c));
        assertEquals(PciConfigSpace.ROM_ADDRESS, new PciBar(6, PciBar.Kind.ROM, 512, false, c).configOffset());
    }
}
