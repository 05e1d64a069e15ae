package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.machine.QemuVersion;
import dev.jvmm.qmp.EarlyQmpListener;
import dev.jvmm.qmp.QmpEndpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The QMP endpoints of a command line, read straight from the arguments before the full parse, so their
 * sockets listen and greet while the machine is built ({@link EarlyQmpListener}). Anything unusual leaves
 * the sockets to the usual path, after the machine: a process that only prints (help, version), one that
 * daemonizes, an endpoint the quick reading cannot take. {@link Launcher} hands the early listener to the QMP
 * server only when the full parse names exactly the same endpoints.
 */
final class EarlyQmp {
    private static final Set<String> PRINT_ONLY = Set.of("-version", "--version", "-h", "-help", "--help",
            "-daemonize", "--daemonize");

    private EarlyQmp() {
    }

    /**
     * The endpoints' listener, opening on its own thread (onListening runs there once it greets); null when
     * the usual path should open them.
     */
    static EarlyQmpListener start(String[] args, Runnable onListening) {
        List<String> qmp = new ArrayList<>();
        List<String> chardevs = new ArrayList<>();
        List<String> monitors = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (PRINT_ONLY.contains(a) || asksForHelp(a)) {
                return null;
            }
            if (i + 1 >= args.length) {
                break;
            }
            switch (a) {
                case "-qmp", "--qmp" -> qmp.add(args[++i]);
                case "-chardev", "--chardev" -> chardevs.add(args[++i]);
                case "-mon", "--mon" -> monitors.add(args[++i]);
                default -> {
                    if (asksForHelp(args[i + 1])) {
                        return null;
                    }
                }
            }
        }
        if (qmp.isEmpty() && monitors.isEmpty()) {
            return null;
        }
        try {
            return EarlyQmpListener.start(QmpEndpoint.fromCommandLine(qmp, chardevs, monitors), QemuVersion.JVMM,
                    onListening);
        } catch (OptionException | IllegalArgumentException e) {
            return null;
        }
    }

    /** "help", "?", or an option value with a help item ("e1000,help", "model=?"). */
    private static boolean asksForHelp(String a) {
        return a.equals("help") || a.equals("?") || a.endsWith(",help") || a.endsWith(",?") || a.endsWith("=help")
                || a.endsWith("=?") || a.startsWith("help,") || a.startsWith("?,");
    }
}
