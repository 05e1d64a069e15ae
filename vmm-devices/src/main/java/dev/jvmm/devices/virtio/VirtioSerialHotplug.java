package dev.jvmm.devices.virtio;

import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.HotplugHandler;

/**
 * The virtio-serial bus as its ports' hotplug handler (hw/char/virtio-serial-bus.c: the bus handles its own
 * plugging): a port added while the machine runs is announced by the bus itself (DEVICE_ADD on the control
 * queue), and device_del takes a port away at once, without asking the guest (QEMU's
 * qdev_simple_device_unplug_cb), which then hears DEVICE_REMOVE.
 */
final class VirtioSerialHotplug implements HotplugHandler {
    private final DeviceModel model;

    VirtioSerialHotplug(DeviceModel model) {
        this.model = model;
    }

    @Override
    public void plug(DeviceModel.Device device, boolean hotplugged) {
        // VirtioSerial.addPort has told a running driver already
    }

    @Override
    public void unplugRequest(DeviceModel.Device device) {
        model.unplug(device);
    }
}
