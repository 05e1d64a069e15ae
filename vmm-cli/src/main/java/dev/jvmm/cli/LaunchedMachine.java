package dev.jvmm.cli;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineControl;

import java.util.concurrent.TimeUnit;

/** What the launcher needs of a machine it runs (pc or none): QMP's view, QMP's loop, start, and its end. */
interface LaunchedMachine extends MachineControl {
    /** The loop QMP and the chardevs run on, made on first use. */
    IoLoop ioLoop();

    /** Runs the machine: vCPUs where it has them, then the run state -S asks for. */
    void start();

    /** Blocks the launching thread until the machine has ended. */
    void awaitExit() throws InterruptedException;

    /** Waits at most the given time for the machine to end. */
    void awaitHalt(long timeout, TimeUnit unit);
}
