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
    /** The DIMM slots' _OST reports; query-acpi-ospm-status lists the CPU slots' after them. */
    private final Supplier<List<AcpiOstInfo>> dimmSlots;

    MachineHotplug(DeviceModel devices, VirtualClock clock, Supplier<List<AcpiOstInfo>> dimmSlots) {
        this.devices = devices;
        this.clock = clock;
        this.dimmSlots = dimmSlots;
    }

    @Override
    public List<AcpiOstInfo> ospmStatus() {
        List<AcpiOstInfo> out = new ArrayList<>(dimmSlots.get());
        // the CPU slots (QEMU's acpi_cpu_ospm_status) follow here
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
