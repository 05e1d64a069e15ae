package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevArgs;
import dev.jvmm.core.qom.QomService;
import dev.jvmm.core.qom.QomTree;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.qmp.EarlyQmpListener;


import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The jvmm launcher: parses a qemu-system-x86_64 command line, builds the PC and runs it. */
public final class Main {
    static final String PROGRAM = "jvmm";
    static final String VERSION = "0.1.0";
    /** The QEMU release whose command line and QMP jvmm follows; reported by -version and query-version. */
    static final String QEMU_VERSION = "7.2.0";

    private Main() {
    }

    public static void main(String[] args) {
        if (Daemon.isDaemon()) {
            Daemon.detachSession();
        } else if (Daemon.requested(args)) {
            System.exit(Daemon.launch(args, System.out, System.err));
        }
        StartupTrace trace = StartupTrace.fromArgs(args);
        EarlyQmpListener early = Daemon.isDaemon() ? null : EarlyQmp.start(args, () -> trace.mark("qmp greeting"));
        if (early != null) {
            // Greeting first: on a host whose other core is busy, the options' parse would share the one core
            // left with the sockets' opening and delay the greeting by as much.
            early.awaitListening();
        }
        Supplier<IoLoop> ioLoop = early == null ? IoLoop::new : QmpWarmup.begin();
        int status = run(args, System.out, System.err, new Launcher.Startup(early, trace, ioLoop));
        if (early != null) {
            early.close();
        }
        System.exit(status);
    }

    /** Runs jvmm and returns the process exit status (QEMU's conventions). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Launcher.Startup.PLAIN);
    }

    /** As {@link #run(String[], PrintStream, PrintStream)}, after main's early start-up work. */
    static int run(String[] args, PrintStream out, PrintStream err, Launcher.Startup startup) {
        QemuCommandLine cl;
        try {
            cl = QemuCommandLine.parse(args);
            startup.trace().mark("options parsed");
        } catch (QemuCommandLine.ArgumentException e) {
            err.println(PROGRAM + ": " + e.getMessage());
            return 1;
        }
        try {
            PrintStream prefixed = MessagePrefix.wrap(cl, err);
            if (prefixed != err && err == System.err) {
                // chardevs and the vCPU exit path report on the process's stderr: their lines get the prefix too
                System.setErr(prefixed);
            }
            err = prefixed;
        } catch (OptionException e) {
            err.println(PROGRAM + ": " + e.formatted());
            return 1;
        }
        if ("help".equals(cl.cpu) || "?".equals(cl.cpu)) {
            out.print(CpuModel.help());
            return 0;
        }
        for (String d : cl.device) {
            if (deviceHelp(d, out, err)) {
                return 0;
            }
        }
        for (String n : cl.netdev) {
            if (NetOptions.netdevHelp(n)) {
                out.print(new NetClients().types().help());
                return 0;
            }
        }
        for (String n : cl.nic) {
            if (nicModelHelp(n, out)) {
                return 0;
            }
        }
        for (String n : cl.net) {
            if (n.startsWith("nic") && nicModelHelp(n, out)) {
                return 0;
            }
        }
        if (cl.help) {
            out.print(QemuCommandLine.usage());
            return 0;
        }
        String logUsage = StartupTrace.usage(cl.logItems);
        if (logUsage != null) {
            out.print(logUsage);
            return 1;
        }
        if (cl.version) {
            out.println("QEMU emulator version " + QEMU_VERSION + " (jvmm " + VERSION + ")");
            out.println("Copyright (c) the jvmm developers; command line and QMP follow QEMU " + QEMU_VERSION);
            return 0;
        }
        // the second line of each warning is QEMU's hint, printed without the program's name
        for (String w : shortFormWarnings(cl)) {
            err.println(w.startsWith("Please use ") ? w : PROGRAM + ": " + w);
        }
        try {
            if (Daemon.isDaemon() && Daemon.conflict(cl) != null) {
                throw new LaunchException(Daemon.conflict(cl));
            }
            MachineConfig config = MachineConfigParser.parse(cl);
            ProcessSettings.apply(config.host());
            boolean none = MachineConfigParser.isNoneMachine(cl.machine);
            if (none && NoneMachine.refusal(cl) != null) {
                throw new LaunchException(NoneMachine.refusal(cl));
            }
            startup.trace().mark("configuration");
            return launch(cl, config, none, err, startup);
        } catch (OptionException e) {
            err.println(PROGRAM + ": " + e.formatted());
            return 1;
        } catch (LaunchException e) {
            err.println(PROGRAM + ": " + e.getMessage());
            return 1;
        }
    }

    /** -pidfile first, as QEMU writes it before building the machine; removed again if the start fails. */
    private static int launch(QemuCommandLine cl, MachineConfig config, boolean none, PrintStream err,
            Launcher.Startup startup) {
        PidFile pid = cl.pidfile == null ? null : PidFile.create(cl.pidfile);
        Launcher.Hooks hooks = new Launcher.Hooks(Daemon.isDaemon() ? Daemon::ready : () -> { },
                pid == null ? () -> { } : pid::remove);
        try {
            return none ? Launcher.launchNone(config, err, hooks, startup)
                    : Launcher.launch(config, err, hooks, startup);
        } catch (RuntimeException e) {
            hooks.atExit().run();
            throw e;
        }
    }

    /**
     * QEMU 7.2's deprecation of bare "flag" and "noflag" in QemuOpts-parsed options (-device, -global): the
     * two warning lines, printed before the option is used.
     */
    static List<String> shortFormWarnings(QemuCommandLine cl) {
        List<String> out = new java.util.ArrayList<>();
        for (String d : cl.device) {
            if (!d.stripLeading().startsWith("{")) {
                shortForms("-device " + d, QemuOpts.splitCommas(d), 1, out);
            }
        }
        for (String g : cl.global) {
            int dot = g.indexOf('.');
            int eq = g.indexOf('=');
            if (!(dot > 0 && eq > dot + 1)) {
                shortForms("-global " + g, QemuOpts.splitCommas(g), 0, out);
            }
        }
        return out;
    }

    private static void shortForms(String option, List<String> parts, int from, List<String> out) {
        for (int i = from; i < parts.size(); i++) {
            String p = parts.get(i);
            if (p.isEmpty() || p.contains("=") || p.equals("help") || p.equals("?")) {
                continue;
            }
            boolean off = p.startsWith("no") && p.length() > 2;
            String key = off ? p.substring(2) : p;
            out.add(option + ": warning: short-form boolean option '" + p + "' deprecated");
            out.add("Please use " + key + "=" + (off ? "off" : "on") + " instead");
        }
    }

    /**
     * -device help (every user-creatable type by section) and -device TYPE,help (its properties), printed
     * from the type declarations as QEMU prints them; true when the option asked for help.
     */
    private static boolean deviceHelp(String device, PrintStream out, PrintStream err) {
        List<String> parts = QemuOpts.splitCommas(device);
        boolean all = parts.get(0).equals("help") || parts.get(0).equals("?");
        if (!all && !parts.subList(1, parts.size()).stream().anyMatch(p -> p.equals("help") || p.equals("?"))) {
            return false;
        }
        TypeRegistry types = PcMachine.registry();
        QomService qom = new QomService(types, new QomTree());
        if (all) {
            Map<String, List<String>> aliases = new HashMap<>();
            for (DeviceClass c : DeviceCatalog.classes()) {
                aliases.put(c.type().name(), c.aliases());
            }
            out.print(qom.deviceList(aliases));
            return true;
        }
        String driver = parts.get(0).startsWith("driver=") ? parts.get(0).substring(7) : parts.get(0);
        for (DeviceClass c : DeviceCatalog.classes()) {
            if (c.aliases().contains(driver)) {
                driver = c.type().name();
            }
        }
        try {
            out.print(qom.deviceHelp(driver));
        } catch (MachineCommandException e) {
            err.println(PROGRAM + ": -device " + device + ": " + e.getMessage());
        }
        return true;
    }

    /** -nic ...,model=help and -net nic,model=help: QEMU's list of the NIC models (qemu_show_nic_models). */
    private static boolean nicModelHelp(String text, PrintStream out) {
        Object model;
        try {
            model = NetdevArgs.parse(text).args().get("model");
        } catch (OptionException e) {
            return false; // the option's parser reports it
        }
        if (!"help".equals(model) && !"?".equals(model)) {
            return false;
        }
        out.println("Supported NIC models:");
        MachineNetwork.nicModels().forEach(out::println);
        return true;
    }
}
