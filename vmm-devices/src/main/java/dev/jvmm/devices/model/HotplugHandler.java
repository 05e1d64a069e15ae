package dev.jvmm.devices.model;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.TypeInfo;

/**
 * QEMU's HotplugHandler (hw/core/hotplug.c) for the devices it is responsible for: the PIIX4 PM's ACPI
 * interfaces for PCI slots, DIMMs and CPUs. The model asks it before realizing a device, tells it once the
 * device is realized (cold-plugged at start-up or hot-plugged while the machine runs), and hands it
 * device_del. The handler calls {@link DeviceModel#unplug} when the guest has released the device.
 */
public interface HotplugHandler {
    /** QEMU's pre_plug: refuses a device before anything is created, in QEMU's words. */
    default void prePlug(TypeInfo type, PropertyValues props, boolean hotplugged) throws PropertyException {
    }

    /** QEMU's plug: the device is realized; a hot-plugged one is announced to the guest. */
    void plug(DeviceModel.Device device, boolean hotplugged) throws PropertyException;

    /**
     * QEMU's unplug_request: device_del asks the guest to release the device. The device stays until the
     * guest ejects it, when the handler calls {@link DeviceModel#unplug}.
     */
    void unplugRequest(DeviceModel.Device device) throws PropertyException;
}
