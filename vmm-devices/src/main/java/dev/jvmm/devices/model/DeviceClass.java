package dev.jvmm.devices.model;

import dev.jvmm.core.qom.TypeInfo;

/**
 * A creatable device type: its declaration and its factory. Abstract types and buses have no factory.
 *
 * @param aliases other -device names QEMU accepts for it (virtio-blk for virtio-blk-pci on a PC)
 */
public record DeviceClass(TypeInfo type, DeviceFactory factory, java.util.List<String> aliases) {
    public DeviceClass {
        aliases = java.util.List.copyOf(aliases);
    }

    public DeviceClass(TypeInfo type, DeviceFactory factory) {
        this(type, factory, java.util.List.of());
    }

    public static DeviceClass abstractOnly(TypeInfo type) {
        return new DeviceClass(type, null);
    }
}
