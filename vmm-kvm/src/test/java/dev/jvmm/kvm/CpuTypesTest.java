package dev.jvmm.kvm;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU type declarations against QEMU 7.2's qom-list-types, qom-list-properties and device-list-properties. */
class CpuTypesTest {
    /** "object" and "device" as vmm-devices' BaseTypes declares them (vmm-kvm cannot see that module). */
    private static TypeRegistry registry() {
        TypeRegistry r = new TypeRegistry();
        r.register(TypeInfo.abstractType("object", null).build());
        r.register(TypeInfo.abstractType("device", "object").implementing("resettable", "vmstate-if")
                .props(Property.object("parent_bus", PropType.link("bus")),
                        Property.object("realized", PropType.object("bool")),
                        Property.object("hotplugged", PropType.object("bool")),
                        Property.object("hotpluggable", PropType.object("bool")))
                .build());
        r.registerAll(CpuTypes.all());
        return r;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> reply(String type, String command) {
        Map<String, Object> file = (Map<String, Object>) TestJson.resource(type + ".json");
        return (List<Map<String, Object>>) ((Map<String, Object>) file.get(command)).get("return");
    }

    @Test
    @SuppressWarnings("unchecked")
    void qomListTypesListsQemusCpuTypes() {
        TreeSet<String> qemu = new TreeSet<>();
        for (Object o : (List<Object>) TestJson.resource("x86_64-cpu-types.json")) {
            Map<String, Object> t = (Map<String, Object>) o;
            qemu.add(t.get("name") + " parent=" + t.get("parent") + (t.containsKey("abstract") ? " abstract" : ""));
        }
        TreeSet<String> ours = new TreeSet<>();
        TypeRegistry r = registry();
        for (TypeInfo t : r.list(CpuTypes.X86_CPU, true)) {
            ours.add(t.name() + " parent=" + t.parent() + (t.isAbstract() ? " abstract" : ""));
        }
        assertEquals(qemu, ours);
        assertEquals(132, r.list(CpuTypes.X86_CPU, false).size());
        assertTrue(r.lookup(CpuTypes.CPU).orElseThrow().isAbstract());
    }

    /** name: "type description" for qom-list-properties; device-list-properties adds the default-value. */
    private static Map<String, String> describe(List<Map<String, Object>> props, boolean defaults) {
        Map<String, String> out = new TreeMap<>();
        for (Map<String, Object> p : props) {
            out.put((String) p.get("name"), p.get("type") + " " + p.get("description")
                    + (defaults ? " " + p.get("default-value") : ""));
        }
        return out;
    }

    private static Map<String, String> declared(String type, boolean deviceList) {
        Map<String, String> out = new TreeMap<>();
        if (!deviceList) {
            out.put("type", "string null");
        }
        for (TypeRegistry.Resolved r : registry().properties(type)) {
            Property p = r.property();
            // device-list-properties leaves out the device internals and legacy-* names, as QEMU's does.
            if (deviceList && (TypeRegistry.DEVICE_INTERNAL.contains(p.name()) || p.name().startsWith("legacy-"))) {
                continue;
            }
            Object def = p.defaultValue() == null ? null : p.type().toJson(p.defaultValue());
            out.put(p.name(), p.type().qapiType() + " " + p.description() + (deviceList ? " " + def : ""));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu64-x86_64-cpu", "host-x86_64-cpu", "max-x86_64-cpu", "Skylake-Client-IBRS-x86_64-cpu",
            "EPYC-Rome-v2-x86_64-cpu"})
    void concreteTypesHaveQemusProperties(String type) {
        Map<String, String> qom = describe(reply(type, "qom-list-properties"), false);
        Map<String, String> device = describe(reply(type, "device-list-properties"), true);
        assertTrue(qom.size() > 430 && device.size() > 430, qom.size() + " " + device.size());
        assertEquals(qom, declared(type, false));
        assertEquals(device, declared(type, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "x86_64-cpu"})
    void abstractTypesHaveQemusProperties(String type) {
        assertEquals(describe(reply(type, "qom-list-properties"), false), declared(type, false));
    }

    @Test
    void everyFeatureNameAndAliasIsABoolProperty() {
        CpuTable t = CpuModel.table();
        for (String f : t.featureNames()) {
            assertEquals(PropType.BOOL, CpuTypes.property(f, false).orElseThrow().type(), f);
        }
        for (String a : t.aliasNames()) {
            assertEquals(PropType.BOOL, CpuTypes.property(a, false).orElseThrow().type(), a);
        }
        assertTrue(CpuTypes.property("migratable", true).isPresent());
        assertTrue(CpuTypes.property("migratable", false).isEmpty());
    }
}
