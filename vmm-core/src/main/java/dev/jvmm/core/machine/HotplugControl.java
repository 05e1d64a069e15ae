package dev.jvmm.core.machine;

import dev.jvmm.core.event.AcpiOstInfo;

import java.util.List;
import java.util.Map;

/**
 * What QMP may change in a running machine's device set: device_add and device_del, and the ACPI hotplug
 * state the guest reports (query-acpi-ospm-status). A machine without hotplug refuses as QEMU's none machine
 * does.
 */
public interface HotplugControl {
    /**
     * device_add: creates and plugs a device from QMP arguments (driver, bus, id and the device's properties,
     * as JSON values).
     */
    void deviceAdd(Map<String, Object> args) throws MachineCommandException;

    /** device_del: asks the guest to release a device, or removes it at once where nothing needs asking. */
    void deviceDel(String id) throws MachineCommandException;

    /** Every ACPI hotplug slot's last _OST report: DIMM slots, then CPU slots, as QEMU lists them. */
    default List<AcpiOstInfo> ospmStatus() throws MachineCommandException {
        throw MachineCommandException.generic("command is not supported, missing ACPI device");
    }

    HotplugControl NONE = new HotplugControl() {
        @Override
        public void deviceAdd(Map<String, Object> args) throws MachineCommandException {
            throw MachineCommandException.generic("Bus 'main-system-bus' does not support hotplugging");
        }

        @Override
        public void deviceDel(String id) throws MachineCommandException {
            throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND, "Device '" + id + "' not found");
        }
    };
}
