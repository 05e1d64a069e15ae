package dev.jvmm.core.machine;

import dev.jvmm.core.block.BlockDeviceInfo;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockInfo;
import dev.jvmm.core.block.BlockStatsInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.state.RunState;

import java.util.List;
import java.util.Map;
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

    // ---- removable media: a machine with a BlockGraph answers each with the graph's method of the same name;
    // ---- without drives every lookup fails as QEMU's does on a machine with no such device.

    /** eject (QMP), with QEMU's errors; device is a drive name, id a device id or QOM path (exactly one). */
    default void eject(String device, String id, boolean force) throws MachineCommandException {
        throw noDrive(device, id);
    }

    /** blockdev-open-tray. */
    default void blockdevOpenTray(String device, String id, boolean force) throws MachineCommandException {
        throw noDrive(device, id);
    }

    /** blockdev-close-tray. */
    default void blockdevCloseTray(String device, String id) throws MachineCommandException {
        throw noDrive(device, id);
    }

    /** blockdev-remove-medium. */
    default void blockdevRemoveMedium(String id) throws MachineCommandException {
        throw noDrive(null, id);
    }

    /** blockdev-insert-medium. */
    default void blockdevInsertMedium(String id, String nodeName) throws MachineCommandException {
        throw noDrive(null, id);
    }

    /** blockdev-change-medium; format null probes, mode null is retain. */
    default void blockdevChangeMedium(String device, String id, String filename, String format, boolean force,
            BlockGraph.ReadOnlyMode mode) throws MachineCommandException {
        throw noDrive(device, id);
    }

    /** blockdev-add: the arguments as a -blockdev JSON tree (see {@link BlockGraph#blockdevAdd}). */
    default void blockdevAdd(Map<String, Object> options) throws MachineCommandException {
        throw MachineCommandException.generic("This machine has no block devices");
    }

    /** blockdev-del. */
    default void blockdevDel(String nodeName) throws MachineCommandException {
        throw MachineCommandException.generic("Failed to find node with node-name='" + nodeName + "'");
    }

    private static MachineCommandException noDrive(String device, String id) {
        if ((device == null) == (id == null)) {
            return MachineCommandException.generic("Need exactly one of 'device' and 'id'");
        }
        return new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                "Device '" + (device != null ? device : id) + "' not found");
    }

    /** The QOM object at path (qom-get, qom-set, qom-list), if this machine models it. */
    default Optional<QomObject> qomObject(String path) {
        return Optional.empty();
    }

    /** QMP balloon: asks the guest to bring its RAM to target bytes (guest RAM minus the balloon). */
    default void balloon(long target) throws MachineCommandException {
        throw noBalloon();
    }

    /** query-balloon's "actual": guest RAM minus what the guest has given the balloon, in bytes. */
    default long balloonActual() throws MachineCommandException {
        throw noBalloon();
    }

    private static MachineCommandException noBalloon() {
        return new MachineCommandException("DeviceNotActive", "No balloon device has been activated");
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
