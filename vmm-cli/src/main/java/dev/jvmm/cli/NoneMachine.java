package dev.jvmm.cli;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.CommandLineOption;
import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pc.NoneMachineType;
import dev.jvmm.kvm.CpuModelCatalog;
import dev.jvmm.kvm.Kvm;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

/**
 * QEMU's empty machine (-machine none): no RAM, no vCPU, no device; the run state, QMP and the QOM tree work
 * as for any machine. libvirt's capability probe starts it to ask the emulator what it can do.
 */
final class NoneMachine implements MachineControl, VcpuControl {
    private final MachineConfig config;
    private final PrintStream err;
    private final Kvm kvm;
    private final LifecycleController lifecycle;
    private final DeviceModel devices;
    /** Never released: the process ends through {@link #exitProcess}, which halts the JVM. */
    private final CountDownLatch halted = new CountDownLatch(1);
    private IoLoop ioLoop;

    NoneMachine(MachineConfig config, Kvm kvm, ActionSettings actions, PrintStream err) {
        this.config = config;
        this.kvm = kvm;
        this.err = err;
        this.lifecycle = new LifecycleController(new EventBus(), this, actions);
        this.devices = new DeviceModel(PcMachine.registry(), DeviceCatalog.classes(), config.globals(),
                NoneMachineType.NAME);
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

    synchronized IoLoop ioLoop() {
        if (ioLoop == null) {
            ioLoop = new IoLoop();
        }
        return ioLoop;
    }

    /** Without -S the (empty) machine runs at once, as QEMU's does. */
    void start() {
        lifecycle.start(!config.startPaused());
    }

    void awaitExit() throws InterruptedException {
        halted.await();
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
        err.flush();
        System.out.flush();
        kvm.close();
        Runtime.getRuntime().halt(status);
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
        public List<MachineTypeInfo> machineTypes() {
            return MachineTypeInfo.jvmm();
        }

        @Override
        public KvmInfo kvm() {
            return new KvmInfo(true, true);
        }
    };
}
