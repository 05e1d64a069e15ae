package dev.jvmm.core.machine;

import dev.jvmm.core.block.BlockDeviceInfo;
import dev.jvmm.core.block.BlockInfo;
import dev.jvmm.core.block.BlockStatsInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.state.RunState;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executor;

/**
 * The machine's control API: everything QMP commands may ask of a machine. The lifecycle part is shared
 * policy in {@link LifecycleController}; a machine supplies its controller plus the descriptive queries.
 * Commands are run on {@link #mainLoop()}, QEMU's "main loop with the big lock" equivalent.
 */
public interface MachineControl {
    /** The run-state policy (stop, cont, reset, shutdown...) shared by every machine. */
    LifecycleController lifecycle();

    /** -name, if given. */
    Optional<String> name();

    /** -uuid, if given (query-uuid then answers the all-zero UUID, as QEMU does). */
    Optional<UUID> uuid();

    /** The vCPUs with their host thread ids, in cpu-index order. */
    List<VcpuInfo> vcpus();

    /** HMP "info registers" text for one vCPU (QEMU's layout, lines ending "\n"). */
    String registersText(int cpuIndex);

    List<ChardevInfo> chardevs();

    /** query-machines' list; the running machine type first is not required. */
    List<MachineTypeInfo> machineTypes();

    KvmInfo kvm();

    /** query-pci: the machine's PCI buses; a machine without PCI has none. */
    default List<PciBusInfo> pciBuses() {
        return List.of();
    }

    /** query-block: every drive (a machine with a BlockGraph answers graph.queryBlock()). */
    default List<BlockInfo> blockInfo() {
        return List.of();
    }

    /** query-blockstats; queryNodes lists every node instead of every drive. */
    default List<BlockStatsInfo> blockStats(boolean queryNodes) {
        return List.of();
    }

    /** query-named-block-nodes; flat leaves the backing images out of each "image". */
    default List<BlockDeviceInfo> namedBlockNodes(boolean flat) {
        return List.of();
    }

    /** block_resize (device or nodeName may be null), with QEMU's errors. */
    default void blockResize(String device, String nodeName, long size) throws MachineCommandException {
        throw MachineCommandException.generic("Cannot find device='" + (device == null ? "" : device)
                + "' nor node-name='" + (nodeName == null ? "" : nodeName) + "'");
    }

    /** rtc-reset-reinjection: forget the RTC's backlog of coalesced periodic interrupts. */
    default void rtcResetReinjection() {
    }

    /** QEMU's version triple and package string as the greeting and query-version report them. */
    default QemuVersion version() {
        return QemuVersion.JVMM;
    }

    /** query-target's arch. */
    default String targetArch() {
        return "x86_64";
    }

    default EventBus events() {
        return lifecycle().events();
    }

    default RunState runState() {
        return lifecycle().runState().current();
    }

    default Executor mainLoop() {
        return lifecycle().mainLoop();
    }
}
