package dev.jvmm.core.machine;

import dev.jvmm.core.block.BlockControl;
import dev.jvmm.core.event.EventBus;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * What QMP may ask of a machine, as one handle per subsystem; each QMP command group takes only the handles
 * it needs. The lifecycle part is shared policy in {@link LifecycleController}. Commands run on
 * {@link #mainLoop()}, QEMU's "main loop with the big lock" equivalent. A machine without a subsystem
 * keeps the default handle, which answers as QEMU does on a machine without that device.
 */
public interface MachineControl {
    /** The run-state policy (stop, cont, reset, shutdown...) shared by every machine. */
    LifecycleController lifecycle();

    /** Name, UUID, vCPUs, machine types, version. */
    MachineInfo info();

    /** The drives and block nodes; a machine with a graph returns the {@link dev.jvmm.core.block.BlockGraph}. */
    default BlockControl block() {
        return BlockControl.NONE;
    }

    /** The machine's chardevs: query-chardev, chardev-add, chardev-remove, chardev-change. */
    default ChardevControl chardevs() {
        return ChardevControl.NONE;
    }

    default BalloonControl balloon() {
        return BalloonControl.NONE;
    }

    /** The network: netdevs, NICs' links and filters, hubs; a machine without one answers as QEMU's empty list. */
    default NetControl net() {
        return NetControl.NONE;
    }

    /** object-add and object-del. */
    default ObjectControl objects() {
        return ObjectControl.NONE;
    }

    /** device_add, device_del and the guest's ACPI hotplug reports. */
    default HotplugControl hotplug() {
        return HotplugControl.NONE;
    }

    /** RAM and memory devices (query-memory-size-summary, query-memory-devices). */
    default MemoryControl memory() {
        return MemoryControl.NONE;
    }

    default PciControl pci() {
        return PciControl.NONE;
    }

    default RtcControl rtc() {
        return RtcControl.NONE;
    }

    default QomControl qom() {
        return QomControl.NONE;
    }

    /** The command-line options this program takes, for query-command-line-options. */
    default List<CommandLineOption> commandLineOptions() {
        return CommandLineOption.OBJECT_MODEL;
    }

    /** The CPU models this host's KVM can run, for query-cpu-definitions and query-cpu-model-expansion. */
    default CpuModelControl cpuModels() {
        return CpuModelControl.NONE;
    }

    /** The fd sets the monitors fill and /dev/fdset/N paths open. */
    default dev.jvmm.core.fd.FdSets fdSets() {
        return lifecycle().fdSets();
    }

    default EventBus events() {
        return lifecycle().events();
    }

    default Executor mainLoop() {
        return lifecycle().mainLoop();
    }
}
