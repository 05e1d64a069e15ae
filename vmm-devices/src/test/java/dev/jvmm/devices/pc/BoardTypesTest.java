package dev.jvmm.devices.pc;

import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.QemuFacts;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The board's types and the machine type declare, over their ancestry, exactly the properties QEMU 7.2 lists
 * for them: device-list-properties (names, types, defaults, descriptions) for the creatable device types, and
 * qom-list-properties (names, types, descriptions) for every type.
 */
class BoardTypesTest {
    private static final TypeRegistry TYPES = DeviceCatalog.registry();

    /** QEMU's entries with numbers compared by value (the dump reads them as Long or Double). */
    private static void assertSameProps(String type, Map<String, QemuFacts.Prop> qemu, Map<String, QemuFacts.Prop> ours,
                                        boolean withDefaults) {
        assertEquals(new TreeSet<>(qemu.keySet()), new TreeSet<>(ours.keySet()), type + ": property names");
        for (QemuFacts.Prop q : qemu.values()) {
            QemuFacts.Prop o = ours.get(q.name());
            assertEquals(q.type(), o.type(), type + "." + q.name() + " type");
            assertEquals(q.description(), o.description(), type + "." + q.name() + " description");
            if (withDefaults) {
                assertEquals(normal(q.defaultValue()), normal(o.defaultValue()), type + "." + q.name() + " default");
            }
        }
    }

    private static Object normal(Object v) {
        return v instanceof Number n ? new BigDecimal(n.toString()).stripTrailingZeros() : v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"i440FX", "i440FX-pcihost", "PIIX3", "PIIX4_PM", "isa-serial", "i8042", "port92",
            "mc146818rtc", "kvm-pit", "kvm-i8259", "pvpanic"})
    void deviceListPropertiesAreQemus(String type) {
        assertSameProps(type, QemuFacts.byName(QemuFacts.deviceListProperties(type)),
                QemuFacts.byName(QemuFacts.declared(TYPES, type, true)), true);
    }

    @ParameterizedTest
    @ValueSource(strings = {"i440FX", "pci-host-bridge", "i440FX-pcihost", "pci-piix3", "PIIX3", "PIIX4_PM",
            "isa-serial", "i8042", "port92", "mc146818rtc", "pit-common", "kvm-pit", "pic-common", "kvm-i8259",
            "pvpanic", "machine", "x86-machine", "generic-pc-machine", "pc-i440fx-7.2-machine"})
    void qomListPropertiesAreQemus(String type) {
        assertSameProps(type, QemuFacts.byName(QemuFacts.qomListProperties(type)),
                QemuFacts.byName(QemuFacts.declared(TYPES, type, false)), false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"machine", "x86-machine", "generic-pc-machine", "pc-i440fx-7.2-machine", "pit-common",
            "pic-common", "pci-host-bridge", "pci-piix3"})
    void abstractTypesAreAbstract(String type) {
        TypeInfo t = TYPES.lookup(type).orElseThrow();
        assertEquals(!type.equals("pc-i440fx-7.2-machine"), t.isAbstract(), type);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PIIX4_PM", "isa-serial", "pc-i440fx-7.2-machine", "kvm-i8259"})
    void interfacesAreQemus(String type) {
        Set<String> want = switch (type) {
            case "PIIX4_PM" -> Set.of("acpi-device-interface", "conventional-pci-device", "hotplug-handler",
                    "resettable", "vmstate-if");
            case "isa-serial" -> Set.of("acpi-dev-aml-interface", "resettable", "vmstate-if");
            case "kvm-i8259" -> Set.of("intctrl", "resettable", "vmstate-if");
            default -> Set.of("hotplug-handler", "nmi");
        };
        assertEquals(want, TYPES.interfaces(type));
        for (String i : want) {
            assertTrue(TYPES.lookup(i).isPresent(), i + " declared");
        }
    }
}
