package dev.jvmm.cli;

import dev.jvmm.core.machine.LifecycleController;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;
import java.util.List;

/**
 * SIGTERM, SIGINT and SIGHUP as QEMU's termsig handler takes them (softmmu/runstate.c in 7.2): one line naming the
 * signal, then SHUTDOWN {guest: false, reason: "host-signal"} and exit status 0. A handler of our own, rather
 * than a shutdown hook, is what gives the signal's number; QEMU adds the sender's pid from siginfo, which a
 * JVM signal handler does not see.
 */
final class HostSignals {
    private static final List<String> TERMINATING = List.of("TERM", "INT", "HUP");

    private HostSignals() {
    }

    /**
     * Installs the handler. It only asks the lifecycle for the shutdown: the main loop emits SHUTDOWN and ends
     * the process with status 0, and since the JVM does not end on a signal it handles, nothing waits here.
     */
    static void install(LifecycleController lifecycle, PrintStream err) {
        SignalHandler handler = signal -> {
            if (!lifecycle.isExiting()) {
                err.println(Main.PROGRAM + ": terminating on signal " + signal.getNumber());
                lifecycle.requestHostSignalShutdown();
            }
        };
        for (String name : TERMINATING) {
            try {
                Signal.handle(new Signal(name), handler);
            } catch (IllegalArgumentException e) {
                // The JVM refuses signals it keeps for itself (-Xrs changes which); those keep its default.
            }
        }
    }
}
