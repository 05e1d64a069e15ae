package dev.jvmm.core.machine;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** What the machine queries (query-name, query-uuid, query-cpus-fast, query-machines, ...) describe. */
public interface MachineInfo {
    /** -name, if given. */
    Optional<String> name();

    /** -uuid, if given (query-uuid then answers the all-zero UUID, as QEMU does). */
    Optional<UUID> uuid();

    /** The vCPUs with their host thread ids, in cpu-index order. */
    List<VcpuInfo> vcpus();

    /**
     * Every possible vCPU slot (-smp maxcpus) in cpu-index order, for query-hotpluggable-cpus: a free slot's
     * qomPath is null.
     */
    default List<VcpuInfo> possibleVcpus() {
        return vcpus();
    }

    /** HMP "info registers" text for one vCPU (QEMU's layout, lines ending "\n"). */
    String registersText(int cpuIndex);

    /** query-machines' list; the running machine type first is not required. */
    default List<MachineTypeInfo> machineTypes() {
        return MachineTypeInfo.jvmm();
    }

    /** query-kvm: jvmm runs on KVM only, so it is present and enabled. */
    default KvmInfo kvm() {
        return new KvmInfo(true, true);
    }

    /** QEMU's version triple and package string as the greeting and query-version report them. */
    default QemuVersion version() {
        return QemuVersion.JVMM;
    }

    /** False for a machine type without CPU hotplug (QEMU's "none"), where query-hotpluggable-cpus fails. */
    default boolean hotpluggableCpus() {
        return true;
    }

    /** The -object iothreads, in creation order (query-iothreads). */
    default List<dev.jvmm.core.objects.IoThread> iothreads() {
        return List.of();
    }

    /** query-target's arch. */
    default String targetArch() {
        return "x86_64";
    }
}
