package dev.jvmm.devices.acpi;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.IntConsumer;

/**
 * QEMU's ACPI memory hotplug interface (docs/specs/acpi_mem_hotplug.rst; hw/acpi/memory_hotplug.c): one
 * status entry per DIMM slot behind a selector, at {@link #IO_BASE}. Reads give the selected slot's DIMM
 * address and size (low and high dwords), proximity and status flags; writes select a slot, report _OST
 * (event, then status, which sends ACPI_DEVICE_OST) and clear the insert or remove event or eject the DIMM.
 * Each access reaches the register at exactly its offset, as QEMU's region without an impl size does: any
 * other offset reads all ones, a selector past the last slot reads 0 everywhere and ignores writes other
 * than a new selection.
 */
public final class MemoryHotplugRegisters implements IoHandler {
    /** QEMU's ACPI_MEMORY_HOTPLUG_BASE on the pc machine. */
    public static final int IO_BASE = 0x0a00;
    /** ACPI_MEMORY_HOTPLUG_IO_LEN. */
    public static final int IO_LENGTH = 24;
    /** The GPE0 status bit the interface raises (ACPI_MEMORY_HOTPLUG_STATUS). */
    public static final int GPE_BIT = 3;

    static final int ADDR_LO = 0x0;
    static final int ADDR_HI = 0x4;
    static final int SIZE_LO = 0x8;
    static final int SIZE_HI = 0xc;
    static final int PROXIMITY = 0x10;
    static final int STATUS = 0x14;
    /** Write offsets: the slot selector, the _OST event code and the _OST status code. */
    static final int SELECTOR = 0x0;
    static final int OST_EVENT = 0x4;
    static final int OST_STATUS = 0x8;

    static final int FLAG_ENABLED = 1;
    static final int FLAG_INSERT = 2;
    static final int FLAG_REMOVE = 4;
    static final int FLAG_EJECT = 8;

    /** What is plugged into a slot, as the registers show it. */
    public record Dimm(String id, long addr, long size, long node) {
    }


    /** QEMU's MemStatus. */
    private static final class Slot {
        Dimm dimm;
        boolean enabled;
        boolean inserting;
        boolean removing;
        long ostEvent;
        long ostStatus;
    }

    private final Slot[] slots;
    private final EventBus events;
    private final Executor mainLoop;
    private final Runnable raiseGpe;
    /** The machine's side: unplugs the DIMM in the slot the guest ejected. */
    private IntConsumer ejectHandler = slot -> { };
    private long selector;

    /**
     * @param slotCount -m slots=
     * @param events    where ACPI_DEVICE_OST goes
     * @param mainLoop  where the events are published: the machine's main loop, which also runs the unplug
     *                  an eject asks for, so DEVICE_DELETED comes before the _OST reports that follow the
     *                  eject, as QEMU sends them from the eject write itself
     * @param raiseGpe  sets GPE0 status bit 3 (and so the SCI)
     */
    public MemoryHotplugRegisters(int slotCount, EventBus events, Executor mainLoop, Runnable raiseGpe) {
        slots = new Slot[slotCount];
        for (int i = 0; i < slotCount; i++) {
            slots[i] = new Slot();
        }
        this.events = events;
        this.mainLoop = mainLoop;
        this.raiseGpe = raiseGpe;
    }

    public MemoryHotplugRegisters attach(PioBus bus) {
        bus.register(IO_BASE, IO_LENGTH, this);
        return this;
    }

    public synchronized void setEjectHandler(IntConsumer h) {
        ejectHandler = h;
    }

    public int slotCount() {
        return slots.length;
    }

    /** QEMU's acpi_memory_plug_cb: the DIMM is in its slot; a hot-plugged one is announced through GPE 3. */
    public void plug(int slot, Dimm dimm, boolean hotplugged) {
        synchronized (this) {
            Slot s = slots[slot];
            s.dimm = dimm;
            s.enabled = true;
            if (!hotplugged) {
                return;
            }
            s.inserting = true;
        }
        raiseGpe.run();
    }

    /** QEMU's acpi_memory_unplug_request_cb: device_del marks the remove event and raises GPE 3. */
    public void requestUnplug(int slot) {
        synchronized (this) {
            slots[slot].removing = true;
        }
        raiseGpe.run();
    }

    /** QEMU's acpi_memory_unplug_cb: the slot is empty again; its last _OST report stays. */
    public synchronized void unplugged(int slot) {
        Slot s = slots[slot];
        s.enabled = false;
        s.dimm = null;
    }

    /** Every slot's last _OST report, for query-acpi-ospm-status. */
    public synchronized List<AcpiOstInfo> ospmStatus() {
        List<AcpiOstInfo> out = new ArrayList<>();
        for (int i = 0; i < slots.length; i++) {
            out.add(ostInfo(i));
        }
        return out;
    }

    private AcpiOstInfo ostInfo(int i) {
        Slot s = slots[i];
        return new AcpiOstInfo(s.dimm != null ? s.dimm.id() : null, Integer.toString(i), "DIMM", s.ostEvent,
                s.ostStatus);
    }

    @Override
    public long read(long offset, int size) {
        long mask = size >= 8 ? -1L : (1L << (size * 8)) - 1;
        synchronized (this) {
            if (selector >= slots.length) {
                return 0;
            }
            Slot s = slots[(int) selector];
            Dimm d = s.dimm;
            long v = switch ((int) offset) {
                case ADDR_LO -> d != null ? d.addr() & 0xffffffffL : 0;
                case ADDR_HI -> d != null ? d.addr() >>> 32 : 0;
                case SIZE_LO -> d != null ? d.size() & 0xffffffffL : 0;
                case SIZE_HI -> d != null ? d.size() >>> 32 : 0;
                case PROXIMITY -> d != null ? d.node() & 0xffffffffL : 0;
                case STATUS -> (s.enabled ? FLAG_ENABLED : 0) | (s.inserting ? FLAG_INSERT : 0)
                        | (s.removing ? FLAG_REMOVE : 0);
                default -> 0xffffffffL;
            };
            return v & mask;
        }
    }

    @Override
    public void write(long offset, int size, long value) {
        AcpiOstInfo report = null;
        int eject = -1;
        synchronized (this) {
            if (slots.length == 0 || (offset != SELECTOR && selector >= slots.length)) {
                return;
            }
            Slot s = offset == SELECTOR ? null : slots[(int) selector];
            switch ((int) offset) {
                case SELECTOR -> selector = value & 0xffffffffL;
                case OST_EVENT -> s.ostEvent = value & 0xffffffffL;
                case OST_STATUS -> {
                    s.ostStatus = value & 0xffffffffL;
                    report = ostInfo((int) selector);
                }
                case STATUS -> {
                    // one action per write, the first set bit winning, as QEMU's if-else chain
                    if ((value & FLAG_INSERT) != 0) {
                        s.inserting = false;
                    } else if ((value & FLAG_REMOVE) != 0) {
                        s.removing = false;
                    } else if ((value & FLAG_EJECT) != 0 && s.enabled) {
                        eject = (int) selector;
                    }
                }
                default -> {
                }
            }
        }
        if (report != null) {
            VmEvent e = new VmEvent.AcpiDeviceOst(report);
            mainLoop.execute(() -> events.publish(e));
        }
        if (eject >= 0) {
            IntConsumer h;
            synchronized (this) {
                h = ejectHandler;
            }
            h.accept(eject);
        }
    }
}
