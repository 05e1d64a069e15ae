package dev.jvmm.qmp;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.machine.ChardevAdded;
import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.ObjectControl;
import dev.jvmm.core.objects.ObjectOptions;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * HMP's chardev-add, chardev-remove, chardev-change, object_add and object_del: the same machine handles as
 * the QMP commands, with HMP's argument syntax (-chardev's and -object's text) and its printed errors.
 */
final class HmpRuntime {
    private static final String PARSE_FAILED = "Error: Parsing chardev args failed\n";

    private final ChardevControl chardevs;
    private final ObjectControl objects;
    private final Supplier<List<ChardevInfo>> monitors;

    HmpRuntime(ChardevControl chardevs, ObjectControl objects, Supplier<List<ChardevInfo>> monitors) {
        this.chardevs = chardevs;
        this.objects = objects;
        this.monitors = monitors;
    }

    static boolean handles(String command) {
        return switch (command) {
            case "chardev-add", "chardev-remove", "chardev-change", "object_add", "object_del" -> true;
            default -> false;
        };
    }

    /** Runs one of {@link #handles}' commands; arg is the rest of the line. Output lines end "\n". */
    String execute(String command, String arg) {
        if (arg.isEmpty()) {
            // each of them takes a first argument HMP's parser requires
            return command + ": string expected\nTry \"help " + command + "\" for more information\n";
        }
        try {
            switch (command) {
                case "chardev-add" -> {
                    List<String> taken = monitors.get().stream().map(ChardevInfo::label).toList();
                    String id = dev.jvmm.core.config.QemuOpts.parse("chardev-add", arg, "backend").get("id")
                            .orElse("");
                    // the option list refuses a bad or taken id while parsing, reported on lines of their own
                    if (!id.isEmpty() && !id.matches("[A-Za-z][A-Za-z0-9_.-]*")) {
                        return "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, "
                                + "'-', '.', '_', starting with a letter.\n" + PARSE_FAILED;
                    }
                    if (taken.contains(id) || chardevs.optionHolds(id)) {
                        return "Duplicate ID '" + id + "' for chardev\n" + PARSE_FAILED;
                    }
                    ChardevAdded a = chardevs.addFromOption(arg, taken);
                    return a.pty().map(p -> "char device redirected to " + p + " (label " + a.id() + ")\n")
                            .orElse("");
                }
                case "chardev-remove" -> {
                    if (monitors.get().stream().anyMatch(c -> c.label().equals(arg))) {
                        throw MachineCommandException.generic("Chardev '" + arg + "' is busy");
                    }
                    chardevs.remove(arg);
                    return "";
                }
                case "chardev-change" -> {
                    return change(arg);
                }
                case "object_add" -> {
                    ObjectOptions o;
                    try {
                        o = ObjectOptions.parse(arg);
                    } catch (OptionException e) {
                        // HMP reads the text with keyval and QAPI's visitor, which names an unknown key so
                        throw MachineCommandException.generic(e.getMessage()
                                .replaceFirst("^Invalid parameter '(.*)'$", "Parameter '$1' is unexpected"));
                    }
                    objects.add(o.type(), o.id(), o.values());
                    return "";
                }
                default -> {
                    objects.delete(arg);
                    return "";
                }
            }
        } catch (MachineCommandException | OptionException e) {
            return "Error: " + e.getMessage() + "\n";
        }
    }

    /** chardev-change ID ARGS: ARGS as -chardev's text without the id. */
    private String change(String arg) throws MachineCommandException {
        int space = arg.indexOf(' ');
        if (space < 0) {
            return "chardev-change: string expected\nTry \"help chardev-change\" for more information\n";
        }
        String id = arg.substring(0, space);
        String text = arg.substring(space + 1).trim();
        if (monitors.get().stream().anyMatch(c -> c.label().equals(id))) {
            throw MachineCommandException.generic("Chardev user does not support chardev hotswap");
        }
        Map<String, String> backend = new java.util.LinkedHashMap<>(
                dev.jvmm.core.config.QemuOpts.parse("chardev-change", text, "backend").values());
        backend.remove("id");
        return chardevs.change(id, backend).map(p -> "char device redirected to " + p + " (label " + id + ")\n")
                .orElse("");
    }
}
