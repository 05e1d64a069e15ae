package dev.jvmm.devices;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.model.DeviceClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block device types' declarations against QEMU 7.2's own answers (src/test/resources/qom-facts: the
 * device-list-properties and qom-list-properties replies; the parent chains of types/table.txt), and every
 * value jvmm refuses refused with a line naming the property.
 */
class BlockTypesTest {
    static final TypeRegistry REGISTRY = DeviceCatalog.registry();

    @ParameterizedTest
    @ValueSource(strings = {"virtio-blk-pci", "virtio-blk-device", "ide-hd", "ide-cd", "piix3-ide"})
    void deviceListPropertiesAreQemus(String type) {
        assertEquals(QemuFacts.byName(QemuFacts.deviceListProperties(type)),
                QemuFacts.byName(QemuFacts.declared(REGISTRY, type, true)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"virtio-blk-pci", "virtio-blk-device", "ide-hd", "ide-cd", "piix3-ide"})
    void qomListPropertiesAreQemus(String type) {
        Map<String, QemuFacts.Prop> qemu = QemuFacts.byName(QemuFacts.qomListProperties(type));
        Map<String, QemuFacts.Prop> jvmm = QemuFacts.byName(QemuFacts.declared(REGISTRY, type, false));
        // "type" is every object's, which jvmm's nodes add themselves
        jvmm.put("type", qemu.get("type"));
        assertEquals(qemu, jvmm);
    }

    @Test
    void parentChainsAndInterfacesAreQemus() {
        assertEquals(List.of("virtio-blk-pci", "virtio-blk-pci-base", "virtio-pci", "pci-device", "device",
                "object"), chain("virtio-blk-pci"));
        assertEquals(List.of("virtio-blk-device", "virtio-device", "device", "object"), chain("virtio-blk-device"));
        assertEquals(List.of("ide-hd", "ide-device", "device", "object"), chain("ide-hd"));
        assertEquals(List.of("ide-cd", "ide-device", "device", "object"), chain("ide-cd"));
        assertEquals(List.of("piix3-ide", "pci-ide", "pci-device", "device", "object"), chain("piix3-ide"));
        assertEquals(List.of("IDE", "bus", "object"), chain("IDE"));
        assertTrue(REGISTRY.lookup("virtio-blk-pci-base").orElseThrow().isAbstract());
        assertTrue(REGISTRY.lookup("ide-device").orElseThrow().isAbstract());
        assertTrue(REGISTRY.lookup("pci-ide").orElseThrow().isAbstract());
        assertFalse(REGISTRY.lookup("virtio-blk-device").orElseThrow().isAbstract());
        assertEquals(List.of("conventional-pci-device", "pci-express-device", "resettable", "vmstate-if"),
                List.copyOf(REGISTRY.interfaces("virtio-blk-pci")));
        assertEquals(List.of("conventional-pci-device", "resettable", "vmstate-if"),
                List.copyOf(REGISTRY.interfaces("piix3-ide")));
    }

    @Test
    void virtioBlkIsAnAliasOfTheProxy() {
        DeviceClass c = DeviceCatalog.classes().stream().filter(k -> k.aliases().contains("virtio-blk"))
                .findFirst().orElseThrow();
        assertEquals("virtio-blk-pci", c.type().name());
    }

    private static List<String> chain(String type) {
        return REGISTRY.ancestry(type).stream().map(TypeInfo::name).toList();
    }

    /** Every limited property of the block types refuses a value outside its limits, naming the property. */
    @Test
    void everyRefusalNamesItsProperty() {
        int checked = 0;
        for (String type : List.of("virtio-blk-pci", "ide-hd", "ide-cd", "piix3-ide")) {
            for (TypeRegistry.Resolved r : REGISTRY.properties(type)) {
                Property p = r.property();
                if (!p.settable() || p.only() == null) {
                    continue;
                }
                for (String v : refusedValues(p)) {
                    PropertyException e = assertThrows(PropertyException.class,
                            () -> REGISTRY.values(type).keyval(p.name(), v).build(), type + "." + p.name() + "=" + v);
                    assertTrue(e.getMessage().contains(p.name()), e.getMessage());
                    assertTrue(e.getMessage().contains("not supported"), e.getMessage());
                    checked++;
                }
                // the values jvmm runs with are taken
                for (Object ok : p.only()) {
                    String text = ok instanceof Boolean b ? (b ? "on" : "off") : p.type().format(ok);
                    assertSame(ok.getClass(), assertDoesNotThrowValue(type, p.name(), text).getClass());
                }
            }
        }
        assertTrue(checked > 30, "refusals checked: " + checked);
    }

    private static Object assertDoesNotThrowValue(String type, String prop, String text) {
        try {
            return REGISTRY.values(type).keyval(prop, text).build().get(prop).orElseThrow();
        } catch (PropertyException e) {
            throw new AssertionError(type + "." + prop + "=" + text + ": " + e.getMessage(), e);
        }
    }

    /** Values of the property's type that its limits leave out, as -device text. */
    private static List<String> refusedValues(Property p) {
        List<Object> candidates = switch (p.type().kind()) {
            case BOOL -> List.of(true, false);
            case ENUM -> new ArrayList<>(p.type().members());
            case STR -> List.of("x");
            case PCI_DEVFN, OBJECT -> List.of();
            default -> List.of(1L, 4096L, 12345L);
        };
        List<String> out = new ArrayList<>();
        for (Object c : candidates) {
            if (!p.only().contains(c)) {
                out.add(c instanceof Boolean b ? (b ? "on" : "off") : p.type().format(c));
            }
        }
        return out;
    }

    @Test
    void settableLinkReadsAName() throws PropertyException {
        assertEquals("link<iothread>", PropType.settableLink("iothread").qapiType());
        assertEquals("io0", PropType.settableLink("iothread").parseKeyval("t", "iothread", "io0"));
    }
}
