package dev.jvmm.core.net;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A netdev's arguments, from the command line (-netdev, -nic, -net: every value a string, dotted keys as
 * nested maps, repeated keys as lists) or from netdev_add (JSON: typed values). The getters accept both
 * forms and fail with QEMU's visitor messages, so a backend reads its options once for both paths.
 */
public final class NetdevOptions {
    private final String type;
    private final String id;
    private final Map<String, Object> args;

    public NetdevOptions(String type, String id, Map<String, Object> args) {
        this.type = type;
        this.id = id;
        this.args = new LinkedHashMap<>(args);
        this.args.remove("type");
        this.args.remove("id");
    }

    public String type() {
        return type;
    }

    public String id() {
        return id;
    }

    /** The arguments other than type and id, in the order given. */
    public Map<String, Object> args() {
        return Map.copyOf(args);
    }

    public Set<String> keys() {
        return args.keySet();
    }

    public boolean has(String key) {
        return args.containsKey(key);
    }

    /** QEMU's "Parameter 'KEY' is unexpected" for the first key outside allowed. */
    public void requireOnly(Set<String> allowed) throws NetdevException {
        for (String k : args.keySet()) {
            if (!allowed.contains(k)) {
                throw new NetdevException("Parameter '" + k + "' is unexpected");
            }
        }
    }

    public Optional<String> string(String key) throws NetdevException {
        Object v = args.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof String s) {
            return Optional.of(s);
        }
        throw new NetdevException("Invalid parameter type for '" + key + "', expected: string");
    }

    public boolean bool(String key, boolean def) throws NetdevException {
        Object v = args.get(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            switch (s) {
                case "on", "yes", "true", "y":
                    return true;
                case "off", "no", "false", "n":
                    return false;
                default:
                    throw new NetdevException("Parameter '" + key + "' expects 'on' or 'off'");
            }
        }
        throw new NetdevException("Invalid parameter type for '" + key + "', expected: boolean");
    }

    /** An unsigned integer within [0, max]; typeName is QAPI's ("uint16", "uint32", "int"). */
    public long number(String key, long def, long max, String typeName) throws NetdevException {
        Object v = args.get(key);
        if (v == null) {
            return def;
        }
        long n;
        if (v instanceof Long l) {
            n = l;
        } else if (v instanceof Integer i) {
            n = i;
        } else if (v instanceof String s) {
            try {
                n = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new NetdevException("Parameter '" + key + "' expects " + typeName);
            }
        } else {
            throw new NetdevException("Invalid parameter type for '" + key + "', expected: integer");
        }
        if (n < 0 || n > max) {
            throw new NetdevException("Parameter '" + key + "' expects " + typeName);
        }
        return n;
    }

    /** A repeated string argument (hostfwd=, guestfwd=, dnssearch=): each value as given, in order. */
    public List<String> strings(String key) throws NetdevException {
        Object v = args.get(key);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        List<?> items = v instanceof List<?> l ? l : List.of(v);
        for (Object item : items) {
            if (item instanceof String s) {
                out.add(s);
            } else if (item instanceof Map<?, ?> m && m.get("str") instanceof String s) {
                out.add(s); // QAPI's String wrapper: {"str": "..."}
            } else {
                throw new NetdevException("Invalid parameter type for '" + key + "', expected: string");
            }
        }
        return out;
    }

    /** A nested object (stream's addr=, dgram's local= and remote=), from dotted keys or a JSON object. */
    @SuppressWarnings("unchecked")
    public Optional<Map<String, Object>> object(String key) throws NetdevException {
        Object v = args.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Map<?, ?> m) {
            return Optional.of((Map<String, Object>) m);
        }
        throw new NetdevException("Invalid parameter type for '" + key + "', expected: object");
    }
}
