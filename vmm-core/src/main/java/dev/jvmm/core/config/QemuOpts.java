package dev.jvmm.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An option argument in QEMU's QemuOpts syntax: {@code [implied,]key=value,key2=value2}, where a doubled
 * comma stands for a literal comma. A bare {@code flag} means {@code flag=on} and {@code noflag} means
 * {@code flag=off}, as QEMU accepts for booleans (only when the key is known to be boolean).
 *
 * @param option  the option it came from, e.g. "-chardev", for error messages
 * @param implied the leading value without '=', when the option has an implied first key, else null
 * @param values  keys in order of appearance
 */
public record QemuOpts(String option, String implied, Map<String, String> values) {

    public QemuOpts {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Splits on single commas, turning ",," into ",". */
    public static List<String> splitCommas(String text) {
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ',') {
                if (i + 1 < text.length() && text.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                } else {
                    parts.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        return parts;
    }

    /**
     * Parses text. When impliedKey is non-null, a first element without '=' is that key's value
     * (e.g. -chardev's backend, -machine's type).
     */
    public static QemuOpts parse(String option, String text, String impliedKey) {
        List<String> parts = splitCommas(text);
        Map<String, String> values = new LinkedHashMap<>();
        String implied = null;
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            if (part.isEmpty()) {
                if (i == parts.size() - 1 && i > 0) {
                    continue; // a trailing comma is harmless in QEMU
                }
                throw new OptionException(option, "Invalid parameter ''");
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                if (i == 0 && impliedKey != null) {
                    implied = part;
                    values.put(impliedKey, part);
                } else if (part.startsWith("no") && part.length() > 2) {
                    values.put(part.substring(2), "off");
                } else {
                    values.put(part, "on");
                }
            } else {
                values.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return new QemuOpts(option, implied, values);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public String getOrDefault(String key, String def) {
        return values.getOrDefault(key, def);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** QEMU booleans: on/off, yes/no, true/false. */
    public boolean getBool(String key, boolean def) {
        String v = values.get(key);
        if (v == null) {
            return def;
        }
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(option,
                    "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** A number with QEMU's spellings: decimal, 0x hex, 0 octal. */
    public long getNumber(String key, long def) {
        String v = values.get(key);
        if (v == null) {
            return def;
        }
        try {
            return parseNumber(v);
        } catch (NumberFormatException e) {
            throw new OptionException(option, "Parameter '" + key + "' expects a number");
        }
    }

    public static long parseNumber(String v) {
        String t = v.trim();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            return Long.parseUnsignedLong(t.substring(2), 16);
        }
        if (t.length() > 1 && t.startsWith("0")) {
            return Long.parseLong(t.substring(1), 8);
        }
        return Long.parseLong(t);
    }

    /**
     * A size with QEMU's suffixes (k, M, G, T; binary multiples). A bare number is taken in units of
     * defaultUnit bytes, as -m takes bare numbers in MiB.
     */
    public static long parseSize(String text, long defaultUnit) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw new NumberFormatException("empty size");
        }
        char last = t.charAt(t.length() - 1);
        long unit;
        String digits = t.substring(0, t.length() - 1);
        switch (Character.toUpperCase(last)) {
            case 'B' -> unit = 1;
            case 'K' -> unit = 1L << 10;
            case 'M' -> unit = 1L << 20;
            case 'G' -> unit = 1L << 30;
            case 'T' -> unit = 1L << 40;
            default -> {
                unit = defaultUnit;
                digits = t;
            }
        }
        double value = Double.parseDouble(digits);
        if (!(value >= 0) || Double.isInfinite(value) || !digits.matches("[0-9]+(\\.[0-9]+)?")) {
            throw new NumberFormatException("bad size " + text);
        }
        double bytes = value * unit;
        if (bytes > Long.MAX_VALUE) {
            throw new NumberFormatException("size too large " + text);
        }
        return (long) bytes;
    }

    /** Fails on keys outside allowed, with QEMU's wording. */
    public void requireOnly(String... allowed) {
        outer:
        for (String k : values.keySet()) {
            for (String a : allowed) {
                if (a.equals(k)) {
                    continue outer;
                }
            }
            throw new OptionException(option, "Invalid parameter '" + k + "'");
        }
    }
}
