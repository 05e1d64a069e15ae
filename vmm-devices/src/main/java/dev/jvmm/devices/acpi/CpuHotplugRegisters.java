package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

import java.util.List;

/**
 * The CPU hotplug register block of QEMU 7.2's PIIX4 PM at {@link CpuHotplugAml#IO_BASE}, which the DSDT's
 * \_SB.CPUS methods read: it starts in the legacy layout (a 32-byte bitmap of present CPUs by APIC id) and
 * switches for good to the modern one when 0 is written at offset 0, as the DSDT's PRES._INI does. In the
 * modern layout: selector (offset 0, write), flags (4: bit 0 the selected CPU is present), command (5) and
 * data (8: for "next CPU with an event" the selector, for "CPU id" the APIC id). jvmm has no CPU hotplug, so
 * no CPU ever has an insert or remove event; eject requests and _OST reports are ignored. Accesses behave as
 * QEMU's (hw/acpi/cpu.c, cpu_hotplug.c), checked with qtest in QemuCpuHotplugComparisonTest.
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
    static final int CMD_GET_CPU_ID = 3;
    /** Commands at or above this value are ignored. */
    static final int CMD_MAX = 4;
    static final int FLAG_ENABLED = 1;

    private final List<Integer> apicIds;
    private final int present;
    private boolean legacy = true;
    private long selector;
    private int command = CMD_GET_NEXT_EVENT;

    /**
     * @param possibleApicIds the APIC ids of the possible vCPUs, the present ones first
     * @param present         how many of them exist
     */
    public CpuHotplugRegisters(List<Integer> possibleApicIds, int present) {
        this.apicIds = List.copyOf(possibleApicIds);
        if (present < 1 || present > apicIds.size()) {
            throw new IllegalArgumentException("present vCPUs out of range: " + present);
        }
        this.present = present;
    }

    public CpuHotplugRegisters attach(PioBus bus) {
        bus.register(CpuHotplugAml.IO_BASE, LEGACY_LENGTH, this);
        return this;
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
        if (selector >= apicIds.size()) {
            return 0;
        }
        int cpu = (int) selector;
        long v = switch ((int) offset) {
            case FLAGS_OFFSET -> cpu < present ? FLAG_ENABLED : 0;
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
        for (int cpu = 0; cpu < present; cpu++) {
            int id = apicIds.get(cpu);
            if (id / 8 == i) {
                b |= 1 << (id % 8);
            }
        }
        return b;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        if (legacy) {
            // firmware never wrote the bitmap, so QEMU takes a 0 at its start as the switch to the modern block
            if (offset == 0 && value == 0) {
                legacy = false;
            }
            return;
        }
        if (offset != SELECTOR_OFFSET && selector >= apicIds.size()) {
            return;
        }
        if (offset == SELECTOR_OFFSET) {
            selector = value & 0xffffffffL;
        } else if (offset == COMMAND_OFFSET && value < CMD_MAX) {
            // "next CPU with an event" keeps the selector: no CPU has an event here
            command = (int) value;
        }
    }

    /** Whether the guest switched to the modern layout. */
    public synchronized boolean modern() {
        return !legacy;
    }
}
