package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

/**
 * The PCI hotplug register block of QEMU 7.2's PIIX4 PM at {@link PciHotplugAml#IO_BASE} (hw/acpi/pcihp.c),
 * which the DSDT's PCI0 methods read: slots with a device coming up (0x0) or going down (0x4), eject (0x8),
 * hotplug-capable slots (0xc), the bus selector (0x10) and the acpi-index of a slot (0x14). jvmm has no PCI
 * hotplug: no slot ever has an event, eject writes are ignored and no device has an acpi-index (0, "no
 * label" for _DSM); slots 2-31 of bus 0 read as hotplug-capable, as under QEMU with -nodefaults (the other
 * bus numbers QEMU tracks read all slots capable). An access of any width from 1 to 4 bytes reaches a
 * register only at its first byte, as QEMU's handler sees it; elsewhere reads give 0 and writes do nothing.
 */
public final class PciHotplugRegisters implements IoHandler {
    static final int UP_OFFSET = 0x0;
    static final int DOWN_OFFSET = 0x4;
    static final int EJECT_OFFSET = PciHotplugAml.EJECT_OFFSET;
    static final int REMOVABLE_OFFSET = 0xc;
    static final int SELECT_OFFSET = PciHotplugAml.BNUM_OFFSET;
    static final int INDEX_OFFSET = 0x14;
    /** Bus 0's hotplug-capable slots: all but the host bridge (0) and PIIX3 (1). */
    static final long BUS0_REMOVABLE = 0xfffffffcL;
    static final long ALL_SLOTS = 0xffffffffL;
    /** QEMU's ACPI_PCIHP_MAX_HOTPLUG_BUS: bus numbers it keeps slot state for. */
    static final int MAX_HOTPLUG_BUS = 256;

    private long busSelect;

    public PciHotplugRegisters attach(PioBus bus) {
        bus.register(PciHotplugAml.IO_BASE, PciHotplugAml.IO_LENGTH, this);
        return this;
    }

    private long register(int offset) {
        return switch (offset) {
            case REMOVABLE_OFFSET -> busSelect == 0 ? BUS0_REMOVABLE : busSelect < MAX_HOTPLUG_BUS ? ALL_SLOTS : 0;
            case SELECT_OFFSET -> busSelect;
            default -> 0;
        };
    }

    @Override
    public synchronized long read(long offset, int size) {
        long mask = size >= 4 ? 0xffffffffL : (1L << (size * 8)) - 1;
        return register((int) offset) & mask;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        if (offset == SELECT_OFFSET) {
            busSelect = value & 0xffffffffL;
        }
    }
}
