package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.machine.HotplugControl;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.devices.model.DeviceModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * device_add and device_del on the pc machine (QEMU's qmp_device_add and qmp_device_del): the device model
 * creates the device through the same declarations as -device and hands it to its hotplug handler, which
 * tells the guest; device_del goes to the same handler, which asks the guest.
 */
final class MachineHotplug implements HotplugControl {
    private final DeviceModel devices;
    private final VirtualClock clock;
    /** The DIMM slots' _OST reports, then the CPU slots', as QEMU's piix4_ospm_status lists them. */
    private final Supplier<List<AcpiOstInfo>> dimmSlots;
    private final Supplier<List<AcpiOstInfo>> cpuSlots;
    /** Whether the machine has an ACPI device (PIIX4 PM); without one QEMU refuses the OSPM query. */
    private final boolean acpi;

    MachineHotplug(DeviceModel devices, VirtualClock clock, Supplier<List<AcpiOstInfo>> dimmSlots,
            Supplier<List<AcpiOstInfo>> cpuSlots, boolean acpi) {
        this.devices = devices;
        this.clock = clock;
        this.dimmSlots = dimmSlots;
        this.cpuSlots = cpuSlots;
        this.acpi = acpi;
    }

    @Override
    public List<AcpiOstInfo> ospmStatus() throws MachineCommandException {
        if (!acpi) {
            throw MachineCommandException.generic("command is not supported, missing ACPI device");
        }
        List<AcpiOstInfo> out = new ArrayList<>(dimmSlots.get());
        out.addAll(cpuSlots.get());
        return out;
    }

    @Override
    public void deviceAdd(Map<String, Object> args) throws MachineCommandException {
        try {
            devices.hotplug(args);
        } catch (PropertyException e) {
            // QEMU words only its DeviceNotFound errors so (an unresolvable link such as memdev=)
            if (e.getMessage().matches("Device '[^']*' not found")) {
                throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND, e.getMessage());
            }
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    @Override
    public void deviceDel(String id) throws MachineCommandException {
        DeviceModel.Device d = devices.byId(id).orElseThrow(() -> new MachineCommandException(
                MachineCommandException.DEVICE_NOT_FOUND, "Device '" + id + "' not found"));
        try {
            devices.requestUnplug(d, clock.nanos() / 1_000_000);
        } catch (PropertyException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }
}
