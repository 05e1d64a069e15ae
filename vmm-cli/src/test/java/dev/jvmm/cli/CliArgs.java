package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** The command line as jvmm reads it, for the option tests: parsed and checked, or its one-line error. */
final class CliArgs {
    private CliArgs() {
    }

    static MachineConfig config(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return MachineConfigParser.parse(cl);
    }

    static String error(String... args) {
        return assertThrows(OptionException.class, () -> config(args)).formatted();
    }
}
