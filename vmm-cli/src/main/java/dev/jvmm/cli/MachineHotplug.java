package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.machine.HotplugControl;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.devices.model.DeviceModel;

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
    /** The CPU hotplug slots' _OST reports. */
    private final Supplier<List<AcpiOstInfo>> cpuOspm;

    MachineHotplug(DeviceModel devices, VirtualClock clock, Supplier<List<AcpiOstInfo>> cpuOspm) {
        this.devices = devices;
        this.clock = clock;
        this.cpuOspm = cpuOspm;
    }

    @Override
    public List<AcpiOstInfo> ospmStatus() {
        return cpuOspm.get();
    }

    @Override
    public void deviceAdd(Map<String, Object> args) throws MachineCommandException {
        try {
            devices.hotplug(args);
        } catch (PropertyException e) {
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
