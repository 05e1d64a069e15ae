package dev.jvmm.devices.pc;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.VcpuHotplug;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.acpi.CpuHotplugRegisters;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.HotplugHandler;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/**
 * CPU hotplug on the pc machine (QEMU's hw/i386/x86.c x86_cpu_pre_plug, pc.c pc_cpu_plug, pc_cpu_unplug_request_cb
 * and pc_cpu_unplug_cb): a "TYPE-x86_64-cpu" device with socket-id, core-id and thread-id (or apic-id) fills
 * one free slot of -smp maxcpus, cold-plugged with -device or hot-plugged with device_add; the PIIX4 PM's CPU
 * hotplug block tells the guest and ejects it after device_del. The vCPUs themselves are the machine's
 * ({@link VcpuHotplug}).
 */
public final class PcCpuHotplug implements HotplugHandler {
    /** QEMU's UNASSIGNED_APIC_ID: apic-id's default, when the topology ids place the CPU. */
    private static final long UNASSIGNED_APIC_ID = 0xffffffffL;
    /** CPU hotplug's GPE0 status bit (QEMU's ACPI_CPU_HOTPLUG_STATUS). */
    public static final int GPE_CPU_HOTPLUG = 2;
    /** The CMOS byte with the CPU count less one, which SeaBIOS waits for (QEMU's x86_rtc_set_cpus_count). */
    public static final int CMOS_SMP_COUNT = 0x5f;

    /** One possible CPU's place: its slot (QEMU's cpu-index), APIC id and topology ids. */
    record Slot(int index, long apicId, int socket, int core, int thread) {
    }

    private DeviceModel model;
    private final String cpuType;
    private final int present;
    private final int maxCpus;
    private final int cores;
    private final int threads;
    private final List<Integer> apicIds;
    private final VcpuHotplug vcpus;
    /** The CPU device in each slot; null where the slot is free or holds one of the -smp CPUs. */
    private final DeviceModel.Device[] devices;
    private CpuHotplugRegisters registers;
    /** QEMU's boot_cpus: the CPUs present, which the CMOS tells the firmware. */
    private int cpuCount;
    private IntConsumer cpuCountChanged = n -> { };
    /** The QOM nodes of the -smp CPUs, which the board made. */
    private IntFunction<QomNode> bootCpuNodes = slot -> {
        throw new IllegalStateException("no node for CPU " + slot);
    };

    /**
     * @param cpuType the machine's -cpu type, the only one device_add takes
     * @param apicIds the possible CPUs' APIC ids, by slot
     * @param present the -smp CPUs, which fill the first slots
     */
    public PcCpuHotplug(String cpuType, int cores, int threads, List<Integer> apicIds, int present,
            VcpuHotplug vcpus) {
        this.cpuType = cpuType;
        this.present = present;
        this.cpuCount = present;
        this.maxCpus = apicIds.size();
        this.cores = cores;
        this.threads = threads;
        this.apicIds = List.copyOf(apicIds);
        this.vcpus = vcpus;
        this.devices = new DeviceModel.Device[maxCpus];
        if (present < 1 || present > maxCpus) {
            throw new IllegalArgumentException("present vCPUs out of range: " + present);
        }
    }

    /**
     * The device classes of the CPU types, for the device model: every type is creatable so that a wrong
     * one gets QEMU's pre-plug error, and the machine's type realizes through {@link VcpuHotplug}.
     */
    public List<DeviceClass> deviceClasses(List<TypeInfo> cpuTypes) {
        List<DeviceClass> out = new ArrayList<>();
        for (TypeInfo t : cpuTypes) {
            if (!t.isAbstract()) {
                out.add(new DeviceClass(t, (ctx, props, where) -> {
                    Slot s = slot(props);
                    try {
                        vcpus.plug(s.index(), where.node(), hotplugging);
                    } catch (IllegalStateException e) {
                        throw new PropertyException(e.getMessage());
                    }
                    return DeviceInstance.STATELESS;
                }));
            }
        }
        return out;
    }

    /** Set by pre-plug for the realize that follows: whether the CPU being realized is hot-plugged. */
    private boolean hotplugging;

    /** Makes the model route every CPU device (QEMU's TYPE_CPU) here, as pc_get_hotplug_handler does. */
    public void register(DeviceModel model) {
        this.model = model;
        model.setTypeHotplugHandler("cpu", this);
    }

    /**
     * Connects the PIIX4 PM's CPU hotplug block: hot plugs and unplug requests raise GPE bit 2, the guest's
     * eject removes the CPU, its _OST reports become ACPI_DEVICE_OST.
     */
    public void connect(CpuHotplugRegisters regs, Piix4Pm pm) {
        this.registers = regs;
        regs.connect(() -> pm.raiseGpe(GPE_CPU_HOTPLUG), this::eject,
                info -> model.context().events().publish(new VmEvent.AcpiDeviceOst(info)));
    }

    /** The board's nodes of the -smp CPUs, which a guest's eject removes. */
    public void bootCpuNodes(IntFunction<QomNode> nodes) {
        this.bootCpuNodes = nodes;
    }

    /** Where the present CPU count goes after each plug and eject (the RTC's CMOS). */
    public void onCpuCount(IntConsumer changed) {
        this.cpuCountChanged = changed;
    }

    private void countCpus(int delta) {
        int n;
        synchronized (devices) {
            cpuCount += delta;
            n = cpuCount;
        }
        cpuCountChanged.accept(n);
    }

    /** query-acpi-ospm-status's CPU slots. */
    public List<AcpiOstInfo> ospmStatus() {
        return registers == null ? List.of() : registers.ospmStatus();
    }

    /** The hot-plugged or -device CPU in a slot; empty for a free slot or an -smp CPU. */
    public Optional<DeviceModel.Device> device(int slot) {
        synchronized (devices) {
            return Optional.ofNullable(devices[slot]);
        }
    }

    @Override
    public void prePlug(TypeInfo type, PropertyValues props, boolean hotplugged) throws PropertyException {
        if (!type.name().equals(cpuType)) {
            throw new PropertyException("Invalid CPU type, expected cpu type: '" + cpuType + "'");
        }
        Slot s = slot(props);
        if (taken(s.index())) {
            throw new PropertyException("CPU[" + s.index() + "] with APIC ID " + s.apicId() + " exists");
        }
        checkMatch("socket-id", props, s.socket(), s.apicId());
        checkMatch("die-id", props, 0, s.apicId());
        checkMatch("core-id", props, s.core(), s.apicId());
        checkMatch("thread-id", props, s.thread(), s.apicId());
        hotplugging = hotplugged;
    }

    private static void checkMatch(String name, PropertyValues props, int actual, long apicId)
            throws PropertyException {
        long v = props.number(name);
        if (v != -1 && v != actual) {
            throw new PropertyException(String.format("property %s: %d doesn't match set apic-id: 0x%x (%s: %d)",
                    name, v, apicId, name, actual));
        }
    }

    private boolean taken(int slot) {
        // without ACPI there is no register block to ask: the -smp CPUs hold the first slots
        return registers != null ? registers.present(slot) : slot < present || device(slot).isPresent();
    }

    /** QEMU's x86_cpu_pre_plug: the slot the properties name, or its error. */
    Slot slot(PropertyValues props) throws PropertyException {
        long apicId = props.number("apic-id") & 0xffffffffL;
        if (apicId == UNASSIGNED_APIC_ID) {
            long maxSocket = (maxCpus - 1) / threads / cores;
            long socket = props.number("socket-id");
            long die = props.number("die-id");
            long core = props.number("core-id");
            long thread = props.number("thread-id");
            if (die < 0) {
                // die-id is optional with one die per socket, as in QEMU 4.0 and older
                die = 0;
            }
            if (socket < 0) {
                throw new PropertyException("CPU socket-id is not set");
            } else if (socket > maxSocket) {
                throw new PropertyException("Invalid CPU socket-id: " + socket + " must be in range 0:" + maxSocket);
            }
            if (die > 0) {
                throw new PropertyException("Invalid CPU die-id: " + die + " must be in range 0:0");
            }
            if (core < 0) {
                throw new PropertyException("CPU core-id is not set");
            } else if (core > cores - 1) {
                throw new PropertyException("Invalid CPU core-id: " + core + " must be in range 0:" + (cores - 1));
            }
            if (thread < 0) {
                throw new PropertyException("CPU thread-id is not set");
            } else if (thread > threads - 1) {
                throw new PropertyException("Invalid CPU thread-id: " + thread + " must be in range 0:"
                        + (threads - 1));
            }
            apicId = (socket << (coreBits() + threadBits())) | (core << threadBits()) | thread;
        }
        int index = apicIds.indexOf((int) apicId);
        int threadBits = threadBits();
        int coreBits = coreBits();
        int thread = (int) (apicId & ((1L << threadBits) - 1));
        int core = (int) ((apicId >>> threadBits) & ((1L << coreBits) - 1));
        int socket = (int) (apicId >>> (threadBits + coreBits));
        if (index < 0) {
            throw new PropertyException(String.format("Invalid CPU [socket: %d, die: 0, core: %d, thread: %d] with"
                    + " APIC ID %d, valid index range 0:%d", socket, core, thread, apicId, maxCpus - 1));
        }
        return new Slot(index, apicId, socket, core, thread);
    }

    /** QEMU's apicid_core_offset: the bits the SMT threads of a core take. */
    private int threadBits() {
        return bitsFor(threads);
    }

    private int coreBits() {
        return bitsFor(cores);
    }

    private static int bitsFor(int count) {
        return count <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(count - 1);
    }

    @Override
    public void plug(DeviceModel.Device device, boolean hotplugged) throws PropertyException {
        Slot s = slot(device.props());
        synchronized (devices) {
            devices[s.index()] = device;
        }
        countCpus(1);
        if (registers != null) {
            registers.plug(s.index(), device.id(), hotplugged);
        }
    }

    @Override
    public void unplugRequest(DeviceModel.Device device) throws PropertyException {
        Slot s = slot(device.props());
        if (registers == null) {
            throw new PropertyException("CPU hot unplug not supported without ACPI");
        }
        if (s.index() == 0) {
            throw new PropertyException("Boot CPU is unpluggable");
        }
        if (!registers.requestUnplug(s.index())) {
            throw new PropertyException("acpi: device unplug request for not supported device type: "
                    + device.type());
        }
    }

    /**
     * The guest's eject (QEMU's pc_cpu_unplug_cb, then the object's unparent), of a -device CPU or of an -smp
     * one but the boot CPU: the vCPU stops and is parked, the slot is free, and DEVICE_DELETED goes out for
     * the CPU's local APIC and then the CPU.
     */
    private void eject(int slot) {
        DeviceModel.Device d;
        synchronized (devices) {
            d = devices[slot];
            devices[slot] = null;
        }
        QomNode node = d != null ? d.node() : bootCpuNodes.apply(slot);
        registers.unplugged(slot);
        vcpus.unplug(slot);
        countCpus(-1);
        model.context().events().publish(new VmEvent.DeviceDeleted(null, node.path() + "/lapic"));
        if (d != null) {
            model.unplug(d);
        } else {
            node.parent().ifPresent(p -> p.removeChild(node.name()));
            model.context().events().publish(new VmEvent.DeviceDeleted(null, node.path()));
        }
    }
}
