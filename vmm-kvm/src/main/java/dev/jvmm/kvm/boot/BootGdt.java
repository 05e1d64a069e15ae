package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

/**
 * The boot GDT every entry uses (Linux boot protocol, "32-bit boot protocol": __BOOT_CS = 0x10 and
 * __BOOT_DS = 0x18 flat 4 GiB segments), placed at 0x500 below the loaders' other structures.
 */
public final class BootGdt {
    public static final long GDT_ADDR = 0x500;
    public static final int CODE_SELECTOR = 0x10;
    public static final int DATA_SELECTOR = 0x18;
    public static final int GDT_LIMIT = 4 * 8 - 1;
    /** Base 0, limit 0xfffff pages, G=1 D=1 P=1 DPL=0 S=1, type execute/read accessed. */
    static final long CODE_DESCRIPTOR = 0x00cf9b000000ffffL;
    /** As the code descriptor, type read/write accessed. */
    static final long DATA_DESCRIPTOR = 0x00cf93000000ffffL;

    private BootGdt() {
    }

    public static void write(GuestMemory mem) {
        mem.writeLong(GDT_ADDR, 0);
        mem.writeLong(GDT_ADDR + 8, 0);
        mem.writeLong(GDT_ADDR + CODE_SELECTOR, CODE_DESCRIPTOR);
        mem.writeLong(GDT_ADDR + DATA_SELECTOR, DATA_DESCRIPTOR);
    }
}
