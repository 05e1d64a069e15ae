package dev.jvmm.devices.pc;

import dev.jvmm.core.block.BlockdevOptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU 7.2's own answers, kept as test resources (copied from the qom-facts dumps): device-list-properties and
 * qom-list-properties per type, and qom-list of a few trees.
 */
final class QomFacts {
    private QomFacts() {
    }

    /** One property as QEMU lists it; defaultValue null where QEMU shows none. */
    record Prop(String name, String type, Object defaultValue, String description) {
    }

    static String resource(String path) {
        try (InputStream in = QomFacts.class.getResourceAsStream("/qom-facts/" + path)) {
            if (in == null) {
                throw new IllegalArgumentException("no resource qom-facts/" + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** device-list-properties (or, for "qom-list-properties", that list) of a type, by name in QEMU's order. */
    @SuppressWarnings("unchecked")
    static Map<String, Prop> props(String type, String command) {
        Map<String, Object> doc = BlockdevOptions.parse(resource("props/" + type + ".json")).tree();
        Map<String, Object> reply = (Map<String, Object>) doc.get(command);
        Map<String, Prop> out = new LinkedHashMap<>();
        for (Object o : (List<Object>) reply.get("return")) {
            Map<String, Object> p = (Map<String, Object>) o;
            Object def = p.get("default-value");
            out.put((String) p.get("name"), new Prop((String) p.get("name"), (String) p.get("type"),
                    def, (String) p.get("description")));
        }
        return out;
    }

    /** The lines of a tree resource without its comment line. */
    static List<String> lines(String path) {
        List<String> out = new ArrayList<>();
        for (String l : resource(path).split("\n")) {
            if (!l.isEmpty() && !l.startsWith("#")) {
                out.add(l);
            }
        }
        return out;
    }

    /** "device[N] TYPE" lines as N -&gt; TYPE. */
    static Map<Integer, String> unattached(String path) {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (String l : lines(path)) {
            String[] f = l.split(" ");
            out.put(Integer.parseInt(f[0].substring("device[".length(), f[0].length() - 1)), f[1]);
        }
        return out;
    }
}
