package dev.jvmm.devices;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each type's declarations, its ancestors' included, against QEMU 7.2's device-list-properties and
 * qom-list-properties (test resources qom-facts/props/). Abstract types are checked by their qom-list.
 */
class DeclaredPropertiesTest {
    @ParameterizedTest
    @ValueSource(strings = {"virtio-serial-pci", "virtio-serial-device", "virtserialport", "virtconsole",
        "virtio-balloon-pci", "virtio-balloon-device", "i6300esb", "ib700", "pvpanic", "virtio-serial-port",
        "piix3-usb-uhci", "pci-uhci-usb", "hpet",
        "virtio-serial-pci-base", "virtio-balloon-pci-base", "virtio-net-pci", "virtio-net-device",
        "virtio-net-pci-base", "e1000", "e1000-base"})
    void sameAsQemu(String type) {
        QemuFacts.assertMatches(DeviceCatalog.registry(), type);
    }
}
