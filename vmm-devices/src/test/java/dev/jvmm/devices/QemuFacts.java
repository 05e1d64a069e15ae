package dev.jvmm.devices;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * QEMU 7.2's own answers, kept as test resources under src/test/resources/qom-facts/: props/TYPE.json holds a
 * type's device-list-properties and qom-list-properties replies, tree/ the qom-list of a few trees. Next to
 * them, what jvmm's declarations make of the same questions, in the same shape.
 */
public final class QemuFacts {
    private QemuFacts() {
    }

    /** One property as QMP lists it; defaultValue and description are null where QEMU shows none. */
    public record Prop(String name, String type, Object defaultValue, String description) {
    }

    /** QEMU's device-list-properties for a creatable type, in QEMU's order. */
    public static List<Prop> deviceListProperties(String type) {
        return props(type, "device-list-properties");
    }

    /** QEMU's qom-list-properties for a type (abstract ones too), in QEMU's order. */
    public static List<Prop> qomListProperties(String type) {
        return props(type, "qom-list-properties");
    }

    /**
     * The same list from jvmm's registry, every property of the type and its ancestors (a proxy's backend
     * included) in declaration order. deviceList: as device-list-properties, with default values and without
     * the ones QEMU leaves out (type, realized, parent_bus, ... and legacy-*); otherwise as
     * qom-list-properties: "type" first, no default values (QEMU shows none there).
     */
    public static List<Prop> declared(TypeRegistry registry, String type, boolean deviceList) {
        List<Prop> out = new ArrayList<>();
        if (!deviceList) {
            out.add(new Prop("type", "string", null, null));
        }
        for (TypeRegistry.Resolved r : registry.properties(type)) {
            Property p = r.property();
            if (deviceList && (TypeRegistry.DEVICE_INTERNAL.contains(p.name()) || p.name().startsWith("legacy-"))) {
                continue;
            }
            Object def = deviceList && p.defaultValue() != null ? p.type().toJson(p.defaultValue()) : null;
            out.add(new Prop(p.name(), p.type().qapiType(), def, p.description()));
        }
        return out;
    }

    /** The properties keyed by name, in their order (a later one of a name replaces an earlier one). */
    public static Map<String, Prop> byName(List<Prop> props) {
        Map<String, Prop> out = new LinkedHashMap<>();
        props.forEach(p -> out.put(p.name(), p));
        return out;
    }

    /**
     * The type's declared properties against QEMU's: device-list-properties (names, types, default values,
     * descriptions), in QEMU's order unless a proxy's aliases are involved (QEMU orders those by its hash
     * table), and the names of qom-list-properties. Abstract types are checked by their qom-list only.
     */
    public static void assertMatches(TypeRegistry registry, String type) {
        if (!registry.lookup(type).orElseThrow().isAbstract()) {
            List<Prop> qemu = deviceListProperties(type);
            List<Prop> declared = declared(registry, type, true);
            if (registry.ancestry(type).stream().anyMatch(t -> t.backend() != null)) {
                assertEquals(new TreeMap<>(byName(qemu)), new TreeMap<>(byName(declared)),
                        type + ": device-list-properties");
            } else {
                assertEquals(qemu, declared, type + ": device-list-properties, in QEMU's order");
            }
        }
        Set<String> qemuNames = new TreeSet<>();
        qomListProperties(type).forEach(p -> qemuNames.add(p.name()));
        Set<String> names = new TreeSet<>();
        declared(registry, type, false).forEach(p -> names.add(p.name()));
        assertEquals(qemuNames, names, type + ": qom-list-properties");
    }

    /** The text of qom-facts/PATH. */
    public static String resource(String path) {
        try (InputStream in = open(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lines of a tree resource without its comment lines. */
    public static List<String> lines(String path) {
        List<String> out = new ArrayList<>();
        for (String l : resource(path).split("\n")) {
            if (!l.isEmpty() && !l.startsWith("#")) {
                out.add(l);
            }
        }
        return out;
    }

    /** "device[N] TYPE" lines as N -&gt; TYPE. */
    public static Map<Integer, String> unattached(String path) {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (String l : lines(path)) {
            String[] f = l.split(" ");
            out.put(Integer.parseInt(f[0].substring("device[".length(), f[0].length() - 1)), f[1]);
        }
        return out;
    }

    private static InputStream open(String path) {
        InputStream in = QemuFacts.class.getResourceAsStream("/qom-facts/" + path);
        assertNotNull(in, "no test resource qom-facts/" + path);
        return in;
    }

    @SuppressWarnings("unchecked")
    private static List<Prop> props(String type, String command) {
        Map<String, Object> doc;
        try (InputStream in = open("props/" + type + ".json"); JsonParser p = new JsonFactory().createParser(in)) {
            p.nextToken();
            doc = (Map<String, Object>) value(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> reply = (Map<String, Object>) doc.get(command);
        assertNotNull(reply, type + ": no " + command);
        List<Prop> out = new ArrayList<>();
        for (Object o : (List<Object>) reply.get("return")) {
            Map<String, Object> m = (Map<String, Object>) o;
            out.add(new Prop((String) m.get("name"), (String) m.get("type"), m.get("default-value"),
                    (String) m.get("description")));
        }
        return out;
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
                        : (Object) p.getLongValue();
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
