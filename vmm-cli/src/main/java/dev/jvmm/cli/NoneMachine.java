package dev.jvmm.cli;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.CommandLineOption;
import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pc.NoneMachineType;
import dev.jvmm.devices.pc.PcMachineType;
import dev.jvmm.devices.pc.PcProperties;
import dev.jvmm.kvm.CpuModelCatalog;
import dev.jvmm.kvm.Kvm;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * QEMU's empty machine (-machine none): no RAM, no vCPU, no device; the run state, QMP and the QOM tree work
 * as for any machine. libvirt's capability probe starts it to ask the emulator what it can do.
 */
final class NoneMachine implements LaunchedMachine, VcpuControl {
    private final MachineConfig config;
    private final PrintStream err;
    private final Kvm kvm;
    private final LifecycleController lifecycle;
    private final DeviceModel devices;
    private IoLoop ioLoop;
    private final Supplier<IoLoop> ioLoops;
    /** announce-self's rounds. */
    private final ScheduledExecutorService timers;
    /** The netdevs and hubs of -netdev, -nic and -net; QEMU's none machine has them, though no NIC. */
    private final MachineNetwork network;

    NoneMachine(MachineConfig config, Kvm kvm, ActionSettings actions, PrintStream err, Supplier<IoLoop> ioLoops) {
        this.ioLoops = ioLoops;
        this.config = config;
        this.kvm = kvm;
        this.err = err;
        this.lifecycle = new LifecycleController(new EventBus(), this, actions);
        this.devices = new DeviceModel(PcMachine.registry(), DeviceCatalog.classes(), config.globals(),
                NoneMachineType.NAME);
        describeMachine(devices.machineNode(), config.pc());
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jvmm-timers");
            t.setDaemon(true);
            return t;
        });
        this.network = new MachineNetwork(lifecycle, timers);
        try {
            // QEMU's default "-net nic -net user" applies here too; the NIC is never made
            List<NetOptions.Nic> nics = network.build(config.net(), network.clients().types().has("user"));
            network.warn(err);
            nics.forEach(n -> err.println(Main.PROGRAM + ": warning: " + n.notCreatedWarning()));
        } catch (RuntimeException e) {
            network.close();
            timers.shutdownNow();
            throw e;
        }
    }

    @Override
    public NetControl net() {
        return network.control();
    }

    /**
     * /machine's properties: the machine base type's, with the values QEMU's none machine shows (no RAM, one
     * CPU slot, no firmware, no graphics); none can change once the machine exists.
     */
    private static void describeMachine(QomNode node, PcProperties m) {
        for (Property p : PcMachineType.MACHINE.properties()) {
            String name = p.name();
            String type = p.type().qapiType();
            if (type.startsWith("link<")) {
                node.addLink(name, type.substring(5, type.length() - 1), () -> null);
                continue;
            }
            Object value = switch (name) {
                case "boot" -> Map.of("order", "");
                case "memory" -> Map.of("size", 0L);
                case "smp" -> smp();
                case "firmware" -> "";
                case "graphics" -> false;
                default -> m.value(name).map(p.type()::toJson).orElse(p.type().toJson(p.defaultValue()));
            };
            node.addProperty(name, type, () -> value, v -> {
                throw new PropertyException("jvmm cannot change machine property '" + name
                        + "' once the machine is built");
            });
        }
    }

    private static Map<String, Object> smp() {
        Map<String, Object> s = new LinkedHashMap<>();
        for (String k : List.of("cpus", "maxcpus", "threads", "cores", "dies", "sockets", "clusters")) {
            s.put(k, 1L);
        }
        return s;
    }

    /**
     * What this machine cannot take from the command line, in QEMU's words where QEMU refuses it too; null when
     * the command line fits.
     */
    static String refusal(QemuCommandLine cl) {
        if (cl.smp != null && !cl.smp.matches("(cpus=)?[01]")) {
            return "Invalid SMP CPUs " + cl.smp + ". The max CPUs supported by machine 'none' is 1";
        }
        if (cl.cpu != null || cl.memory != null || cl.kernel != null || !cl.device.isEmpty()
                || !cl.drives.isEmpty() || !cl.blockdev.isEmpty() || !cl.serial.isEmpty()) {
            return "-machine none: jvmm's none machine takes no -cpu, -m, -kernel, -device, -drive, -blockdev"
                    + " or -serial (it has no vCPU, RAM or bus)";
        }
        return null;
    }

    @Override
    public synchronized IoLoop ioLoop() {
        if (ioLoop == null) {
            ioLoop = ioLoops.get();
        }
        return ioLoop;
    }

    /** Without -S the (empty) machine runs at once, as QEMU's does. */
    @Override
    public void start() {
        lifecycle.start(!config.startPaused());
    }

    // ---- VcpuControl: there are no vCPUs ----

    @Override
    public void pauseAll() {
    }

    @Override
    public void resumeAll() {
    }

    @Override
    public void resetAll() {
    }

    @Override
    public void exitProcess(int status) {
        network.close();
        err.flush();
        System.out.flush();
        kvm.close();
        ProcessExit.now(status);
    }

    // ---- MachineControl ----

    @Override
    public LifecycleController lifecycle() {
        return lifecycle;
    }

    @Override
    public QomControl qom() {
        return devices.qom();
    }

    @Override
    public CpuModelControl cpuModels() {
        return new CpuModelCatalog(kvm.hostCpu());
    }

    @Override
    public List<CommandLineOption> commandLineOptions() {
        return CommandLineOptions.ALL;
    }

    @Override
    public MachineInfo info() {
        return info;
    }

    private final MachineInfo info = new MachineInfo() {
        @Override
        public Optional<String> name() {
            return config.name();
        }

        @Override
        public Optional<UUID> uuid() {
            return config.uuid();
        }

        @Override
        public List<VcpuInfo> vcpus() {
            return List.of();
        }

        @Override
        public String registersText(int cpuIndex) {
            return "";
        }



        @Override
        public boolean hotpluggableCpus() {
            return false;
        }
    };
}
