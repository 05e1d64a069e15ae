package dev.jvmm.core.objects;

import dev.jvmm.core.block.BlockdevOptions;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One -object argument read as QEMU's QAPI visitor reads it: key=value (the first part may omit
 * "qom-type=") or JSON as libvirt writes it, the values then checked per property with QEMU's texts.
 *
 * @param option the option as given ("-object TEXT"), the prefix of parse errors
 * @param type   qom-type
 * @param id     the object's id
 * @param values every other property, as text (JSON booleans as on/off, numbers in decimal)
 */
public record ObjectOptions(String option, String type, String id, Map<String, String> values) {
    public ObjectOptions {
        values = Map.copyOf(values);
    }

    /** Parses -object TEXT; checks qom-type and id are present and id is an identifier. */
    public static ObjectOptions parse(String text) {
        String option = "-object " + text;
        Map<String, String> all = new LinkedHashMap<>();
        if (text.stripLeading().startsWith("{")) {
            Map<String, Object> tree;
            try {
                tree = BlockdevOptions.parse(text).tree();
            } catch (OptionException e) {
                throw new OptionException(option, e.getMessage());
            }
            for (Map.Entry<String, Object> e : tree.entrySet()) {
                Object v = e.getValue();
                if (v instanceof Boolean b) {
                    all.put(e.getKey(), b ? "on" : "off");
                } else if (v instanceof String || v instanceof Number) {
                    all.put(e.getKey(), v.toString());
                } else {
                    throw new OptionException(option, "Parameter '" + e.getKey() + "' is unexpected");
                }
            }
        } else {
            all.putAll(QemuOpts.parse(option, text, "qom-type").values());
        }
        String type = all.remove("qom-type");
        if (type == null) {
            throw new OptionException(option, "Parameter 'qom-type' is missing");
        }
        if (!UserObjects.TYPES.containsKey(type)) {
            throw new OptionException(option, "Parameter 'qom-type' does not accept value '" + type + "'");
        }
        String id = all.remove("id");
        if (id == null) {
            throw new OptionException(option, "Parameter 'id' is missing");
        }
        if (!id.matches("[A-Za-z][A-Za-z0-9_.-]*")) {
            throw new OptionException(option, "Parameter 'id' expects an identifier\n"
                    + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }
        Set<String> known = UserObjects.TYPES.get(type);
        for (String k : all.keySet()) {
            if (!known.contains(k)) {
                throw new OptionException(option, text.stripLeading().startsWith("{")
                        ? "Parameter '" + k + "' is unexpected" : "Invalid parameter '" + k + "'");
            }
        }
        return new ObjectOptions(option, type, id, all);
    }

    /**
     * object-add's arguments, already checked against the QMP schema (members and their JSON types): only the
     * checks the schema cannot make are left, with the texts QEMU's QMP visitor gives.
     */
    public static ObjectOptions of(String type, String id, Map<String, String> values) {
        String option = "object-add";
        if (!UserObjects.TYPES.containsKey(type)) {
            throw new OptionException(option, "Parameter 'qom-type' does not accept value '" + type + "'");
        }
        if (!id.matches("[A-Za-z][A-Za-z0-9_.-]*")) {
            throw new OptionException(option, "Parameter 'id' expects an identifier");
        }
        for (String k : values.keySet()) {
            if (!UserObjects.TYPES.get(type).contains(k)) {
                throw new OptionException(option, "Parameter '" + k + "' is unexpected");
            }
        }
        return new ObjectOptions(option, type, id, values);
    }

    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    /** A bool property (on/off, also yes/no and true/false as QEMU's keyval takes them). */
    public boolean bool(String key, boolean fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(option, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** An int64 property. */
    public long int64(String key, long fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return QemuOpts.parseNumber(v);
        } catch (NumberFormatException e) {
            throw new OptionException(option, "Parameter '" + key + "' expects an int64 value");
        }
    }

    /** A size property (k/M/G/T suffixes, bytes without one). */
    public long size(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new OptionException(option, "Parameter '" + key + "' is missing");
        }
        try {
            return QemuOpts.parseSize(v, 1);
        } catch (NumberFormatException e) {
            throw new OptionException(option, "Parameter '" + key + "' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
    }

    /** An enum property limited to the given members. */
    public String member(String key, String fallback, String... members) {
        String v = values.getOrDefault(key, fallback);
        for (String m : members) {
            if (m.equals(v)) {
                return v;
            }
        }
        throw new OptionException(option, "Parameter '" + key + "' does not accept value '" + v + "'");
    }
}
