package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.kvm.Kvm;
import dev.jvmm.kvm.KvmException;
import dev.jvmm.kvm.boot.KernelLoadException;
import dev.jvmm.kvm.boot.KernelLoader;
import dev.jvmm.kvm.seccomp.Sandbox;
import dev.jvmm.qmp.EarlyQmpListener;
import dev.jvmm.qmp.QmpEndpoint;
import dev.jvmm.qmp.QmpServer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/** Builds the PC from a {@link MachineConfig}, starts QMP and the vCPUs, and waits for the machine to exit. */
final class Launcher {
    /** Overrides /dev/kvm, for machines where KVM lives elsewhere and for tests of the missing-KVM path. */
    static final String KVM_DEVICE_ENV = "JVMM_KVM_DEVICE";

    private Launcher() {
    }

    /**
     * What the process does around the machine: ready runs once the machine is set up and QMP listens
     * (-daemonize), atExit as the process ends (-pidfile).
     */
    record Hooks(Runnable ready, Runnable atExit) {
        static final Hooks NONE = new Hooks(() -> { }, () -> { });
    }

    /**
     * What main did before the full parse: QMP sockets already listening and greeting, which the QMP server
     * takes over (null when there are none), the -d startup tracer, and where the machine gets its I/O loop
     * (made on first use, or already being made on another thread).
     */
    record Startup(EarlyQmpListener early, StartupTrace trace, Supplier<IoLoop> ioLoop) {
        static final Startup PLAIN = new Startup(null, StartupTrace.OFF, IoLoop::new);
    }

    static int launch(MachineConfig config, PrintStream err) {
        return launch(config, err, Hooks.NONE, Startup.PLAIN);
    }

    /** QEMU's empty machine: QMP and nothing else. */
    static int launchNone(MachineConfig config, PrintStream err, Hooks hooks, Startup startup) {
        List<QmpEndpoint> endpoints = QmpEndpoint.fromCommandLine(config.qmp(), config.chardevs(),
                config.monitors());
        installSandboxes(config);
        NoneMachine machine = new NoneMachine(config, openKvm(), actions(config), err, startup.ioLoop());
        return serve(machine, endpoints, err, hooks, startup);
    }

    /** /dev/kvm (or the device the environment names), opened as QEMU's accelerator is, before the machine. */
    private static Kvm openKvm() {
        try {
            return Kvm.open(System.getenv().getOrDefault(KVM_DEVICE_ENV, Kvm.DEVICE));
        } catch (KvmException e) {
            throw new LaunchException(e.getMessage());
        }
    }

    static int launch(MachineConfig config, PrintStream err, Hooks hooks, Startup startup) {
        KernelLoader.Request kernel = config.kernel().isPresent() ? readKernel(config) : null;
        ActionSettings actions = actions(config);
        List<QmpEndpoint> endpoints = QmpEndpoint.fromCommandLine(config.qmp(), config.chardevs(),
                config.monitors());
        installSandboxes(config);
        Kvm kvm = openKvm();
        startup.trace().mark("kvm opened");
        PcMachine machine;
        try {
            machine = new PcMachine(config, kernel, kvm, actions, err, startup);
        } catch (KernelLoadException | KvmException e) {
            throw new LaunchException(e.getMessage());
        }
        return serve(machine, endpoints, err, hooks, startup);
    }

    /** QMP listening, the signal handler, then the machine started; returns the process's exit status. */
    private static int serve(LaunchedMachine machine, List<QmpEndpoint> endpoints, PrintStream err, Hooks hooks,
            Startup startup) {
        machine.lifecycle().addExitHook(hooks.atExit());
        // This thread becomes the main loop below; nothing on the way waits for a task of that loop.
        machine.lifecycle().reserveMainLoop();
        QmpServer qmp = null;
        EarlyQmpListener early = startup.early();
        boolean adopt = early != null && early.endpoints().equals(endpoints) && early.awaitListening();
        if (early != null && !adopt) {
            early.close();
        }
        try {
            if (!endpoints.isEmpty()) {
                qmp = new QmpServer(machine, machine.ioLoop());
                startup.trace().mark("qmp commands");
                if (!adopt) {
                    for (QmpEndpoint ep : endpoints) {
                        qmp.listen(ep);
                    }
                }
            }
        } catch (IOException e) {
            throw new LaunchException("QMP: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        HostSignals.install(machine.lifecycle(), err);
        machine.start();
        startup.trace().mark("machine started");
        if (adopt) {
            // After the start, as in QEMU, whose main loop reads the monitors only once the machine runs (or
            // waits under -S): a client that connected early sees no event of the start itself.
            try {
                qmp.adopt(early.handOver());
            } catch (IOException e) {
                throw new LaunchException("QMP: " + e.getMessage());
            }
            startup.trace().mark("qmp serving");
        }
        hooks.ready().run();
        // The launching thread becomes the main loop for the machine's life (or parks, should the loop have
        // a thread already): the process ends in the machine's exitProcess.
        machine.lifecycle().runMainLoopHere();
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 1;
    }

    /**
     * -sandbox: where QEMU installs its filter, early in start-up once the options are read, before the
     * accelerator and the machine exist; everything after (KVM, devices, QMP, vCPU threads) runs under it.
     */
    private static void installSandboxes(MachineConfig c) {
        for (MachineConfig.SandboxArg s : c.sandboxes()) {
            try {
                s.sandbox().install();
            } catch (Sandbox.SandboxException e) {
                throw new OptionException(s.option(), e.getMessage());
            }
        }
    }

    static KernelLoader.Request readKernel(MachineConfig c) {
        Path initrd = c.initrd().orElse(null);
        try {
            return KernelLoader.request(c.kernel().orElseThrow(), c.append(), initrd);
        } catch (KernelLoadException e) {
            throw new LaunchException(e.getMessage());
        }
    }

    /** -no-reboot, -no-shutdown and -action, in QEMU's precedence (later -action values win). */
    static ActionSettings actions(MachineConfig c) {
        ActionSettings a = ActionSettings.defaults();
        if (c.noReboot()) {
            a = a.withReboot(ActionSettings.RebootAction.SHUTDOWN);
        }
        if (c.noShutdown()) {
            a = a.withShutdown(ActionSettings.ShutdownAction.PAUSE);
        }
        for (String o : c.actions()) {
            try {
                a = a.applyOption(o);
            } catch (IllegalArgumentException ex) {
                throw new OptionException("-action " + o, ex.getMessage());
            }
        }
        return a;
    }
}
