package dev.jvmm.kvm.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * Multiboot Specification 0.6.96 section 3.3: where a multiboot kernel's boot information goes.
 *
 * <p>The module list, the strings (module strings, then the kernel command line, then the boot loader name) and
 * the modules follow the kernel image in QEMU 7.2's order and page alignment, so a kernel finds them at the
 * addresses QEMU gives it. The information structure and the memory map sit at QEMU's 0x9500 and 0x9000 when
 * nothing loaded covers those bytes. A kernel linked low enough to cover them (as kernels that return to real
 * mode are) gets them after the last module instead: QEMU loads such a kernel over its own information, and
 * jvmm places nothing where it would overwrite the kernel or be overwritten by it.
 *
 * @param imageStart         lowest address of the kernel image
 * @param imageEnd           end of the kernel image, its bss included (exclusive)
 * @param modsAddr           the module list: 16 bytes per module
 * @param stringsAddr        the first string: module strings in order, then the kernel command line
 * @param bootLoaderNameAddr the boot loader name, after the room QEMU reserves for the strings
 * @param moduleAddrs        where each module's bytes start (page-aligned)
 * @param mbiAddr            the multiboot information structure
 * @param mmapAddr           the memory map ("mmap_addr")
 * @param end                end of everything placed (exclusive)
 */
record MultibootLayout(long imageStart, long imageEnd, long modsAddr, long stringsAddr, long bootLoaderNameAddr,
                       List<Long> moduleAddrs, long mbiAddr, long mmapAddr, long end) {
    static final long PAGE_SIZE = 0x1000;
    /** Size of the multiboot information structure up to and including the VBE fields. */
    static final int MBI_SIZE = 88;
    /** Multiboot 0.6.96 section 3.3, "mods_addr": each module structure is 16 bytes. */
    static final int MOD_SIZE = 16;
    /** QEMU 7.2 hw/i386/multiboot.c: the memory map at MULTIBOOT_STRUCT_ADDR, the information 0x500 above. */
    static final long QEMU_MMAP_ADDR = 0x9000;
    static final long QEMU_MBI_ADDR = 0x9500;
    /** The boot loader name QEMU reports; it sizes the information area, so it is part of the layout. */
    static final String BOOT_LOADER_NAME = "qemu";

    /**
     * Plans the layout.
     *
     * @param stringBytes bytes QEMU reserves for the strings: "kernel append", each NUL-terminated, plus the raw
     *                    -initrd value and its NUL when there are modules
     * @param moduleSizes each module's length in bytes
     * @param mmapBytes   size of the memory map
     * @param lowRamEnd   end of RAM below 4 GiB
     * @throws ImageError when the layout does not fit
     */
    static MultibootLayout plan(long imageStart, long imageEnd, long stringBytes, List<Integer> moduleSizes,
                                long mmapBytes, long lowRamEnd) {
        if (overlaps(imageStart, imageEnd, BootGdt.GDT_ADDR, BootGdt.GDT_ADDR + BootGdt.GDT_LIMIT + 1)) {
            throw new ImageError(String.format("multiboot kernel (0x%x-0x%x) overlaps the boot GDT at 0x%x",
                    imageStart, imageEnd, BootGdt.GDT_ADDR));
        }
        long infoOffset = pageAlign(imageEnd - imageStart);
        long modsAddr = imageStart + infoOffset;
        long stringsAddr = modsAddr + (long) MOD_SIZE * moduleSizes.size();
        long bootLoaderNameAddr = stringsAddr + stringBytes;
        long size = pageAlign(infoOffset + (long) MOD_SIZE * moduleSizes.size() + stringBytes
                + BOOT_LOADER_NAME.length() + 1);
        List<Long> modules = new ArrayList<>();
        for (int len : moduleSizes) {
            modules.add(imageStart + size);
            size = pageAlign(size + len);
        }
        long end = imageStart + size;
        long mbi;
        long mmap;
        if (mmapBytes <= QEMU_MBI_ADDR - QEMU_MMAP_ADDR
                && !overlaps(imageStart, end, QEMU_MMAP_ADDR, QEMU_MBI_ADDR + MBI_SIZE)) {
            mbi = QEMU_MBI_ADDR;
            mmap = QEMU_MMAP_ADDR;
        } else {
            mbi = end;
            mmap = end + MBI_SIZE;
            end = mmap + mmapBytes;
        }
        if (modsAddr < MemoryLayout.HIGH_MEMORY && end > MemoryLayout.EBDA_START) {
            throw new ImageError(String.format("multiboot modules and boot information (0x%x-0x%x) run into the"
                    + " reserved area 0x%x-0x%x", modsAddr, end, MemoryLayout.EBDA_START, MemoryLayout.HIGH_MEMORY));
        }
        if (end > lowRamEnd) {
            throw new ImageError(String.format("multiboot kernel, modules and boot information (0x%x-0x%x) do not"
                    + " fit in guest RAM below 0x%x", imageStart, end, lowRamEnd));
        }
        return new MultibootLayout(imageStart, imageEnd, modsAddr, stringsAddr, bootLoaderNameAddr,
                List.copyOf(modules), mbi, mmap, end);
    }

    static long pageAlign(long v) {
        return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    }

    private static boolean overlaps(long start, long end, long otherStart, long otherEnd) {
        return start < otherEnd && otherStart < end;
    }
}
