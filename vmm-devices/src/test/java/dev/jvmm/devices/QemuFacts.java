package dev.jvmm.devices;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * QEMU 7.2's replies for a type, recorded in src/test/resources/qom-facts/props/TYPE.json
 * (device-list-properties and qom-list-properties), next to what jvmm's declarations make of the same
 * questions, in one comparable shape.
 */
public final class QemuFacts {
    private QemuFacts() {
    }

    /** One property as QMP describes it; defaultValue and description null where QEMU shows none. */
    public record Prop(String type, Object defaultValue, String description) {
    }

    /** QEMU's device-list-properties for the type, by name. */
    public static Map<String, Prop> deviceListProperties(String type) {
        return props(type, "device-list-properties");
    }

    /** QEMU's qom-list-properties for the type, by name. */
    public static Map<String, Prop> qomListProperties(String type) {
        return props(type, "qom-list-properties");
    }

    /**
     * device-list-properties from jvmm's registry: every property of the type and its ancestors (a proxy's
     * backend included) but the ones QEMU leaves out (type, realized, parent_bus, ... and legacy-*).
     */
    public static Map<String, Prop> deviceListProperties(TypeRegistry registry, String type) {
        Map<String, Prop> out = new TreeMap<>();
        for (TypeRegistry.Resolved r : registry.properties(type)) {
            String name = r.property().name();
            if (!TypeRegistry.DEVICE_INTERNAL.contains(name) && !name.startsWith("legacy-")) {
                out.put(name, describe(r.property(), true));
            }
        }
        return out;
    }

    /** qom-list-properties from jvmm's registry (no default values: QEMU shows none there). */
    public static Map<String, Prop> qomListProperties(TypeRegistry registry, String type) {
        Map<String, Prop> out = new TreeMap<>();
        for (TypeRegistry.Resolved r : registry.properties(type)) {
            out.put(r.property().name(), describe(r.property(), false));
        }
        return out;
    }

    private static Prop describe(Property p, boolean withDefault) {
        Object def = withDefault && p.defaultValue() != null ? p.type().toJson(p.defaultValue()) : null;
        return new Prop(p.type().qapiType(), def, p.description());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Prop> props(String type, String reply) {
        Map<String, Object> doc = (Map<String, Object>) read("/qom-facts/props/" + type + ".json");
        Map<String, Object> r = (Map<String, Object>) doc.get(reply);
        if (r == null || !(r.get("return") instanceof List)) {
            throw new IllegalArgumentException("no " + reply + " reply for " + type + ": " + r);
        }
        Map<String, Prop> out = new TreeMap<>();
        for (Object o : (List<Object>) r.get("return")) {
            Map<String, Object> p = (Map<String, Object>) o;
            out.put((String) p.get("name"), new Prop((String) p.get("type"), p.get("default-value"),
                    (String) p.get("description")));
        }
        return out;
    }

    private static Object read(String resource) {
        try (InputStream in = QemuFacts.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("missing resource " + resource);
            }
            try (JsonParser p = new JsonFactory().createParser(in)) {
                p.nextToken();
                return value(p);
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
