package dev.jvmm.devices;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.TypeRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * QEMU 7.2's property lists of a type, as its device-list-properties and qom-list-properties replied (the
 * test resources qemu-props/TYPE.json, copied from the recorded facts), and the check that jvmm's declarations
 * give the same: for a type, the union of the properties its ancestry declares.
 */
public final class QemuPropertyLists {
    private QemuPropertyLists() {
    }

    /** One property as QMP lists it; defaultValue and description are null where QEMU shows none. */
    public record Prop(String name, String type, Object defaultValue, String description) {
    }

    /** device-list-properties for a creatable type. */
    public static List<Prop> deviceListProperties(String type) {
        return props(type, "device-list-properties");
    }

    /** qom-list-properties (every type, abstract ones too): names and types. */
    public static List<Prop> qomListProperties(String type) {
        return props(type, "qom-list-properties");
    }

    /**
     * The type's declared properties against QEMU's: device-list-properties (names, types, default values,
     * descriptions; as QEMU, without the five every device has and the "legacy-" string views), in QEMU's
     * order unless a proxy's aliases are involved (QEMU orders those by its hash table), and the names of
     * qom-list-properties.
     */
    public static void assertMatches(TypeRegistry registry, String type) {
        List<Prop> declared = new ArrayList<>();
        Set<String> names = new TreeSet<>(Set.of("type"));
        for (TypeRegistry.Resolved r : registry.properties(type)) {
            String name = r.property().name();
            names.add(name);
            if (TypeRegistry.DEVICE_INTERNAL.contains(name) || name.startsWith("legacy-")) {
                continue;
            }
            PropType pt = r.property().type();
            Object def = r.property().defaultValue() == null ? null : pt.toJson(r.property().defaultValue());
            declared.add(new Prop(name, pt.qapiType(), def, pt.description()));
        }
        boolean proxy = registry.ancestry(type).stream().anyMatch(t -> t.backend() != null);
        if (!registry.lookup(type).orElseThrow().isAbstract()) {
            List<Prop> qemu = deviceListProperties(type);
            if (proxy) {
                assertEquals(byName(qemu), byName(declared), type + ": device-list-properties");
            } else {
                assertEquals(qemu, declared, type + ": device-list-properties, in QEMU's order");
            }
        }
        Set<String> qemuNames = new TreeSet<>();
        qomListProperties(type).forEach(p -> qemuNames.add(p.name()));
        assertEquals(qemuNames, names, type + ": qom-list-properties");
    }

    private static Map<String, Prop> byName(List<Prop> props) {
        Map<String, Prop> out = new java.util.TreeMap<>();
        props.forEach(p -> out.put(p.name(), p));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Prop> props(String type, String command) {
        Map<String, Object> reply = (Map<String, Object>) load(type).get(command);
        assertNotNull(reply, type + ": no " + command);
        List<Prop> out = new ArrayList<>();
        for (Object o : (List<Object>) reply.get("return")) {
            Map<String, Object> m = (Map<String, Object>) o;
            out.add(new Prop((String) m.get("name"), (String) m.get("type"), m.get("default-value"),
                    (String) m.get("description")));
        }
        return out;
    }

    private static Map<String, Object> load(String type) {
        String resource = "/qemu-props/" + type + ".json";
        try (InputStream in = QemuPropertyLists.class.getResourceAsStream(resource)) {
            assertNotNull(in, "no test resource " + resource);
            try (JsonParser p = new JsonFactory().createParser(in)) {
                p.nextToken();
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) value(p);
                return m;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value at the parser's current token: Map, List, String, Long, BigInteger, Double, Boolean or null. */
    private static Object value(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, value(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(value(p));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT -> {
                return p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? p.getBigIntegerValue()
                        : p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return p.getBooleanValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IOException("unexpected " + t);
        }
    }
}
