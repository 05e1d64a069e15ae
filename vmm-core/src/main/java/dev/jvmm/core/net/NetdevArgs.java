package dev.jvmm.core.net;

import dev.jvmm.core.block.BlockdevOptions;
import dev.jvmm.core.config.QemuOpts;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A netdev written as text (-netdev, -nic, -net, HMP netdev_add): "TYPE,id=ID,key=value,...", ",," for a
 * comma. Dotted keys (stream's addr.type=inet, addr.host=...) become nested maps, the QAPI list members
 * (hostfwd, guestfwd, dnssearch) lists, a key given twice otherwise keeps its last value, and a bare key
 * means key=on, as QemuOpts reads them.
 */
public final class NetdevArgs {
    /** The members QAPI declares as lists of strings, which may repeat. */
    private static final Set<String> LISTS = Set.of("hostfwd", "guestfwd", "dnssearch");
    /** Types QEMU 7.2 parses with keyval and the QObject visitor rather than QemuOpts and the opts visitor. */
    private static final Set<String> MODERN = Set.of("stream", "dgram");
    private static final Pattern UNEXPECTED = Pattern.compile("Parameter '(.*)' is unexpected");

    /**
     * The parsed text: type (null when not given), id (null when not given), the other keys in order; json
     * when it was QEMU's JSON form (typed values, the QObject visitor's messages).
     */
    public record Parsed(String type, String id, Map<String, Object> args, boolean json) {
        public NetdevOptions options() {
            return new NetdevOptions(type, id, args);
        }

        /** A backend's error as the command line shows it for this text (see {@link #commandLineMessage}). */
        public String message(String backendMessage) {
            return json ? backendMessage : commandLineMessage(type, backendMessage);
        }
    }

    private NetdevArgs() {
    }

    /**
     * Parses QemuOpts text or, when it starts with '{', QEMU's JSON form (-netdev '{"type":"tap","id":"n"}',
     * as libvirt writes it); a JSON error throws {@link dev.jvmm.core.config.OptionException}.
     */
    public static Parsed parse(String text) {
        if (text.stripLeading().startsWith("{")) {
            Map<String, Object> tree = new LinkedHashMap<>(BlockdevOptions.parse(text).tree());
            Object type = tree.remove("type");
            Object id = tree.remove("id");
            return new Parsed(type instanceof String t ? t : null, id instanceof String i ? i : null, tree, true);
        }
        String type = null;
        String id = null;
        Map<String, Object> args = new LinkedHashMap<>();
        List<String> parts = QemuOpts.splitCommas(text);
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0 && i == 0) {
                type = part;
                continue;
            }
            String key = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "on" : part.substring(eq + 1);
            if (key.equals("type")) {
                type = value;
            } else if (key.equals("id")) {
                id = value;
            } else {
                put(args, key, value);
            }
        }
        return new Parsed(type, id, args, false);
    }

    @SuppressWarnings("unchecked")
    private static void put(Map<String, Object> args, String key, String value) {
        int dot = key.indexOf('.');
        if (dot > 0) {
            Object sub = args.get(key.substring(0, dot));
            Map<String, Object> m;
            if (sub instanceof Map<?, ?> existing) {
                m = (Map<String, Object>) existing;
            } else {
                m = new LinkedHashMap<>();
                args.put(key.substring(0, dot), m);
            }
            put(m, key.substring(dot + 1), value);
            return;
        }
        if (LISTS.contains(key)) {
            Object old = args.get(key);
            List<Object> l = old instanceof List<?> ol ? (List<Object>) ol : new ArrayList<>();
            l.add(value);
            args.put(key, l);
        } else {
            args.put(key, value);
        }
    }

    /**
     * A backend's error as the command line shows it: QEMU's opts visitor (every type but stream and dgram)
     * says "Invalid parameter 'KEY'" where the QObject visitor says "Parameter 'KEY' is unexpected".
     */
    public static String commandLineMessage(String type, String message) {
        Matcher m = UNEXPECTED.matcher(message);
        if (!MODERN.contains(type) && m.matches()) {
            return "Invalid parameter '" + m.group(1) + "'";
        }
        return message;
    }
}
