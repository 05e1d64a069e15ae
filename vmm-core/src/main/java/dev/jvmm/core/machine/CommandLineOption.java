package dev.jvmm.core.machine;

import java.util.List;

/**
 * One option group as query-command-line-options lists it (QEMU's CommandLineOptionInfo): the option's name
 * and the parameters its key=value syntax takes.
 */
public record CommandLineOption(String option, List<Parameter> parameters) {
    /** A parameter and its QEMU type: string, boolean, number or size. */
    public record Parameter(String name, String type) {
    }

    /**
     * What a machine without its own list answers: -device takes any property of its type (no fixed list),
     * -global names one.
     */
    public static final List<CommandLineOption> OBJECT_MODEL = List.of(new CommandLineOption("device", List.of()),
            new CommandLineOption("global", List.of(new Parameter("value", "string"),
                    new Parameter("property", "string"), new Parameter("driver", "string"))));
}
