package dev.jvmm.devices.acpi;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The event side of QEMU 7.2's pcihp registers: up/down bits, eject, bus select, reset. */
class PciHotplugRegistersTest {
    private final List<Integer> ejected = new ArrayList<>();
    private final Set<Integer> fixed = new HashSet<>(List.of(0, 1));

    private PciHotplugRegisters regs(boolean bridges) {
        return new PciHotplugRegisters(bridges, slot -> !fixed.contains(slot), ejected::add);
    }

    @Test
    void upIsReadOnceWithBridgeSupportAndKeptByTheLegacyInterface() {
        PciHotplugRegisters r = regs(true);
        r.plugged(5);
        assertEquals(1L << 5, r.read(PciHotplugRegisters.UP_OFFSET, 4));
        assertEquals(0L, r.read(PciHotplugRegisters.UP_OFFSET, 4), "the read acknowledged it");
        PciHotplugRegisters legacy = regs(false);
        legacy.plugged(5);
        assertEquals(1L << 5, legacy.read(PciHotplugRegisters.UP_OFFSET, 4));
        assertEquals(1L << 5, legacy.read(PciHotplugRegisters.UP_OFFSET, 4), "until the slot is ejected");
        legacy.write(PciHotplugRegisters.EJECT_OFFSET, 4, 1L << 5);
        assertEquals(0L, legacy.read(PciHotplugRegisters.UP_OFFSET, 4));
    }

    @Test
    void ejectTakesTheLowestSlotAndClearsItsRequest() {
        PciHotplugRegisters r = regs(true);
        r.unplugRequested(3);
        r.unplugRequested(7);
        assertEquals((1L << 3) | (1L << 7), r.read(PciHotplugRegisters.DOWN_OFFSET, 4));
        r.write(PciHotplugRegisters.EJECT_OFFSET, 4, (1L << 7) | (1L << 3));
        assertEquals(List.of(3), ejected);
        assertEquals(1L << 7, r.read(PciHotplugRegisters.DOWN_OFFSET, 4));
        r.write(PciHotplugRegisters.EJECT_OFFSET, 4, 0);
        assertEquals(List.of(3), ejected, "no slot bit ejects nothing");
        r.write(PciHotplugRegisters.EJECT_OFFSET, 4, 1L << 9);
        assertEquals(List.of(3, 9), ejected, "the guest may eject a slot nobody asked for, as under QEMU");
    }

    @Test
    void otherBusesHaveNoEventsAndNoEject() {
        PciHotplugRegisters r = regs(true);
        r.unplugRequested(4);
        r.write(PciHotplugRegisters.SELECT_OFFSET, 4, 1);
        assertEquals(0L, r.read(PciHotplugRegisters.DOWN_OFFSET, 4));
        assertEquals(0xffffffffL, r.read(PciHotplugRegisters.REMOVABLE_OFFSET, 4));
        r.write(PciHotplugRegisters.EJECT_OFFSET, 4, 1L << 4);
        assertEquals(List.of(), ejected);
        r.write(PciHotplugRegisters.SELECT_OFFSET, 4, 256);
        r.write(PciHotplugRegisters.EJECT_OFFSET, 4, 1L << 4);
        assertEquals(List.of(), ejected, "QEMU ignores an eject past its last bus");
        r.write(PciHotplugRegisters.SELECT_OFFSET, 4, 0);
        assertEquals(1L << 4, r.read(PciHotplugRegisters.DOWN_OFFSET, 4));
    }

    @Test
    void resetEjectsPendingRequestsAndRereadsTheCapableSlots() {
        PciHotplugRegisters r = regs(true);
        assertEquals(0xfffffffcL, r.read(PciHotplugRegisters.REMOVABLE_OFFSET, 4));
        r.unplugRequested(6);
        r.unplugRequested(2);
        fixed.add(9);
        r.reset();
        assertEquals(List.of(2, 6), ejected);
        assertEquals(0L, r.read(PciHotplugRegisters.DOWN_OFFSET, 4));
        assertEquals(0xfffffdfcL, r.read(PciHotplugRegisters.REMOVABLE_OFFSET, 4));
    }
}
