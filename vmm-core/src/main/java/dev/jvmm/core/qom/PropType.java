package dev.jvmm.core.qom;

import java.math.BigInteger;
import java.util.List;

/**
 * A property's type, as QEMU's PropertyInfo is: the QAPI type name device-list-properties shows, the
 * description it carries (bit properties say "on/off", plain bools nothing), and how a value is read from
 * each of QEMU's three inputs, with QEMU's error texts:
 * <ul>
 * <li>{@link #parseKeyval}: -device/-object key=value (QEMU's keyval input visitor);</li>
 * <li>{@link #parseGlobal}: -global (QEMU's string input visitor, which reads every integer as 64-bit
 * first);</li>
 * <li>{@link #fromJson}: JSON -device, device_add and qom-set (QEMU's QObject input visitor).</li>
 * </ul>
 * Values are Boolean, Long (uint64 as the same bits) or String (strings and enum members).
 *
 * @param name        the PropertyInfo this stands for (also the key of {@link Kind#ENUM} members)
 * @param qapiType    the type string QMP shows ("bool", "uint32", "OnOffAuto", "child&lt;...&gt;", ...)
 * @param description QEMU's description of the type, or null
 * @param kind        how values are read
 * @param members     the enum's members, empty for other kinds
 */
public record PropType(String name, String qapiType, String description, Kind kind, List<String> members) {

    /** How a type's values are read and checked. */
    public enum Kind {
        BOOL, UINT8, UINT16, UINT32, UINT64, INT32, INT64, SIZE, STR, ENUM, PCI_DEVFN,
        /** A QOM-only property (type, realized, child&lt;&gt;, link&lt;&gt;): read through its node, never parsed. */
        OBJECT
    }

    public PropType {
        members = List.copyOf(members);
    }

    private static PropType of(String name, String qapiType, String description, Kind kind) {
        return new PropType(name, qapiType, description, kind, List.of());
    }

    public static final PropType BIT = of("bit", "bool", "on/off", Kind.BOOL);
    public static final PropType BOOL = of("bool", "bool", null, Kind.BOOL);
    public static final PropType UINT8 = of("uint8", "uint8", null, Kind.UINT8);
    public static final PropType UINT16 = of("uint16", "uint16", null, Kind.UINT16);
    public static final PropType UINT32 = of("uint32", "uint32", null, Kind.UINT32);
    public static final PropType UINT64 = of("uint64", "uint64", null, Kind.UINT64);
    public static final PropType INT32 = of("int32", "int32", null, Kind.INT32);
    public static final PropType INT64 = of("int64", "int64", null, Kind.INT64);
    /** A QOM "int" property (object_property_add with visit_type_int), read as int64. */
    public static final PropType INT = of("int", "int", null, Kind.INT64);
    public static final PropType SIZE = of("size", "size", null, Kind.SIZE);
    public static final PropType BLOCKSIZE = of("blocksize", "size", "A power of two between 512 B and 2 MiB",
            Kind.SIZE);
    public static final PropType STR = of("string", "str", null, Kind.STR);
    public static final PropType DRIVE = of("drive", "str", "Node name or ID of a block device to use as a backend",
            Kind.STR);
    public static final PropType CHR = of("chr", "str", "ID of a chardev to use as a backend", Kind.STR);
    public static final PropType PCI_DEVFN = of("pci-devfn", "int32",
            "Slot and optional function number, example: 06.0 or 06", Kind.PCI_DEVFN);
    public static final PropType ON_OFF_AUTO = new PropType("OnOffAuto", "OnOffAuto", "on/off/auto", Kind.ENUM,
            List.of("on", "off", "auto"));
    public static final PropType BLOCKDEV_ON_ERROR = new PropType("BlockdevOnError", "BlockdevOnError",
            "Error handling policy, report/ignore/enospc/stop/auto", Kind.ENUM,
            List.of("report", "ignore", "enospc", "stop", "auto"));
    public static final PropType BIOS_ATA_TRANSLATION = new PropType("BiosAtaTranslation", "BiosAtaTranslation",
            "Logical CHS translation algorithm, auto/none/lba/large/rechs", Kind.ENUM,
            List.of("auto", "none", "lba", "large", "rechs"));
    public static final PropType LOST_TICK_POLICY = new PropType("LostTickPolicy", "LostTickPolicy",
            "Policy for handling lost ticks (discard/delay/slew)", Kind.ENUM, List.of("discard", "delay", "slew"));

    /** A QOM-only property of the given QMP type ("string", "bool", "link&lt;bus&gt;", ...). */
    public static PropType object(String qapiType) {
        return of(qapiType, qapiType, null, Kind.OBJECT);
    }

    public static PropType child(String type) {
        return object("child<" + type + ">");
    }

    public static PropType link(String type) {
        return object("link<" + type + ">");
    }

    /**
     * A link qdev property that -device may set (DEFINE_PROP_LINK): the value is the target's path or id,
     * "" for none.
     */
    public static PropType settableLink(String type) {
        return of("link", "link<" + type + ">", null, Kind.STR);
    }

    /** A QAPI enum with the given members and description. */
    public static PropType enumeration(String name, String description, List<String> members) {
        return new PropType(name, name, description, Kind.ENUM, members);
    }

    /**
     * -device and -object text. owner is the type named in errors that QEMU words as "Property
     * 'TYPE.NAME' ..." (the type that declares the property).
     */
    public Object parseKeyval(String owner, String prop, String text) throws PropertyException {
        return switch (kind) {
            case BOOL -> parseBool(prop, text);
            case UINT8, UINT16, UINT32, UINT64 -> checkUnsigned(prop, parseU64(prop, text, "integer"));
            case INT32, INT64 -> checkSigned(prop, parseI64(prop, text, "integer"));
            case SIZE -> parseSize(prop, text);
            case STR -> text;
            case ENUM -> member(prop, text);
            case PCI_DEVFN -> parseDevfn(owner, prop, text);
            case OBJECT -> throw new PropertyException("Property '" + owner + "." + prop + "' is read-only");
        };
    }

    /** -global text: integers go through 64 bits first ("expects uint64"/"expects int64"), then the width. */
    public Object parseGlobal(String owner, String prop, String text) throws PropertyException {
        return switch (kind) {
            case UINT8, UINT16, UINT32, UINT64 -> checkUnsigned(prop, parseU64(prop, text, "uint64"));
            case INT32, INT64 -> checkSigned(prop, parseI64(prop, text, "int64"));
            default -> parseKeyval(owner, prop, text);
        };
    }

    /** A JSON value (Boolean, Number, String) from QMP or JSON -device. */
    public Object fromJson(String owner, String prop, Object v) throws PropertyException {
        switch (kind) {
            case BOOL -> {
                if (v instanceof Boolean b) {
                    return b;
                }
                throw wrongType(prop, "boolean");
            }
            case UINT8, UINT16, UINT32, UINT64, SIZE -> {
                if (v instanceof BigInteger b && b.signum() >= 0 && b.bitLength() <= 64) {
                    return checkUnsigned(prop, b.longValue());
                }
                if (v instanceof Long || v instanceof Integer) {
                    long l = ((Number) v).longValue();
                    if (l < 0 && kind != Kind.SIZE) {
                        return checkUnsigned(prop, l);
                    }
                    if (l < 0) {
                        throw new PropertyException("Parameter '" + prop + "' expects size");
                    }
                    return checkUnsigned(prop, l);
                }
                throw wrongType(prop, kind == Kind.SIZE ? "size" : "integer");
            }
            case INT32, INT64, PCI_DEVFN -> {
                if (v instanceof Long || v instanceof Integer) {
                    return kind == Kind.PCI_DEVFN ? checkDevfn(owner, prop, ((Number) v).longValue())
                            : checkSigned(prop, ((Number) v).longValue());
                }
                if (kind == Kind.PCI_DEVFN && v instanceof String s) {
                    return parseDevfn(owner, prop, s);
                }
                throw wrongType(prop, "integer");
            }
            case STR -> {
                if (v instanceof String s) {
                    return s;
                }
                throw wrongType(prop, "string");
            }
            case ENUM -> {
                if (v instanceof String s) {
                    return member(prop, s);
                }
                throw wrongType(prop, "string");
            }
            default -> throw new PropertyException("Property '" + owner + "." + prop + "' is read-only");
        }
    }

    /** The value as QMP shows it (qom-get, device-list-properties' default-value). */
    public Object toJson(Object value) {
        if (value instanceof Long l && l < 0 && (kind == Kind.UINT64 || kind == Kind.SIZE)) {
            return new BigInteger(Long.toUnsignedString(l));
        }
        return value;
    }

    /** The value as -device TYPE,help prints a default. */
    public String format(Object value) {
        if (value instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (value instanceof Long l && (kind == Kind.UINT64 || kind == Kind.SIZE)) {
            return Long.toUnsignedString(l);
        }
        return String.valueOf(value);
    }

    private static PropertyException wrongType(String prop, String expected) {
        return new PropertyException("Invalid parameter type for '" + prop + "', expected: " + expected);
    }

    private static Boolean parseBool(String prop, String text) throws PropertyException {
        switch (text) {
            case "on", "yes", "true", "y" -> {
                return Boolean.TRUE;
            }
            case "off", "no", "false", "n" -> {
                return Boolean.FALSE;
            }
            default -> throw new PropertyException("Parameter '" + prop + "' expects 'on' or 'off'");
        }
    }

    private String member(String prop, String text) throws PropertyException {
        if (!members.contains(text)) {
            throw new PropertyException("Parameter '" + prop + "' does not accept value '" + text + "'");
        }
        return text;
    }

    /** strtoull with base 0 (0x, leading 0 octal), a leading '-' wrapping as in C, whitespace allowed first. */
    private static long parseU64(String prop, String text, String expects) throws PropertyException {
        String t = text.stripLeading();
        boolean negative = false;
        if (t.startsWith("-") || t.startsWith("+")) {
            negative = t.charAt(0) == '-';
            t = t.substring(1);
        }
        BigInteger v = digits(t);
        if (v == null) {
            throw new PropertyException("Parameter '" + prop + "' expects " + expects);
        }
        if (v.bitLength() > 64) {
            throw new PropertyException("Parameter '" + prop + "' expects " + expects);
        }
        long l = v.longValue();
        return negative ? -l : l;
    }

    private static long parseI64(String prop, String text, String expects) throws PropertyException {
        String t = text.stripLeading();
        boolean negative = t.startsWith("-");
        if (negative || t.startsWith("+")) {
            t = t.substring(1);
        }
        BigInteger v = digits(t);
        if (v == null) {
            throw new PropertyException("Parameter '" + prop + "' expects " + expects);
        }
        if (negative) {
            v = v.negate();
        }
        if (v.bitLength() > 63) {
            throw new PropertyException("Parameter '" + prop + "' expects " + expects);
        }
        return v.longValue();
    }

    /** The digits of a C integer constant in base 0, or null when the text is not one. */
    private static BigInteger digits(String t) {
        int radix = 10;
        String d = t;
        if (t.startsWith("0x") || t.startsWith("0X")) {
            radix = 16;
            d = t.substring(2);
        } else if (t.length() > 1 && t.startsWith("0")) {
            radix = 8;
            d = t.substring(1);
        }
        if (d.isEmpty()) {
            return null;
        }
        for (int i = 0; i < d.length(); i++) {
            if (Character.digit(d.charAt(i), radix) < 0) {
                return null;
            }
        }
        return new BigInteger(d, radix);
    }

    private Object checkUnsigned(String prop, long v) throws PropertyException {
        long max = switch (kind) {
            case UINT8 -> 0xffL;
            case UINT16 -> 0xffffL;
            case UINT32 -> 0xffff_ffffL;
            default -> -1L;
        };
        if (max != -1L && Long.compareUnsigned(v, max) > 0) {
            throw new PropertyException("Parameter '" + prop + "' expects " + kind.name().toLowerCase() + "_t");
        }
        return v;
    }

    private Object checkSigned(String prop, long v) throws PropertyException {
        if (kind == Kind.INT32 && (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)) {
            throw new PropertyException("Parameter '" + prop + "' expects int32_t");
        }
        return v;
    }

    /** QEMU's size syntax: a number with an optional k/M/G/T/P/E suffix (binary multiples). */
    private static Long parseSize(String prop, String text) throws PropertyException {
        String t = text.strip();
        long unit = 1;
        if (!t.isEmpty()) {
            int shift = "BKMGTPE".indexOf(Character.toUpperCase(t.charAt(t.length() - 1))) * 10;
            if (shift >= 0) {
                unit = 1L << shift;
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            BigInteger v = t.startsWith("0x") || t.startsWith("0X") ? new BigInteger(t.substring(2), 16)
                    : new java.math.BigDecimal(t).multiply(java.math.BigDecimal.valueOf(unit)).toBigIntegerExact();
            if (v.signum() < 0 || v.bitLength() > 64) {
                throw new NumberFormatException();
            }
            return v.longValue();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new PropertyException("Parameter '" + prop + "' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
    }

    /**
     * QEMU's pci-devfn syntax: "slot[.function]", each read as strtoul base 16 (so "0x3" as libvirt writes
     * it works), slot up to 0x1f, function up to 7; the value is slot &lt;&lt; 3 | function.
     */
    private static Long parseDevfn(String owner, String prop, String text) throws PropertyException {
        String[] parts = text.split("\\.", -1);
        long slot = parts.length <= 2 ? hex(parts[0]) : -1;
        long fn = parts.length == 2 ? hex(parts[1]) : 0;
        if (slot < 0 || slot > 0x1f || fn < 0 || fn > 7) {
            throw new PropertyException("Property '" + owner + "." + prop + "' doesn't take value '" + text + "'");
        }
        return slot << 3 | fn;
    }

    /** strtoul(s, &amp;end, 16) that must consume all of s; -1 when it does not. */
    private static long hex(String s) {
        String t = s.stripLeading();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            t = t.substring(2);
        }
        if (t.isEmpty() || t.length() > 8) {
            return -1;
        }
        for (int i = 0; i < t.length(); i++) {
            if (Character.digit(t.charAt(i), 16) < 0) {
                return -1;
            }
        }
        return Long.parseLong(t, 16);
    }

    private static Long checkDevfn(String owner, String prop, long v) throws PropertyException {
        if (v < -1 || v > 255) {
            throw new PropertyException("Property '" + owner + "." + prop + "' doesn't take value '" + v + "'");
        }
        return v;
    }
}
