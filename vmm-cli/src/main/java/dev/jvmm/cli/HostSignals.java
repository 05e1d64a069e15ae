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
     * Installs the handler; awaitEnd blocks until the machine's main loop has ended the process (it returns
     * only if that does not happen, and the process then goes on as before the signal).
     */
    static void install(LifecycleController lifecycle, PrintStream err, Runnable awaitEnd) {
        SignalHandler handler = signal -> {
            if (!lifecycle.isExiting()) {
                err.println(Main.PROGRAM + ": terminating on signal " + signal.getNumber());
                lifecycle.requestHostSignalShutdown();
                awaitEnd.run();
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
