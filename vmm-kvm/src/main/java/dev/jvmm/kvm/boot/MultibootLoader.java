package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

import java.util.List;

/** Multiboot Specification 0.6.96: header search, ELF32 or a.out-kludge load, multiboot_info. */
final class MultibootLoader {
    static final long MULTIBOOT_HEADER_MAGIC = 0x1BADB002L;
    static final int MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002;
    static final int MULTIBOOT_SEARCH = 8192;
    /** Multiboot 0.6.96 section 3.3: mem_lower in KiB; QEMU always reports the full 640 KiB. */
    static final int MEM_LOWER_KIB = 640;
    static final int MULTIBOOT_PAGE_ALIGN = 1;
    static final int MULTIBOOT_MEMORY_INFO = 1 << 1;
    static final int MULTIBOOT_VIDEO_MODE = 1 << 2;
    static final int MULTIBOOT_AOUT_KLUDGE = 1 << 16;
    // multiboot_info.flags
    static final int MULTIBOOT_INFO_MEMORY = 1;
    static final int MULTIBOOT_INFO_CMDLINE = 1 << 2;
    static final int MULTIBOOT_INFO_MODS = 1 << 3;
    static final int MULTIBOOT_INFO_MEM_MAP = 1 << 6;

    static final long MBI_ADDR = 0x9000;
    static final long MODS_ADDR = 0x9400;
    static final long MOD_STRING_ADDR = 0x9500;
    static final long MMAP_ADDR = 0x9600;
    static final int MAX_MMAP = 64;

    private MultibootLoader() {
    }

    /** File offset of a valid multiboot header (magic, checksum) in the first 8 KiB, or -1. */
    static int findHeader(Image img) {
        int end = Math.min(img.length(), MULTIBOOT_SEARCH) - 12;
        for (int o = 0; o <= end; o += 4) {
            if (img.u32(o) == MULTIBOOT_HEADER_MAGIC && ((img.u32(o) + img.u32(o + 4) + img.u32(o + 8)) & 0xffffffffL) == 0) {
                return o;
            }
        }
        return -1;
    }

    static BootEntry load(Image img, int h, GuestMemory mem, MemoryLayout layout, KernelLoader.Request req) {
        long flags = img.u32(h + 4);
        long unknown = flags & 0xffff & ~(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE);
        if (unknown != 0) {
            throw new ImageError(String.format("multiboot header requests unsupported features (flags 0x%x)", flags));
        }
        long entry;
        long top;
        if ((flags & MULTIBOOT_AOUT_KLUDGE) != 0) {
            img.need(h, 32, "multiboot address fields");
            long headerAddr = img.u32(h + 12);
            long loadAddr = img.u32(h + 16);
            long loadEnd = img.u32(h + 20);
            long bssEnd = img.u32(h + 24);
            entry = img.u32(h + 28);
            long fileOff = h - (headerAddr - loadAddr);
            if (headerAddr < loadAddr || fileOff < 0) {
                throw new ImageError("multiboot header_addr is below load_addr or outside the file");
            }
            long size = loadEnd == 0 ? img.length() - fileOff : loadEnd - loadAddr;
            if (size <= 0) {
                throw new ImageError("multiboot load_end_addr is not above load_addr");
            }
            img.copyTo(mem, fileOff, size, loadAddr, "multiboot kernel");
            top = loadAddr + size;
            if (bssEnd != 0 && bssEnd > top) {
                Image.checkRam(mem, top, bssEnd - top, "multiboot bss");
                mem.zero(top, bssEnd - top);
                top = bssEnd;
            }
        } else {
            if (!ElfImage.isElf(img)) {
                throw new ImageError("multiboot image is neither ELF nor has the address fields (flag 16)");
            }
            ElfImage elf = ElfImage.parse(img);
            if (elf.is64) {
                throw new ImageError("Cannot load x86-64 image, give a 32bit one.");
            }
            top = elf.loadSegments(img, mem);
            entry = elf.entry;
            // e_entry is virtual; translate it through the segment containing it.
            for (ElfImage.Phdr p : elf.phdrs) {
                if (p.type() == ElfImage.PT_LOAD && entry >= p.vaddr() && entry < p.vaddr() + p.memsz()) {
                    entry = entry - p.vaddr() + p.paddr();
                    break;
                }
            }
        }

        Image.checkRam(mem, MBI_ADDR, 0x1000, "multiboot_info");
        mem.zero(MBI_ADDR, 0x1000);
        int mbiFlags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP;
        mem.writeInt(MBI_ADDR, mbiFlags);
        // QEMU reports 640 KiB of low memory, whatever the EBDA takes.
        mem.writeInt(MBI_ADDR + 4, MEM_LOWER_KIB);
        mem.writeInt(MBI_ADDR + 8, (int) ((layout.lowRamEnd() - MemoryLayout.HIGH_MEMORY) / 1024));
        // As QEMU and GRUB do, the kernel's own name comes first on a multiboot command line.
        Image.writeCString(mem, KernelLoader.CMDLINE_ADDR, req.kernelName() + " " + req.cmdline());
        mem.writeInt(MBI_ADDR + 16, (int) KernelLoader.CMDLINE_ADDR);
        int mods = 0;
        if (req.initrd() != null) {
            long addr;
            try {
                addr = KernelLoader.placeInitrd(mem, req.initrd(), layout.lowRamEnd(), top);
            } catch (ImageError e) {
                throw new ImageError("initrd '" + req.initrdName() + "': " + e.getMessage());
            }
            String name = req.initrdName() == null ? "" : req.initrdName();
            if (name.length() > 255) {
                name = name.substring(name.length() - 255);
            }
            Image.writeCString(mem, MOD_STRING_ADDR, name);
            mem.writeInt(MODS_ADDR, (int) addr);
            mem.writeInt(MODS_ADDR + 4, (int) (addr + req.initrd().length));
            mem.writeInt(MODS_ADDR + 8, (int) MOD_STRING_ADDR);
            mem.writeInt(MODS_ADDR + 12, 0);
            mods = 1;
        }
        mem.writeInt(MBI_ADDR + 20, mods);
        mem.writeInt(MBI_ADDR + 24, (int) MODS_ADDR);
        List<E820Entry> map = layout.e820();
        int n = Math.min(map.size(), MAX_MMAP);
        for (int i = 0; i < n; i++) {
            long o = MMAP_ADDR + 24L * i;
            mem.writeInt(o, 20); // size of the entry, not counting this field
            mem.writeLong(o + 4, map.get(i).address());
            mem.writeLong(o + 12, map.get(i).size());
            mem.writeInt(o + 20, map.get(i).type());
        }
        mem.writeInt(MBI_ADDR + 44, 24 * n);
        mem.writeInt(MBI_ADDR + 48, (int) MMAP_ADDR);
        return new BootEntry(BootEntry.Format.MULTIBOOT, entry, MULTIBOOT_BOOTLOADER_MAGIC, (int) MBI_ADDR, 0);
    }
}
