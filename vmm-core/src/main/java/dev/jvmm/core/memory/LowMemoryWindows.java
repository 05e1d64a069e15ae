package dev.jvmm.core.memory;

/**
 * The host bridge's switchable windows below 1 MiB (Intel 440FX datasheet section 3.2.17, PAM0-PAM6, and
 * 3.2.22, SMRAM): what a read or write between 0xa0000 and 0xfffff reaches. The bridge decides the access of
 * each window from its registers; whoever owns the address space maps it.
 */
public interface LowMemoryWindows {
    /** What an address in a window reaches (QEMU 7.2 hw/pci-host/pam.c models the same four PAM states). */
    enum Access {
        /** Neither read nor write enabled: the access goes to PCI, where the firmware ROM's alias may be. */
        PCI,
        /** Read enable only: RAM that reads, writes are dropped. */
        RAM_READ_ONLY,
        /**
         * Write enable, with or without read enable: RAM. QEMU treats write-only as read/write too, since
         * firmware only uses it to copy the ROM image onto the RAM below it.
         */
        RAM
    }

    /** Maps [base, base + size), one whole window, for the given access. */
    void map(long base, long size, Access access);

    /**
     * Booting a kernel directly, there is no ROM to shadow: the windows stay the RAM they are, whatever the
     * registers say.
     */
    LowMemoryWindows FIXED_RAM = (base, size, access) -> { };
}
