package dev.jvmm.cli;

import dev.jvmm.core.machine.VcpuHotplug;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.kvm.CpuTopology;
import dev.jvmm.kvm.KvmException;
import dev.jvmm.kvm.KvmVm;
import dev.jvmm.kvm.Vcpu;
import dev.jvmm.kvm.VcpuQom;
import dev.jvmm.kvm.VcpuSet;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The pc machine's vCPUs by slot (-smp maxcpus; the slot is QEMU's cpu-index and the KVM vCPU id): the -smp
 * ones made at start-up, the ones CPU hotplug adds and takes away. KVM cannot destroy a vCPU, so an unplugged
 * one stays parked, fd and all, and is taken back by the next plug of its slot, as QEMU does.
 */
final class MachineVcpus implements VcpuHotplug {
    private final KvmVm vm;
    private final VcpuSet vcpus;
    private final CpuModel model;
    private final CpuTopology topology;
    private final String cpuType;
    private final PrintStream err;
    /** The QOM path of each slot's CPU; null where the slot is free. */
    private final String[] qomPaths;

    MachineVcpus(KvmVm vm, VcpuSet vcpus, CpuModel model, CpuTopology topology, int maxCpus, PrintStream err) {
        this.vm = vm;
        this.vcpus = vcpus;
        this.model = model;
        this.topology = topology;
        this.cpuType = model.typeName();
        this.err = err;
        this.qomPaths = new String[maxCpus];
    }

    /** Records the QOM node of an -smp vCPU, which the board made. */
    synchronized void bootCpu(int slot, QomNode node) {
        qomPaths[slot] = node.path();
    }

    @Override
    public void plug(int slot, QomNode node, boolean hotplugged) {
        // QEMU realizes, and so filters and warns, each vCPU on its own; from the monitor without its prefix
        String prefix = hotplugged ? "" : Main.PROGRAM + ": ";
        model.warnings().forEach(w -> err.println(prefix + "warning: " + w));
        Vcpu v = vcpus.takeUnplugged(slot);
        try {
            if (v == null) {
                v = vm.createVcpu(slot, model);
            } else {
                v.resetAsAp();
            }
        } catch (KvmException e) {
            throw new IllegalStateException(e.getMessage());
        }
        VcpuQom.describe(node, v.model(), slot, topology);
        node.addConstant("hotplugged", "bool", hotplugged);
        synchronized (this) {
            qomPaths[slot] = node.path();
        }
        vcpus.add(v);
    }

    @Override
    public void unplug(int slot) {
        for (Vcpu v : vcpus.vcpus()) {
            if (v.index() == slot) {
                vcpus.remove(v);
            }
        }
        synchronized (this) {
            qomPaths[slot] = null;
        }
    }

    /** query-cpus-fast's list: the present vCPUs in the order they were made, as QEMU's CPU list. */
    synchronized List<VcpuInfo> present() {
        List<VcpuInfo> out = new ArrayList<>();
        for (Vcpu v : vcpus.vcpus()) {
            out.add(info(v.index(), v.threadId()));
        }
        return out;
    }

    /** query-hotpluggable-cpus's slots, by slot; a free one has no QOM path. */
    synchronized List<VcpuInfo> possible() {
        List<VcpuInfo> out = new ArrayList<>();
        for (int i = 0; i < qomPaths.length; i++) {
            out.add(info(i, -1));
        }
        return out;
    }

    private VcpuInfo info(int slot, long threadId) {
        return new VcpuInfo(slot, threadId, topology.socketOf(slot), topology.coreOf(slot), topology.threadOf(slot),
                qomPaths[slot], cpuType);
    }
}
