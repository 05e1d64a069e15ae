package dev.jvmm.cli;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineControl;

/**
 * What the launcher needs of a machine it runs (pc or none): QMP's view, QMP's loop and start. Either machine
 * ends the process itself, in its exitProcess.
 */
interface LaunchedMachine extends MachineControl {
    /** The loop QMP and the chardevs run on, made on first use. */
    IoLoop ioLoop();

    /** Runs the machine: vCPUs where it has them, then the run state -S asks for. */
    void start();
}
