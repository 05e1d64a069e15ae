package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockDeviceInfo;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockInfo;
import dev.jvmm.core.block.BlockStatsInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.VcpuInfo;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** A machine without KVM: records what the lifecycle asked of its vCPUs. */
final class FakeMachine implements MachineControl, VcpuControl {
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

    @Override
    public List<VcpuInfo> vcpus() {
        return List.of(new VcpuInfo(0, 4242, 0, 0, 0, "/machine/unattached/device[0]", "qemu64-x86_64-cpu"));
    }

    @Override
    public String registersText(int cpuIndex) {
        return "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1\nEIP=0000fff0 EFL=00000002\n";
    }

    @Override
    public List<ChardevInfo> chardevs() {
        return List.of();
    }

    @Override
    public List<MachineTypeInfo> machineTypes() {
        return List.of(MachineTypeInfo.pcI440fx72());
    }

    /** The drives, when a test gives the machine some. */
    volatile BlockGraph blockGraph;

    @Override
    public List<BlockInfo> blockInfo() {
        return blockGraph == null ? List.of() : blockGraph.queryBlock();
    }

    @Override
    public List<BlockStatsInfo> blockStats(boolean queryNodes) {
        return blockGraph == null ? List.of() : blockGraph.queryBlockstats(queryNodes);
    }

    @Override
    public List<BlockDeviceInfo> namedBlockNodes(boolean flat) {
        return blockGraph == null ? List.of() : blockGraph.queryNamedBlockNodes(flat);
    }

    @Override
    public void blockResize(String device, String nodeName, long size) throws MachineCommandException {
        if (blockGraph == null) {
            MachineControl.super.blockResize(device, nodeName, size);
        } else {
            blockGraph.blockResize(device, nodeName, size);
        }
    }

    private BlockGraph graphOr() throws MachineCommandException {
        if (blockGraph == null) {
            throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND, "no graph");
        }
        return blockGraph;
    }

    @Override
    public void eject(String device, String id, boolean force) throws MachineCommandException {
        graphOr().eject(device, id, force);
    }

    @Override
    public void blockdevOpenTray(String device, String id, boolean force) throws MachineCommandException {
        graphOr().openTray(device, id, force);
    }

    @Override
    public void blockdevCloseTray(String device, String id) throws MachineCommandException {
        graphOr().closeTray(device, id);
    }

    @Override
    public void blockdevRemoveMedium(String id) throws MachineCommandException {
        graphOr().removeMedium(null, id);
    }

    @Override
    public void blockdevInsertMedium(String id, String nodeName) throws MachineCommandException {
        graphOr().insertMedium(id, nodeName);
    }

    @Override
    public void blockdevChangeMedium(String device, String id, String filename, String format, boolean force,
            BlockGraph.ReadOnlyMode mode) throws MachineCommandException {
        graphOr().changeMedium(device, id, filename, format, force, mode);
    }

    @Override
    public void blockdevAdd(java.util.Map<String, Object> options) throws MachineCommandException {
        graphOr().blockdevAdd(options);
    }

    @Override
    public void blockdevDel(String nodeName) throws MachineCommandException {
        graphOr().blockdevDel(nodeName);
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
