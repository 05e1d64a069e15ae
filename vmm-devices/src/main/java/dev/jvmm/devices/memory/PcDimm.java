package dev.jvmm.devices.memory;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.MemorySlots;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

/**
 * QEMU 7.2's pc-dimm (hw/mem/pc-dimm.c): a DIMM whose memory comes from a memory backend (memdev=), placed
 * in a slot of the machine's device memory region. The machine's {@link PcDimmHotplug} settles its slot and
 * address before it is realized and maps its memory into the guest while it is plugged; this object holds
 * that mapping and gives it back when the DIMM goes.
 */
public final class PcDimm {
    /** PC_DIMM_UNASSIGNED_SLOT: slot=-1 lets the machine choose. */
    static final int UNASSIGNED_SLOT = -1;

    public static final TypeInfo TYPE = TypeInfo.type("pc-dimm", "device")
            .implementing("memory-device")
            .description("DIMM memory module")
            .props(Property.of("memdev", PropType.settableLink("memory-backend")),
                    Property.of("node", PropType.UINT32, 0L),
                    Property.of("addr", PropType.UINT64, 0L),
                    Property.object("legacy-memdev", PropType.object("str")),
                    Property.of("slot", PropType.INT32, (long) UNASSIGNED_SLOT),
                    Property.object("size", PropType.object("uint64")))
            .build();

    /** The interface every memory device implements (QEMU's TYPE_MEMORY_DEVICE). */
    public static final TypeInfo MEMORY_DEVICE = TypeInfo.iface("memory-device");

    /** The object is made bare; the machine's hotplug handler plugs its memory in. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        PcDimm d = new PcDimm(p);
        return new Realized<>(d, () -> { }, d::release);
    });

    private final PropertyValues props;
    private int slot = UNASSIGNED_SLOT;
    private long addr;
    private String memdev;
    private GuestMemory memory;
    private MemorySlots slots;
    private int kvmSlot = -1;

    private PcDimm(PropertyValues props) {
        this.props = props;
    }

    PropertyValues props() {
        return props;
    }

    /** Maps the backend's memory at the DIMM's address as guest RAM. */
    synchronized void plug(int slotNumber, long address, String backendId, GuestMemory mem, MemorySlots to) {
        slot = slotNumber;
        addr = address;
        memdev = backendId;
        memory = mem;
        slots = to;
        kvmSlot = to.addSlot(address, mem.totalSize(), mem.hostAddress(0), false);
    }

    public synchronized int slot() {
        return slot;
    }

    public synchronized long addr() {
        return addr;
    }

    public synchronized long size() {
        return memory != null ? memory.totalSize() : 0;
    }

    /** The backend's id, or null before it is plugged. */
    public synchronized String memdev() {
        return memdev;
    }

    /** The guest's view of the DIMM's memory while it is plugged. */
    public synchronized GuestMemory memory() {
        return memory;
    }

    /** The guest loses the memory (its KVM slot goes) and the host mapping is unmapped, so its pages are freed. */
    synchronized void release() {
        if (kvmSlot >= 0) {
            slots.removeSlot(kvmSlot);
            kvmSlot = -1;
        }
        if (memory != null) {
            memory.close();
            memory = null;
        }
    }
}
