package dev.jvmm.core.qom;

import java.util.List;

/**
 * One declared property of a type.
 *
 * @param name         QEMU's name
 * @param type         its type (parsing, QMP type string, description)
 * @param defaultValue the value before any setting, or null where QEMU shows no default-value
 * @param settable     true for qdev properties (-device, -global, device_add); false for QOM-only ones such
 *                     as "type", "realized" or a child, which qom-list and qom-get see but -device cannot set
 * @param only         null when jvmm honours every value (or every value is without effect here); otherwise
 *                     the only values it runs with, any other refused with {@code refusal}
 * @param refusal      why other values are refused (appended to the property's name), or null for a plain
 *                     "is not supported by jvmm"
 */
public record Property(String name, PropType type, Object defaultValue, boolean settable, List<Object> only,
                       String refusal) {

    public Property {
        only = only == null ? null : List.copyOf(only);
    }

    /** A qdev property jvmm honours. */
    public static Property of(String name, PropType type, Object defaultValue) {
        return new Property(name, type, defaultValue, true, null, null);
    }

    /** A qdev property without a default-value (strings, links). */
    public static Property of(String name, PropType type) {
        return of(name, type, null);
    }

    /** A qdev property that takes only its default here; any other value is refused naming the property. */
    public static Property fixed(String name, PropType type, Object defaultValue) {
        return new Property(name, type, defaultValue, true, defaultValue == null ? null : List.of(defaultValue),
                null);
    }

    /** A QOM-only property (read through the object, never set by -device). */
    public static Property object(String name, PropType type) {
        return new Property(name, type, null, false, null, null);
    }

    /** This property limited to the given values, others refused with the reason given. */
    public Property only(String reason, Object... values) {
        return new Property(name, type, defaultValue, settable, List.of(values), reason);
    }

    /** The description -device help and device-list-properties show. */
    public String description() {
        return type.description();
    }

    /** Checks a parsed value against what jvmm supports; owner is the type named in the error. */
    void checkSupported(String owner, Object value) throws PropertyException {
        if (only != null && !only.contains(value)) {
            String shown = type.format(value);
            if (value instanceof Boolean b) {
                shown = b ? "on" : "off";
            }
            throw new PropertyException(refusal != null ? refusal.replace("VALUE", shown)
                    : "Property '" + owner + "." + name + "' = '" + shown + "' is not supported by jvmm (only '"
                    + only.stream().map(o -> o instanceof Boolean b ? (b ? "on" : "off") : type.format(o))
                            .reduce((a, b) -> a + "', '" + b).orElse("") + "')");
        }
    }
}
