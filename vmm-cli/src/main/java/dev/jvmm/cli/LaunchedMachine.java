package dev.jvmm.cli;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineControl;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** What the launcher needs of a machine it runs (pc or none): QMP's view, QMP's loop, start, and its end. */
interface LaunchedMachine extends MachineControl {
    /** The loop QMP and the chardevs run on, made on first use. */
    IoLoop ioLoop();

    /** Runs the machine: vCPUs where it has them, then the run state -S asks for. */
    void start();

    /** Released when the machine has ended (a machine that ends the process itself may never release it). */
    CountDownLatch ended();

    /** Blocks the launching thread until the machine has ended. */
    default void awaitExit() throws InterruptedException {
        ended().await();
    }

    /** Waits at most the given time for the machine to end. */
    default void awaitHalt(long timeout, TimeUnit unit) {
        try {
            ended().await(timeout, unit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
