package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/**
 * The PCI hotplug register block of QEMU 7.2's PIIX4 PM at {@link PciHotplugAml#IO_BASE} (hw/acpi/pcihp.c,
 * docs/specs/acpi_pci_hotplug.rst), which the DSDT's PCI0 methods read: slots with a device coming up (0x0)
 * or going down (0x4), eject (0x8), hotplug-capable slots (0xc), the bus selector (0x10) and the acpi-index
 * of a slot (0x14). Only bus 0 (pci.0, bsel 0) has slots; the other bus numbers QEMU tracks read every slot
 * capable and have no events. With bridge support (QEMU's default) a read of "up" clears it; the legacy
 * PIIX interface (acpi-pci-hotplug-with-bridge-support=off) keeps it until the slot is ejected. No device has
 * an acpi-index (0, "no label" for _DSM). An access of any width from 1 to 4 bytes reaches a register only at
 * its first byte, as QEMU's handler sees it; elsewhere reads give 0 and writes do nothing.
 */
public final class PciHotplugRegisters implements IoHandler {
    static final int UP_OFFSET = 0x0;
    static final int DOWN_OFFSET = 0x4;
    static final int EJECT_OFFSET = PciHotplugAml.EJECT_OFFSET;
    static final int REMOVABLE_OFFSET = 0xc;
    static final int SELECT_OFFSET = PciHotplugAml.BNUM_OFFSET;
    static final int INDEX_OFFSET = 0x14;
    static final long ALL_SLOTS = 0xffffffffL;
    /** QEMU's ACPI_PCIHP_MAX_HOTPLUG_BUS: bus numbers it keeps slot state for. */
    static final int MAX_HOTPLUG_BUS = 256;
    static final int SLOTS = 32;

    private final boolean clearUpOnRead;
    private final IntPredicate hotpluggableSlot;
    private final IntConsumer eject;
    private long busSelect;
    /** Bus 0's slots with a device announced to the guest (QEMU's acpi_pcihp_pci_status[0].up). */
    private int up;
    /** Bus 0's slots device_del asked the guest to release. */
    private int down;
    /** Bus 0's hotplug-capable slots, settled at reset (QEMU's hotplug_enable). */
    private int removable;

    /**
     * @param bridgeSupport     acpi-pci-hotplug-with-bridge-support: reading "up" clears it
     * @param hotpluggableSlot  whether no device in the slot is cold-plug only (QEMU's
     *                          acpi_pcihp_pc_no_hotplug), asked at reset
     * @param eject             the guest ejected a slot of bus 0: unplugs its hotpluggable devices
     */
    public PciHotplugRegisters(boolean bridgeSupport, IntPredicate hotpluggableSlot, IntConsumer eject) {
        this.clearUpOnRead = bridgeSupport;
        this.hotpluggableSlot = hotpluggableSlot;
        this.eject = eject;
        settleRemovable();
    }

    /** A registers block with no events and slots 0-1 (host bridge, PIIX3) fixed, as with -nodefaults. */
    public PciHotplugRegisters() {
        this(true, slot -> slot >= 2, slot -> { });
    }

    public PciHotplugRegisters attach(PioBus bus) {
        bus.register(PciHotplugAml.IO_BASE, PciHotplugAml.IO_LENGTH, this);
        return this;
    }

    /** A device was hot-plugged into a slot of bus 0 (QEMU's acpi_pcihp_device_plug_cb). */
    public synchronized void plugged(int slot) {
        up |= 1 << slot;
    }

    /** device_del of a device in a slot of bus 0 (acpi_pcihp_device_unplug_request_cb). */
    public synchronized void unplugRequested(int slot) {
        down |= 1 << slot;
    }

    /**
     * Machine reset (QEMU's acpi_pcihp_reset): slots still waiting for the guest are ejected now, then the
     * hotplug-capable slots are read from the devices present.
     */
    public void reset() {
        int pending;
        synchronized (this) {
            pending = down;
        }
        while (pending != 0) {
            ejectSlot(Integer.numberOfTrailingZeros(pending));
            synchronized (this) {
                pending = down;
            }
        }
        synchronized (this) {
            settleRemovable();
        }
    }

    private void settleRemovable() {
        int r = 0;
        for (int slot = 0; slot < SLOTS; slot++) {
            if (hotpluggableSlot.test(slot)) {
                r |= 1 << slot;
            }
        }
        removable = r;
    }

    private long register(int offset) {
        boolean bus0 = busSelect == 0;
        return switch (offset) {
            case UP_OFFSET -> {
                long v = bus0 ? up & ALL_SLOTS : 0;
                if (bus0 && clearUpOnRead) {
                    up = 0;
                }
                yield v;
            }
            case DOWN_OFFSET -> bus0 ? down & ALL_SLOTS : 0;
            case REMOVABLE_OFFSET -> bus0 ? removable & ALL_SLOTS : busSelect < MAX_HOTPLUG_BUS ? ALL_SLOTS : 0;
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
    public void write(long offset, int size, long value) {
        int slot;
        synchronized (this) {
            if (offset == SELECT_OFFSET) {
                busSelect = value & 0xffffffffL;
                return;
            }
            if (offset != EJECT_OFFSET || busSelect >= MAX_HOTPLUG_BUS) {
                return;
            }
            // QEMU takes the lowest slot bit written; no bit, or another bus, ejects nothing
            slot = Integer.numberOfTrailingZeros((int) value);
            if (slot >= SLOTS || busSelect != 0) {
                return;
            }
        }
        ejectSlot(slot);
    }

    /** QEMU's acpi_pcihp_eject_slot on bus 0: the request is complete, the slot's devices go. */
    private void ejectSlot(int slot) {
        synchronized (this) {
            down &= ~(1 << slot);
            up &= ~(1 << slot);
        }
        eject.accept(slot);
    }
}
