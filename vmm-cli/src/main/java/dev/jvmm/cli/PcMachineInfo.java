package dev.jvmm.cli;

import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.objects.IoThread;
import dev.jvmm.kvm.VcpuSet;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The pc machine's descriptive queries (query-name, query-uuid, query-cpus-fast, query-hotpluggable-cpus, info
 * registers, query-machines, query-kvm, query-iothreads). Each reads the machine when asked, through
 * suppliers, so the handle exists before the vCPUs and devices do.
 */
final class PcMachineInfo implements MachineInfo {
    private final Supplier<MachineConfig> config;
    private final Supplier<MachineVcpus> slots;
    private final Supplier<VcpuSet> vcpus;
    private final Supplier<GuestMemory> memory;

    PcMachineInfo(Supplier<MachineConfig> config, Supplier<MachineVcpus> slots, Supplier<VcpuSet> vcpus,
            Supplier<GuestMemory> memory) {
        this.config = config;
        this.slots = slots;
        this.vcpus = vcpus;
        this.memory = memory;
    }

    @Override
    public Optional<String> name() {
        return config.get().name();
    }

    @Override
    public Optional<UUID> uuid() {
        return config.get().uuid();
    }

    @Override
    public List<VcpuInfo> vcpus() {
        return slots.get().present();
    }

    @Override
    public List<VcpuInfo> possibleVcpus() {
        return slots.get().possible();
    }

    @Override
    public String registersText(int cpuIndex) {
        VcpuSet set = vcpus.get();
        return set.whilePaused(() -> set.vcpus().stream().filter(v -> v.index() == cpuIndex).findFirst()
                .orElseThrow().dumpRegisters(memory.get()));
    }



    @Override
    public List<IoThread> iothreads() {
        return config.get().host().objects().iothreads();
    }
}
