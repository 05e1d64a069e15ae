package dev.jvmm.cli;

import java.io.PrintStream;

/** Builds the PC from a {@link MachineConfig} and runs it until it exits. */
final class Launcher {
    private Launcher() {
    }

    static int launch(MachineConfig config, PrintStream err) {
        throw new LaunchException("machine assembly not wired yet");
    }
}
