package dev.jvmm.core.block;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One -blockdev option as a tree: JSON ({@code {"driver":"qcow2","file":"n1"}}) keeps JSON's types; the
 * key=value form (dotted keys: {@code file.driver=file,inject-error.0.event=read_aio}) gives strings that
 * getters convert as QEMU's keyval visitor does. Numeric path parts make lists.
 *
 * @param option "-blockdev TEXT", the prefix of every error about it
 * @param typed  whether the values came from JSON (type errors are then QEMU's "Invalid parameter type")
 */
public record BlockdevOptions(String option, Map<String, Object> tree, boolean typed) {

    public static BlockdevOptions parse(String text) {
        String option = "-blockdev " + text;
        String t = text.stripLeading();
        if (t.startsWith("{")) {
            Object v = new MiniJson(option, t).parseDocument();
            if (!(v instanceof Map<?, ?>)) {
                throw new OptionException(option, "JSON parse error, expected an object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) v;
            return new BlockdevOptions(option, m, true);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        for (String part : QemuOpts.splitCommas(text)) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new OptionException(option, "Expected '=' after parameter '" + part + "'");
            }
            put(option, root, part.substring(0, eq), part.substring(eq + 1));
        }
        return new BlockdevOptions(option, listify(root), false);
    }

    @SuppressWarnings("unchecked")
    private static void put(String option, Map<String, Object> root, String key, String value) {
        String[] path = key.split("\\.", -1);
        Map<String, Object> cur = root;
        for (int i = 0; i < path.length - 1; i++) {
            Object next = cur.get(path[i]);
            if (next == null) {
                next = new LinkedHashMap<String, Object>();
                cur.put(path[i], next);
            } else if (!(next instanceof Map)) {
                throw new OptionException(option, "Parameter '" + key + "' used inconsistently");
            }
            cur = (Map<String, Object>) next;
        }
        String last = path[path.length - 1];
        if (cur.get(last) instanceof Map) {
            throw new OptionException(option, "Parameter '" + key + "' used inconsistently");
        }
        cur.put(last, value);
    }

    /** Objects whose keys are all 0..n-1 become lists (inject-error.0.*, inject-error.1.*). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> listify(Map<String, Object> m) {
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (e.getValue() instanceof Map<?, ?> child) {
                Map<String, Object> c = listify((Map<String, Object>) child);
                e.setValue(asList(c));
            }
        }
        return m;
    }

    private static Object asList(Map<String, Object> m) {
        if (m.isEmpty()) {
            return m;
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            if (!m.containsKey(Integer.toString(i))) {
                return m;
            }
            out.add(m.get(Integer.toString(i)));
        }
        return out;
    }

    /** A JSON reader just big enough for option values (QEMU's messages for the common errors). */
    private static final class MiniJson {
        private final String option;
        private final String s;
        private int i;

        MiniJson(String option, String s) {
            this.option = option;
            this.s = s;
        }

        Object parseDocument() {
            Object v = value();
            ws();
            if (i < s.length()) {
                throw err("JSON parse error, expecting end of input");
            }
            return v;
        }

        private OptionException err(String m) {
            return new OptionException(option, m);
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            ws();
            if (i >= s.length()) {
                throw err("JSON parse error, premature EOI");
            }
            return s.charAt(i);
        }

        private Object value() {
            char c = peek();
            if (c == '{') {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                if (peek() == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    if (peek() != '"') {
                        throw err("JSON parse error, key is not a string in object");
                    }
                    String k = string();
                    if (peek() != ':') {
                        throw err("JSON parse error, missing : in object pair");
                    }
                    i++;
                    m.put(k, value());
                    char d = peek();
                    i++;
                    if (d == '}') {
                        return m;
                    }
                    if (d != ',') {
                        throw err("JSON parse error, expected separator in dict");
                    }
                }
            }
            if (c == '[') {
                i++;
                List<Object> l = new ArrayList<>();
                if (peek() == ']') {
                    i++;
                    return l;
                }
                while (true) {
                    l.add(value());
                    char d = peek();
                    i++;
                    if (d == ']') {
                        return l;
                    }
                    if (d != ',') {
                        throw err("JSON parse error, expected separator in list");
                    }
                }
            }
            if (c == '"') {
                return string();
            }
            for (String lit : new String[] {"true", "false", "null"}) {
                if (s.startsWith(lit, i)) {
                    i += lit.length();
                    return lit.equals("null") ? NULL : Boolean.valueOf(lit.equals("true"));
                }
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            String num = s.substring(start, i);
            if (num.isEmpty()) {
                throw err("JSON parse error, invalid keyword '" + s.charAt(start) + "'");
            }
            try {
                return Long.parseLong(num);
            } catch (NumberFormatException e) {
                try {
                    return Double.parseDouble(num);
                } catch (NumberFormatException e2) {
                    throw err("JSON parse error, invalid number '" + num + "'");
                }
            }
        }

        private String string() {
            i++; // opening quote
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw err("JSON parse error, premature EOI");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    if (i >= s.length()) {
                        throw err("JSON parse error, premature EOI");
                    }
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'b' -> b.append('\b');
                        case 'f' -> b.append('\f');
                        case 'u' -> {
                            if (i + 4 > s.length()) {
                                throw err("JSON parse error, premature EOI");
                            }
                            try {
                                b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            } catch (NumberFormatException x) {
                                throw err("JSON parse error, invalid hex escape");
                            }
                            i += 4;
                        }
                        default -> b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }
    }

    /** JSON null in a -blockdev tree ("backing": null). */
    public enum Null { NULL }

    public static final Null NULL = Null.NULL;
}
