package dev.jvmm.cli;

/**
 * -m's maxmem= and slots= (QEMU's MachineState maxram_size and ram_slots): the most RAM the machine may
 * have with memory devices plugged, and how many DIMM slots the ACPI memory hotplug interface offers.
 *
 * @param maxRamBytes maxmem=, or the initial RAM size without it
 * @param slots       slots= as QEMU reads it (an unsigned 64-bit number), 0 without it
 */
record MemoryHotplugSize(long maxRamBytes, long slots) {
    /** QEMU's ACPI_MAX_RAM_SLOTS: pc_memory_init refuses more. */
    static final int MAX_SLOTS = 256;

    static MemoryHotplugSize none(long ram) {
        return new MemoryHotplugSize(ram, 0);
    }

    /** Whether the machine has a device memory region (QEMU: ram_size < maxram_size). */
    boolean hasDeviceMemory(long ram) {
        return Long.compareUnsigned(ram, maxRamBytes) < 0;
    }
}
