package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockControl;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciControl;
import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.VcpuInfo;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** A machine without KVM: records what the lifecycle asked of its vCPUs. */
final class FakeMachine implements MachineControl, MachineInfo, VcpuControl {
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile int exitStatus = -1;
    /** What the "guest" does once it runs (e.g. request a reset), standing in for firmware. */
    volatile Runnable onResume;
    final LifecycleController lifecycle;
    final Optional<String> name;
    final Optional<UUID> uuid;

    FakeMachine(ActionSettings actions, String name, UUID uuid) {
        this.lifecycle = new LifecycleController(new EventBus(), this, actions);
        this.name = Optional.ofNullable(name);
        this.uuid = Optional.ofNullable(uuid);
    }

    FakeMachine() {
        this(ActionSettings.defaults(), null, null);
    }

    @Override
    public LifecycleController lifecycle() {
        return lifecycle;
    }

    @Override
    public Optional<String> name() {
        return name;
    }

    @Override
    public Optional<UUID> uuid() {
        return uuid;
    }

    volatile List<VcpuInfo> vcpus =
            List.of(new VcpuInfo(0, 4242, 0, 0, 0, "/machine/unattached/device[0]", "qemu64-x86_64-cpu"));

    @Override
    public List<VcpuInfo> vcpus() {
        return vcpus;
    }

    @Override
    public String registersText(int cpuIndex) {
        return "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1\nEIP=0000fff0 EFL=00000002\n";
    }

    @Override
    public List<MachineTypeInfo> machineTypes() {
        return List.of(MachineTypeInfo.pcI440fx72());
    }

    /** The drives, when a test gives the machine some. */
    volatile BlockGraph blockGraph;
    /** What a test gives the machine beyond one vCPU; none of it by default. */
    volatile List<ChardevInfo> chardevs = List.of();
    volatile List<PciBusInfo> pciBuses = List.of();
    volatile BalloonControl balloon = BalloonControl.NONE;
    volatile QomControl qom = QomControl.NONE;
    volatile CpuModelControl cpuModels = CpuModelControl.NONE;

    @Override
    public MachineInfo info() {
        return this;
    }

    /** query-iothreads' source; none unless a test gives one. */
    volatile java.util.function.Supplier<List<dev.jvmm.core.objects.IoThread>> iothreads = List::of;

    @Override
    public List<dev.jvmm.core.objects.IoThread> iothreads() {
        return iothreads.get();
    }

    @Override
    public BlockControl block() {
        BlockGraph g = blockGraph;
        return g == null ? BlockControl.NONE : g;
    }

    @Override
    public ChardevControl chardevs() {
        ChardevControl real = chardevControl;
        return real != null ? real : () -> chardevs;
    }

    /** A real chardev factory, when a test gives one; else query-chardev lists {@link #chardevs}. */
    volatile ChardevControl chardevControl;
    volatile dev.jvmm.core.machine.ObjectControl objects = dev.jvmm.core.machine.ObjectControl.NONE;

    @Override
    public dev.jvmm.core.machine.ObjectControl objects() {
        return objects;
    }

    @Override
    public PciControl pci() {
        return () -> pciBuses;
    }

    @Override
    public BalloonControl balloon() {
        return balloon;
    }

    @Override
    public QomControl qom() {
        return qom;
    }

    @Override
    public CpuModelControl cpuModels() {
        return cpuModels;
    }

    @Override
    public KvmInfo kvm() {
        return new KvmInfo(true, true);
    }

    @Override
    public void pauseAll() {
        calls.add("pause");
    }

    @Override
    public void resumeAll() {
        calls.add("resume");
        Runnable r = onResume;
        if (r != null) {
            r.run();
        }
    }

    @Override
    public void resetAll() {
        calls.add("reset");
    }

    @Override
    public void powerButton() {
        calls.add("powerbutton");
    }

    @Override
    public void exitProcess(int status) {
        calls.add("exit " + status);
        exitStatus = status;
    }
}
