package dev.jvmm.kvm.boot;

/** One BIOS e820 memory map entry (ACPI spec, "System Address Map Interfaces"). */
public record E820Entry(long address, long size, int type) {
    public static final int E820_RAM = 1;
    public static final int E820_RESERVED = 2;

    public long end() {
        return address + size;
    }
}
