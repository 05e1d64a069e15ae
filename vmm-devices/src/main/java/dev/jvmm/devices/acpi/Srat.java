package dev.jvmm.devices.acpi;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * ACPI 6.x section 5.2.16, the System Resource Affinity Table, as QEMU 7.2's pc builds it (hw/i386/acpi-build.c
 * build_srat) for the single NUMA node it makes by itself when there is a device memory region: every possible
 * vCPU's local APIC in node 0, RAM in node 0 around the 640 KiB - 1 MiB hole and the PCI hole, empty entries up
 * to the node count plus two, and the device memory region as hot-pluggable.
 *
 * @param ramSize          all guest RAM (the node's memory)
 * @param below4g          RAM below 4 GiB
 * @param deviceMemoryBase where the device memory region starts
 * @param deviceMemorySize its size
 */
public record Srat(long ramSize, long below4g, long deviceMemoryBase, long deviceMemorySize) {
    static final int REVISION = 1;
    static final int TYPE_PROCESSOR = 0;
    static final int TYPE_MEMORY = 1;
    static final int PROCESSOR_LENGTH = 16;
    static final int MEMORY_LENGTH = 40;
    static final int ENABLED = 1;
    static final int HOTPLUGGABLE = 2;
    static final long HOLE_640K_START = 640 * 1024;
    static final long HOLE_640K_END = 1024 * 1024;
    static final long FOUR_GIB = 1L << 32;

    private record Range(long base, long length, int flags) {
    }

    /** The table for these possible APIC ids (all below 255, as the pc's xAPIC ids are). */
    byte[] table(List<Integer> possibleApicIds) {
        List<Range> mem = new java.util.ArrayList<>();
        long base = 0;
        long len = ramSize;
        long next = base + len;
        if (next > HOLE_640K_START) {
            // the 640 KiB - 1 MiB hole
            mem.add(new Range(0, HOLE_640K_START, ENABLED));
            base = HOLE_640K_END;
            len = next - HOLE_640K_END;
        }
        if (base <= below4g && next > below4g) {
            // the PCI hole below 4 GiB: the rest of RAM continues at 4 GiB
            mem.add(new Range(base, below4g - base, ENABLED));
            base = FOUR_GIB;
            len = next - below4g;
        }
        if (len > 0) {
            mem.add(new Range(base, len, ENABLED));
        }
        while (mem.size() < 1 + 2) {
            mem.add(new Range(0, 0, 0));
        }
        mem.add(new Range(deviceMemoryBase, deviceMemorySize, HOTPLUGGABLE | ENABLED));
        int length = AcpiTables.HEADER_LENGTH + 12 + PROCESSOR_LENGTH * possibleApicIds.size()
                + MEMORY_LENGTH * mem.size();
        ByteBuffer b = AcpiTables.header("SRAT", REVISION, length);
        b.putInt(1).putLong(0);
        for (int id : possibleApicIds) {
            b.put((byte) TYPE_PROCESSOR).put((byte) PROCESSOR_LENGTH).put((byte) 0).put((byte) id).putInt(ENABLED)
                    .put((byte) 0).put(new byte[3]).putInt(0);
        }
        for (Range r : mem) {
            b.put((byte) TYPE_MEMORY).put((byte) MEMORY_LENGTH).putInt(0).putShort((short) 0).putLong(r.base())
                    .putLong(r.length()).putInt(0).putInt(r.flags()).putLong(0);
        }
        return AcpiTables.finish(b);
    }
}
