package dev.jvmm.devices.memory;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.memory.MemorySlots;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.objects.MemoryBackend;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.acpi.MemoryHotplugRegisters;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.HotplugHandler;
import dev.jvmm.devices.model.Realized;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The pc machine's hotplug handler for DIMMs (QEMU 7.2 hw/i386/pc.c pc_memory_pre_plug, pc_memory_plug,
 * pc_memory_unplug_request and pc_memory_unplug, with hw/mem/pc-dimm.c and hw/mem/memory-device.c): the
 * slot and address rules with QEMU's refusals, the DIMM's memory as a hypervisor memory slot while it is
 * plugged, and the ACPI memory hotplug interface that tells the guest.
 */
public final class PcDimmHotplug implements HotplugHandler {
    /** QEMU_VMALLOC_ALIGN: the alignment of anonymous RAM blocks, so of a memory-backend-ram DIMM. */
    static final long RAM_ALIGN = 2L << 20;
    /** A file-backed block (memfd) is aligned to its page size. */
    static final long FILE_ALIGN = 4096;

    /**
     * The machine's memory layout for memory devices.
     *
     * @param ramSize    -m size
     * @param maxRamSize -m maxmem (ramSize without it)
     * @param ramSlots   -m slots
     * @param base       where the device memory region starts (QEMU's device_memory->base)
     * @param regionSize its size (maxmem - size plus 1 GiB per slot)
     * @param acpi       whether the machine has ACPI (the PIIX4 PM that tells the guest)
     * @param ramBackend the id of the backend the machine's own RAM is mapped from, busy for good
     */
    public record Layout(long ramSize, long maxRamSize, long ramSlots, long base, long regionSize, boolean acpi,
                         String ramBackend) {
        /** QEMU's pc_get_device_memory_range: after RAM above 4 GiB, aligned to 1 GiB. */
        public static Layout pc(long ramSize, long maxRamSize, long ramSlots, long highRamEnd, boolean acpi,
                                String ramBackend) {
            long gib = 1L << 30;
            boolean has = Long.compareUnsigned(ramSize, maxRamSize) < 0;
            long base = (highRamEnd + gib - 1) & -gib;
            long size = has ? maxRamSize - ramSize + gib * ramSlots : 0;
            return new Layout(ramSize, maxRamSize, ramSlots, base, size, acpi, ramBackend);
        }
    }

    private final Layout layout;
    private final Function<String, Optional<MemoryBackend>> backends;
    private final MemorySlots memorySlots;
    private final DeviceModel model;
    private final MemoryHotplugRegisters registers;
    private final Executor mainLoop;
    /** Told when a DIMM maps a backend (object-del refuses it then) and when it lets the backend go. */
    private final Consumer<String> backendMapped;
    private final Consumer<String> backendUnmapped;
    /** What pre_plug settled for the device being created: QEMU sets it in the DIMM's properties. */
    private int pendingSlot;
    private long pendingAddr;
    /** The DIMMs whose memory the guest has, in plug order. */
    private final List<DeviceModel.Device> plugged = new ArrayList<>();

    /**
     * @param registers the ACPI interface, or null without ACPI or slots (nothing tells the guest then)
     * @param mainLoop  where the guest's eject unplugs the DIMM (the machine's main loop)
     */
    public PcDimmHotplug(Layout layout, Function<String, Optional<MemoryBackend>> backends, MemorySlots memorySlots,
                         DeviceModel model, MemoryHotplugRegisters registers, Executor mainLoop,
                         Consumer<String> backendMapped, Consumer<String> backendUnmapped) {
        this.backendMapped = backendMapped;
        this.backendUnmapped = backendUnmapped;
        this.layout = layout;
        this.backends = backends;
        this.memorySlots = memorySlots;
        this.model = model;
        this.registers = registers;
        this.mainLoop = mainLoop;
        if (registers != null) {
            registers.setEjectHandler(this::eject);
        }
    }

    /** The plugged DIMMs, by address (QEMU's memory_device_build_list order). */
    public synchronized List<DeviceModel.Device> dimms() {
        List<DeviceModel.Device> out = new ArrayList<>(plugged);
        out.sort(Comparator.comparingLong(d -> dimm(d).addr()));
        return out;
    }

    public static PcDimm dimm(DeviceModel.Device d) {
        return Realized.device(d.instance(), PcDimm.class);
    }

    /** The memory the DIMMs add (query-memory-size-summary's plugged-memory). */
    public long pluggedSize() {
        long total = 0;
        for (DeviceModel.Device d : dimms()) {
            total += dimm(d).size();
        }
        return total;
    }

    @Override
    public void prePlug(TypeInfo type, PropertyValues props, boolean hotplugged) throws PropertyException {
        Optional<String> memdev = props.str("memdev");
        if (memdev.isPresent() && backends.apply(memdev.get()).isEmpty()) {
            throw new PropertyException("Device '" + memdev.get() + "' not found");
        }
        if (!layout.acpi()) {
            throw new PropertyException("memory hotplug is not enabled: missing acpi device or acpi disabled");
        }
        int slot = props.int32("slot");
        if ((slot < 0 || slot >= layout.ramSlots()) && slot != PcDimm.UNASSIGNED_SLOT) {
            throw new PropertyException("invalid slot number " + slot + ", valid range is [0-"
                    + Long.toUnsignedString(layout.ramSlots() - 1) + "]");
        }
        pendingSlot = freeSlot(slot == PcDimm.UNASSIGNED_SLOT ? null : slot);
        if (memdev.isEmpty()) {
            throw new PropertyException("'memdev' property must be set");
        }
        MemoryBackend backend = backends.apply(memdev.get()).orElseThrow();
        long align = backend.type().equals(MemoryBackend.RAM) ? RAM_ALIGN : FILE_ALIGN;
        long hint = props.number("addr");
        pendingAddr = freeAddress(hint == 0 ? null : hint, align, backend.size());
    }

    /** QEMU's pc_dimm_get_free_slot. */
    private int freeSlot(Integer hint) throws PropertyException {
        int max = (int) layout.ramSlots();
        if (max <= 0) {
            throw new PropertyException("no slots where allocated, please specify the 'slots' option");
        }
        boolean[] used = new boolean[max];
        for (DeviceModel.Device d : dimms()) {
            int s = dimm(d).slot();
            if (s >= 0 && s < max) {
                used[s] = true;
            }
        }
        if (hint != null) {
            if (hint >= max) {
                throw new PropertyException("invalid slot# " + hint + ", should be less than " + max);
            }
            if (used[hint]) {
                throw new PropertyException("slot " + hint + " is busy");
            }
            return hint;
        }
        for (int i = 0; i < max; i++) {
            if (!used[i]) {
                return i;
            }
        }
        throw new PropertyException("no free slots available");
    }

    /** QEMU's memory_device_get_free_addr, first fit from the region's start in address order. */
    private long freeAddress(Long hint, long align, long size) throws PropertyException {
        if (layout.regionSize() == 0) {
            throw new PropertyException("memory devices (e.g. for memory hotplug) are not enabled, please specify"
                    + " the maxmem option");
        }
        long used = pluggedSize();
        long room = layout.maxRamSize() - layout.ramSize();
        if (used + size < used || Long.compareUnsigned(used + size, room) > 0) {
            throw new PropertyException(String.format("not enough space, currently 0x%x in use of total space for"
                    + " memory devices 0x%x", used, room));
        }
        if (hint != null && hint % align != 0) {
            throw new PropertyException(String.format("address must be aligned to 0x%x bytes", align));
        }
        if (size % align != 0) {
            throw new PropertyException(String.format("backend memory size must be multiple of 0x%x", align));
        }
        long start = layout.base();
        long end = layout.base() + layout.regionSize();
        long addr;
        if (hint != null) {
            if (Long.compareUnsigned(hint, start) < 0 || Long.compareUnsigned(hint + size, end) > 0
                    || hint + size < hint) {
                throw new PropertyException(String.format("can't add memory device [0x%x:0x%x], usable range for"
                        + " memory devices [0x%x:0x%x]", hint, size, start, layout.regionSize()));
            }
            addr = hint;
        } else {
            addr = alignUp(start, align);
        }
        for (DeviceModel.Device d : dimms()) {
            PcDimm other = dimm(d);
            long lo = other.addr();
            long hi = lo + other.size();
            if (lo < addr + size && addr < hi) {
                if (hint != null) {
                    throw new PropertyException("address range conflicts with memory device id='"
                            + (d.id() != null ? d.id() : "(unnamed)") + "'");
                }
                addr = alignUp(hi, align);
            } else if (lo >= addr + size) {
                break;
            }
        }
        if (addr < start || addr + size > end) {
            throw new PropertyException("could not find position in guest address space for memory device -"
                    + " memory fragmented due to alignments");
        }
        return addr;
    }

    private static long alignUp(long v, long align) {
        return (v + align - 1) & -align;
    }

    @Override
    public void plug(DeviceModel.Device device, boolean hotplugged) throws PropertyException {
        PcDimm dimm = dimm(device);
        String memdev = dimm.props().str("memdev").orElseThrow();
        if (memdev.equals(layout.ramBackend()) || dimms().stream().anyMatch(d -> memdev.equals(dimm(d).memdev()))) {
            throw new PropertyException("can't use already busy memdev: " + memdev);
        }
        long node = dimm.props().number("node");
        if (node != 0) {
            throw new PropertyException("'DIMM property node has value " + node
                    + "' which exceeds the number of numa nodes: 1");
        }
        MemoryBackend backend = backends.apply(memdev).orElseThrow();
        GuestMemory mem;
        try {
            mem = backend.map(List.of(new RamRange(pendingAddr, backend.size())));
        } catch (IllegalStateException e) {
            throw new PropertyException(e.getMessage());
        }
        mem.adviseHost(backend.merge() == null || backend.merge(), backend.dump() == null || backend.dump());
        dimm.plug(pendingSlot, pendingAddr, memdev, mem, memorySlots);
        backendMapped.accept(memdev);
        synchronized (this) {
            plugged.add(device);
        }
        device.node().setGetter("slot", () -> (long) dimm.slot());
        device.node().setGetter("addr", () -> dimm.addr());
        device.node().addProperty("memdev", "link<memory-backend>", () -> "/objects/" + memdev, null);
        device.node().addProperty("size", "uint64", () -> dimm.size(), null);
        if (registers != null) {
            registers.plug(dimm.slot(), new MemoryHotplugRegisters.Dimm(device.id(), dimm.addr(), dimm.size(), 0),
                    hotplugged);
        }
    }

    @Override
    public void unplugRequest(DeviceModel.Device device) throws PropertyException {
        if (registers == null) {
            throw new PropertyException("memory hotplug is not enabled: missing acpi device or acpi disabled");
        }
        registers.requestUnplug(dimm(device).slot());
    }

    /**
     * The guest ejected the DIMM in a slot (on its vCPU thread): the slot empties and the memory leaves the
     * guest at once, as in QEMU's eject write; the device itself goes on the main loop (DEVICE_DELETED).
     */
    private void eject(int slot) {
        DeviceModel.Device gone = null;
        synchronized (this) {
            for (DeviceModel.Device d : plugged) {
                if (dimm(d).slot() == slot) {
                    gone = d;
                }
            }
        }
        if (gone != null) {
            try {
                dimm(gone).release();
            } catch (RuntimeException e) {
                // QEMU's acpi_memory_hotplug_write when the unplug handler fails: the DIMM stays, and both the
                // deprecated MEM_UNPLUG_ERROR and DEVICE_UNPLUG_GUEST_ERROR say so
                unplugFailed(gone, e);
                return;
            }
            synchronized (this) {
                plugged.remove(gone);
            }
        }
        registers.unplugged(slot);
        if (gone != null) {
            backendUnmapped.accept(dimm(gone).memdev());
            DeviceModel.Device d = gone;
            mainLoop.execute(() -> model.unplug(d));
        }
    }

    /** The hypervisor kept the DIMM's memory (its slot could not be removed): the DIMM stays plugged. */
    private void unplugFailed(DeviceModel.Device d, RuntimeException e) {
        EventBus events = model.context().events();
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        events.publish(new VmEvent.MemUnplugError(d.id() == null ? "" : d.id(), message));
        events.publish(new VmEvent.DeviceUnplugGuestError(d.id(), d.path()));
    }
}
