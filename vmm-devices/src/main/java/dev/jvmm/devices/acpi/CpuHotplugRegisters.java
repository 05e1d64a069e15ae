package dev.jvmm.devices.acpi;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The CPU hotplug register block of QEMU 7.2's PIIX4 PM at {@link CpuHotplugAml#IO_BASE} (QEMU's
 * docs/specs/acpi_cpu_hotplug.rst, hw/acpi/cpu.c and cpu_hotplug.c), which the DSDT's \_SB.CPUS methods read.
 * It starts in the legacy layout (a 32-byte bitmap of present CPUs by APIC id) and switches for good to the
 * modern one when 0 is written at offset 0, as the DSDT's PRES._INI does. In the modern layout, per possible
 * CPU (the selector at offset 0): flags (4: present, insert event, remove event; writing 2 or 4 clears an
 * event, 8 ejects), command (5: 0 selects the next CPU with an event, 1 and 2 take the _OST event and status
 * written to data, 3 reads the APIC id) and data (8). A hot-plugged CPU gets an insert event, a device_del a
 * remove event, and both raise the GPE the machine connects.
 */
public final class CpuHotplugRegisters implements IoHandler {
    /** QEMU's ACPI_GPE_PROC_LEN: the legacy bitmap, which is also the range the block decodes. */
    static final int LEGACY_LENGTH = 32;
    /** ACPI_CPU_HOTPLUG_REG_LEN: the modern block. */
    static final int MODERN_LENGTH = 12;
    static final int SELECTOR_OFFSET = 0;
    static final int DATA2_OFFSET = 0;
    static final int FLAGS_OFFSET = CpuHotplugAml.FLAGS_OFFSET;
    static final int COMMAND_OFFSET = CpuHotplugAml.COMMAND_OFFSET;
    static final int DATA_OFFSET = CpuHotplugAml.DATA_OFFSET;
    static final int CMD_GET_NEXT_EVENT = CpuHotplugAml.CMD_GET_NEXT_EVENT;
    static final int CMD_OST_EVENT = 1;
    static final int CMD_OST_STATUS = 2;
    static final int CMD_GET_CPU_ID = 3;
    /** Commands at or above this value are ignored. */
    static final int CMD_MAX = 4;
    static final int FLAG_ENABLED = 1;
    static final int FLAG_INSERT = 2;
    static final int FLAG_REMOVE = 4;
    static final int FLAG_EJECT = 8;
    /** ACPI_DEVICE_OST's slot-type for these slots. */
    public static final String SLOT_TYPE = "CPU";

    /** One possible CPU's slot (QEMU's AcpiCpuStatus). */
    private static final class Slot {
        boolean present;
        String deviceId;
        boolean inserting;
        boolean removing;
        long ostEvent;
        long ostStatus;
    }

    private final List<Integer> apicIds;
    private final Slot[] slots;
    private boolean legacy = true;
    private long selector;
    private int command = CMD_GET_NEXT_EVENT;
    private Runnable gpe = () -> { };
    private IntConsumer eject = slot -> { };
    private Consumer<AcpiOstInfo> ost = info -> { };

    /**
     * @param possibleApicIds the APIC ids of the possible vCPUs, the present ones first
     * @param present         how many of them exist
     */
    public CpuHotplugRegisters(List<Integer> possibleApicIds, int present) {
        this.apicIds = List.copyOf(possibleApicIds);
        if (present < 1 || present > apicIds.size()) {
            throw new IllegalArgumentException("present vCPUs out of range: " + present);
        }
        slots = new Slot[apicIds.size()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
            slots[i].present = i < present;
        }
    }

    public CpuHotplugRegisters attach(PioBus bus) {
        bus.register(CpuHotplugAml.IO_BASE, LEGACY_LENGTH, this);
        return this;
    }

    /**
     * Connects the block to the machine: gpe raises the CPU hotplug GPE, eject removes the CPU in a slot
     * (called outside the block's lock, from the thread of the guest's write), ost publishes ACPI_DEVICE_OST.
     */
    public synchronized void connect(Runnable gpe, IntConsumer eject, Consumer<AcpiOstInfo> ost) {
        this.gpe = gpe;
        this.eject = eject;
        this.ost = ost;
    }

    /** How many possible CPUs the block has slots for. */
    public int slotCount() {
        return slots.length;
    }

    /**
     * QEMU's acpi_cpu_plug_cb (legacy_acpi_cpu_plug_cb before the switch): the CPU in the slot exists; a
     * hot-plugged one gets an insert event and the GPE.
     */
    public void plug(int slot, String deviceId, boolean hotplugged) {
        Runnable raise;
        synchronized (this) {
            Slot s = slots[slot];
            s.present = true;
            s.deviceId = deviceId;
            if (!hotplugged) {
                return;
            }
            if (!legacy) {
                s.inserting = true;
            }
            raise = gpe;
        }
        raise.run();
    }

    /**
     * QEMU's acpi_cpu_unplug_request_cb: a remove event and the GPE. Returns false while the block is in the
     * legacy layout, which has no unplug (the caller refuses device_del as QEMU does).
     */
    public boolean requestUnplug(int slot) {
        Runnable raise;
        synchronized (this) {
            if (legacy) {
                return false;
            }
            slots[slot].removing = true;
            raise = gpe;
        }
        raise.run();
        return true;
    }

    /** QEMU's acpi_cpu_unplug_cb: the slot is empty again (its _OST values stay). */
    public synchronized void unplugged(int slot) {
        slots[slot].present = false;
        slots[slot].deviceId = null;
    }

    /** Whether the CPU in a slot exists. */
    public synchronized boolean present(int slot) {
        return slots[slot].present;
    }

    /** query-acpi-ospm-status's CPU part: every slot once the guest uses the modern layout, none before. */
    public synchronized List<AcpiOstInfo> ospmStatus() {
        List<AcpiOstInfo> out = new ArrayList<>();
        if (!legacy) {
            for (int i = 0; i < slots.length; i++) {
                out.add(info(i));
            }
        }
        return out;
    }

    private AcpiOstInfo info(int i) {
        Slot s = slots[i];
        return new AcpiOstInfo(s.present ? s.deviceId : null, Integer.toString(i), SLOT_TYPE, s.ostEvent,
                s.ostStatus);
    }

    @Override
    public synchronized long read(long offset, int size) {
        long mask = size >= 8 ? -1L : (1L << (size * 8)) - 1;
        if (legacy) {
            long v = 0;
            for (int i = 0; i < size && offset + i < LEGACY_LENGTH; i++) {
                v |= (long) legacyByte((int) offset + i) << (8 * i);
            }
            return v;
        }
        if (offset >= MODERN_LENGTH) {
            // past the modern block nothing decodes the port
            return mask;
        }
        if (selector >= slots.length) {
            return 0;
        }
        int cpu = (int) selector;
        Slot s = slots[cpu];
        long v = switch ((int) offset) {
            case FLAGS_OFFSET -> (s.present ? FLAG_ENABLED : 0) | (s.inserting ? FLAG_INSERT : 0)
                    | (s.removing ? FLAG_REMOVE : 0);
            case DATA_OFFSET -> command == CMD_GET_NEXT_EVENT ? selector
                    : command == CMD_GET_CPU_ID ? apicIds.get(cpu) : 0;
            // the high half of a 64-bit CPU id: APIC ids fit in 32 bits
            case DATA2_OFFSET -> 0;
            default -> 0;
        };
        return v & mask;
    }

    /** Byte i of the legacy bitmap: bit j is the present CPU with APIC id 8 * i + j. */
    private int legacyByte(int i) {
        int b = 0;
        for (int cpu = 0; cpu < slots.length; cpu++) {
            int id = apicIds.get(cpu);
            if (slots[cpu].present && id / 8 == i) {
                b |= 1 << (id % 8);
            }
        }
        return b;
    }

    @Override
    public void write(long offset, int size, long value) {
        int ejectSlot = -1;
        AcpiOstInfo report = null;
        IntConsumer ejector;
        Consumer<AcpiOstInfo> reporter;
        synchronized (this) {
            ejector = eject;
            reporter = ost;
            if (legacy) {
                // firmware never wrote the bitmap, so QEMU takes a 0 at its start as the switch to the modern block
                if (offset == 0 && value == 0) {
                    legacy = false;
                }
                return;
            }
            if (offset != SELECTOR_OFFSET && selector >= slots.length) {
                return;
            }
            switch ((int) offset) {
                case SELECTOR_OFFSET -> selector = value & 0xffffffffL;
                case FLAGS_OFFSET -> ejectSlot = writeFlags((int) value);
                case COMMAND_OFFSET -> writeCommand(value & 0xff);
                case DATA_OFFSET -> report = writeData(value & 0xffffffffL);
                default -> {
                }
            }
        }
        if (report != null) {
            reporter.accept(report);
        }
        if (ejectSlot >= 0) {
            ejector.accept(ejectSlot);
        }
    }

    /** Clears one event (insert before remove), or asks for the eject; returns the slot to eject or -1. */
    private int writeFlags(int value) {
        Slot s = slots[(int) selector];
        if ((value & FLAG_INSERT) != 0) {
            s.inserting = false;
        } else if ((value & FLAG_REMOVE) != 0) {
            s.removing = false;
        } else if ((value & FLAG_EJECT) != 0 && s.present && selector != 0) {
            // the boot CPU (slot 0) is never ejected
            return (int) selector;
        }
        return -1;
    }

    /** A command below CMD_MAX; "next CPU with an event" scans from the selector on, wrapping around. */
    private void writeCommand(long value) {
        if (value >= CMD_MAX) {
            return;
        }
        command = (int) value;
        if (command != CMD_GET_NEXT_EVENT) {
            return;
        }
        int start = (int) selector;
        int i = start;
        do {
            if (slots[i].inserting || slots[i].removing) {
                selector = i;
                return;
            }
            i = i + 1 < slots.length ? i + 1 : 0;
        } while (i != start);
    }

    /** _OST event and status; the status completes a report. */
    private AcpiOstInfo writeData(long value) {
        Slot s = slots[(int) selector];
        if (command == CMD_OST_EVENT) {
            s.ostEvent = value;
        } else if (command == CMD_OST_STATUS) {
            s.ostStatus = value;
            return info((int) selector);
        }
        return null;
    }

    /** Whether the guest switched to the modern layout. */
    public synchronized boolean modern() {
        return !legacy;
    }
}
