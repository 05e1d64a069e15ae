package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * One property of QEMU 7.2's pc-i440fx-7.2 machine (-machine pc,NAME=VALUE) and what jvmm does with it.
 *
 * @param name     the property's name
 * @param type     its QAPI type, which decides how a value is checked and spelled
 * @param support  whether jvmm applies it, has nothing it could change, or takes only some values
 * @param accepted for {@link Support#LIMITED}: the values (as {@link #canonical} spells them) jvmm runs with
 * @param refusal  for {@link Support#LIMITED}: the error line for any other value, given the value
 * @param note     why the property has no effect, or what it changes in jvmm
 */
record MachineProperty(String name, Type type, Support support, Set<String> accepted,
                       UnaryOperator<String> refusal, String note) {
    /** The QAPI types of the pc machine's properties. */
    enum Type {
        /** OnOffAuto: exactly "on", "off" or "auto". */
        ON_OFF_AUTO,
        /** bool: on/yes/true/y or off/no/false/n, spelled "on" or "off". */
        BOOL,
        /** size: bytes with an optional k/M/G/T suffix. */
        SIZE,
        /** uint64 or int: a plain number. */
        INTEGER,
        /** string, or a link to an object, a block node or an audio backend by its id. */
        STRING,
        /** one of a fixed set of strings, listed in {@link #ENUM_VALUES}. */
        ENUM,
        /** a QAPI struct or list, given as NAME.member=VALUE; NAME=VALUE alone is an error. */
        STRUCT
    }

    /** How jvmm treats the property. */
    enum Support {
        /** jvmm applies every valid value. */
        HONOURED,
        /** Every valid value is accepted; nothing jvmm models depends on it (see the note). */
        NO_EFFECT,
        /** Only the listed values are accepted; others are refused with the refusal line. */
        LIMITED
    }

    /** The members of each {@link Type#ENUM} property, by name. */
    static final java.util.Map<String, List<String>> ENUM_VALUES = java.util.Map.of(
            "kernel-irqchip", List.of("on", "off", "split"),
            "smbios-entry-point-type", List.of("32", "64"));

    static MachineProperty honoured(String name, Type type, String note) {
        return new MachineProperty(name, type, Support.HONOURED, Set.of(), null, note);
    }

    static MachineProperty noEffect(String name, Type type, String note) {
        return new MachineProperty(name, type, Support.NO_EFFECT, Set.of(), null, note);
    }

    static MachineProperty limited(String name, Type type, Set<String> accepted, UnaryOperator<String> refusal) {
        return new MachineProperty(name, type, Support.LIMITED, accepted, refusal, null);
    }

    /** A LIMITED property whose other values are refused with "Machine option 'NAME=VALUE' is not supported: why". */
    static MachineProperty limited(String name, Type type, Set<String> accepted, String why) {
        return limited(name, type, accepted,
                v -> "Machine option '" + name + "=" + v + "' is not supported: " + why);
    }

    /**
     * Checks a value against the property's type with QEMU's error texts and returns it spelled canonically
     * (booleans as "on"/"off", sizes and numbers as decimal bytes).
     */
    String canonical(String value) {
        return switch (type) {
            case ON_OFF_AUTO -> {
                if (!List.of("on", "off", "auto").contains(value)) {
                    throw new OptionException(null, "Parameter '" + name + "' does not accept value '" + value + "'");
                }
                yield value;
            }
            case BOOL -> switch (value) {
                case "on", "yes", "true", "y" -> "on";
                case "off", "no", "false", "n" -> "off";
                default -> throw new OptionException(null, "Parameter '" + name + "' expects 'on' or 'off'");
            };
            case SIZE -> {
                try {
                    yield Long.toString(QemuOpts.parseSize(value, 1));
                } catch (NumberFormatException e) {
                    throw new OptionException(null, "Parameter '" + name + "' expects size");
                }
            }
            case INTEGER -> {
                try {
                    yield Long.toString(QemuOpts.parseNumber(value));
                } catch (NumberFormatException e) {
                    throw new OptionException(null, "Parameter '" + name + "' expects integer");
                }
            }
            case ENUM -> {
                if (!ENUM_VALUES.get(name).contains(value)) {
                    throw new OptionException(null, "Parameter '" + name + "' does not accept value '" + value + "'");
                }
                yield value;
            }
            case STRING, STRUCT -> value;
        };
    }

    /** Fails with the refusal line when jvmm cannot run with this (canonical) value. */
    void check(String canonicalValue) {
        if (support == Support.LIMITED && !accepted.contains(canonicalValue)) {
            throw new OptionException(null, refusal.apply(canonicalValue));
        }
    }
}
