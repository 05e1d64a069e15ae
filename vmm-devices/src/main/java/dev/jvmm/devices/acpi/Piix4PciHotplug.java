package dev.jvmm.devices.acpi;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.HotplugHandler;
import dev.jvmm.devices.pci.PciBus;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * PIIX4 PM as pci.0's hotplug handler (QEMU 7.2's piix4_device_*_cb with hw/acpi/pcihp.c): a hot-plugged
 * function sets its slot's "up" bit, device_del sets "down", both raise GPE0 bit 1 for the DSDT's \_GPE._E01,
 * and the guest's eject write unplugs the slot's hotpluggable devices. The function leaves the bus at once
 * (the guest's next config read finds the slot empty); the device is closed and its DEVICE_DELETED sent on
 * the machine's main loop, where every other change of the device set happens.
 */
public final class Piix4PciHotplug implements HotplugHandler {
    /** QEMU's ACPI_PCI_HOTPLUG_STATUS: GPE0 status bit 1. */
    public static final int GPE_BIT = 1;
    /** The bus QEMU's pcihp numbers 0 (bsel), the only one jvmm's pc machine has. */
    static final String ROOT_BUS = "pci.0";

    private final DeviceModel model;
    private final PciBus pci;
    private final Piix4Pm pm;
    private final VirtualClock clock;
    private final Executor mainLoop;
    private final PciHotplugRegisters registers;

    /**
     * @param bridgeSupport acpi-pci-hotplug-with-bridge-support (the PIIX-legacy "up" semantics when off)
     */
    public Piix4PciHotplug(DeviceModel model, PciBus pci, Piix4Pm pm, VirtualClock clock, Executor mainLoop,
            boolean bridgeSupport) {
        this.model = model;
        this.pci = pci;
        this.pm = pm;
        this.clock = clock;
        this.mainLoop = mainLoop;
        this.registers = new PciHotplugRegisters(bridgeSupport, this::slotHotpluggable, this::eject);
    }

    public PciHotplugRegisters registers() {
        return registers;
    }

    @Override
    public void plug(DeviceModel.Device device, boolean hotplugged) throws PropertyException {
        // a device present at start-up needs no event: the guest finds it when it boots
        if (hotplugged) {
            registers.plugged(slotOf(device));
            pm.raiseGpe(GPE_BIT);
        }
    }

    @Override
    public void unplugRequest(DeviceModel.Device device) throws PropertyException {
        // QEMU lets device_del be repeated once its virtual-clock millisecond has passed, so a request the
        // guest missed before its ACPI code ran can be sent again
        model.markUnplugPending(device, clock.nanos() / 1_000_000);
        registers.unplugRequested(slotOf(device));
        pm.raiseGpe(GPE_BIT);
    }

    /** Machine reset: requests still pending complete, as QEMU's acpi_pcihp_reset ejects them. */
    public void reset() {
        registers.reset();
    }

    private static int slotOf(DeviceModel.Device d) {
        try {
            return d.node().get("addr") instanceof Long devfn ? (int) (devfn >> 3) & 31 : 0;
        } catch (PropertyException e) {
            return 0;
        }
    }

    private List<DeviceModel.Device> inSlot(int slot) {
        return model.devices().stream()
                .filter(d -> d.bus() != null && d.bus().name().equals(ROOT_BUS) && slotOf(d) == slot).toList();
    }

    /** QEMU's acpi_pcihp_pc_no_hotplug for every device in the slot. */
    private boolean slotHotpluggable(int slot) {
        return inSlot(slot).stream().allMatch(model::hotpluggable);
    }

    /** The guest ejected the slot: its functions leave the bus now, the devices go on the main loop. */
    private void eject(int slot) {
        for (DeviceModel.Device d : inSlot(slot)) {
            if (!model.hotpluggable(d)) {
                continue;
            }
            try {
                if (d.node().get("addr") instanceof Long devfn) {
                    pci.remove(slot, (int) (devfn & 7));
                }
            } catch (PropertyException e) {
                // no place to take it from: the model still removes it
            }
            mainLoop.execute(() -> model.unplug(d));
        }
    }
}
