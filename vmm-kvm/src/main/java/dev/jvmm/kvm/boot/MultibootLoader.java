package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Multiboot Specification 0.6.96: header search, ELF32 or a.out-kludge load, then the multiboot information,
 * placed by {@link MultibootLayout} so that it overlaps nothing loaded.
 */
final class MultibootLoader {
    static final long MULTIBOOT_HEADER_MAGIC = 0x1BADB002L;
    static final int MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002;
    static final int MULTIBOOT_SEARCH = 8192;
    /** Multiboot 0.6.96 section 3.3: mem_lower in KiB; QEMU always reports the full 640 KiB. */
    static final int MEM_LOWER_KIB = 640;
    // Multiboot 0.6.96 section 3.1.2, the header's flags
    static final int MULTIBOOT_PAGE_ALIGN = 1;
    static final int MULTIBOOT_MEMORY_INFO = 1 << 1;
    static final int MULTIBOOT_VIDEO_MODE = 1 << 2;
    static final int MULTIBOOT_AOUT_KLUDGE = 1 << 16;
    // Multiboot 0.6.96 section 3.3, multiboot_info.flags: the fields QEMU fills
    static final int MULTIBOOT_INFO_MEMORY = 1;
    static final int MULTIBOOT_INFO_BOOTDEV = 1 << 1;
    static final int MULTIBOOT_INFO_CMDLINE = 1 << 2;
    static final int MULTIBOOT_INFO_MODS = 1 << 3;
    static final int MULTIBOOT_INFO_MEM_MAP = 1 << 6;
    static final int MULTIBOOT_INFO_BOOT_LOADER_NAME = 1 << 9;
    // Multiboot 0.6.96 section 3.3, multiboot_info field offsets
    static final int MBI_FLAGS = 0;
    static final int MBI_MEM_LOWER = 4;
    static final int MBI_MEM_UPPER = 8;
    static final int MBI_BOOT_DEVICE = 12;
    static final int MBI_CMDLINE = 16;
    static final int MBI_MODS_COUNT = 20;
    static final int MBI_MODS_ADDR = 24;
    static final int MBI_MMAP_LENGTH = 44;
    static final int MBI_MMAP_ADDR = 48;
    static final int MBI_BOOT_LOADER_NAME = 64;
    // Multiboot 0.6.96 section 3.3, one module structure
    static final int MOD_START = 0;
    static final int MOD_END = 4;
    static final int MOD_STRING = 8;
    /** Multiboot 0.6.96 section 3.3, mmap entry: a size field, then base_addr, length, type (20 bytes). */
    static final int MMAP_ENTRY_SIZE = 24;
    static final int MMAP_ENTRY_FIELDS = 20;
    /** boot_device as QEMU reports it: BIOS drive 0x80, no partition. */
    static final int QEMU_BOOT_DEVICE = 0x8000ffff;

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

    /** Where the kernel image went: [start, end) with its bss, and the entry point. */
    private record Loaded(long start, long end, long entry) {
    }

    static BootEntry load(Image img, int h, GuestMemory mem, MemoryLayout layout, KernelLoader.Request req) {
        long flags = img.u32(h + 4);
        long unknown = flags & 0xffff & ~(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE);
        if (unknown != 0) {
            throw new ImageError(String.format("multiboot header requests unsupported features (flags 0x%x)", flags));
        }
        Loaded k = (flags & MULTIBOOT_AOUT_KLUDGE) != 0 ? loadAout(img, h, mem) : loadElf(img, mem);

        List<MultibootModule> modules = req.modules();
        String cmdline = req.kernelName() + " " + req.cmdline();
        // QEMU reserves room for "kernel append" and the raw -initrd value, each with its NUL.
        long stringBytes = utf8(req.kernelName()).length + 1 + utf8(req.cmdline()).length + 1;
        if (!modules.isEmpty()) {
            stringBytes += utf8(req.initrdName() == null ? "" : req.initrdName()).length + 1;
        }
        List<E820Entry> map = layout.e820();
        MultibootLayout l = MultibootLayout.plan(k.start(), k.end(), stringBytes,
                modules.stream().map(m -> m.data().length).toList(), (long) MMAP_ENTRY_SIZE * map.size(),
                layout.lowRamEnd());

        long str = l.stringsAddr();
        for (int i = 0; i < modules.size(); i++) {
            MultibootModule m = modules.get(i);
            long addr = l.moduleAddrs().get(i);
            Image.checkRam(mem, addr, m.data().length, "multiboot module");
            mem.write(addr, m.data(), 0, m.data().length);
            long entry = l.modsAddr() + (long) MultibootLayout.MOD_SIZE * i;
            mem.writeInt(entry + MOD_START, (int) addr);
            mem.writeInt(entry + MOD_END, (int) (addr + m.data().length));
            mem.writeInt(entry + MOD_STRING, (int) str);
            mem.writeInt(entry + 12, 0);
            str += Image.writeCString(mem, str, m.string());
        }
        long cmdlineAddr = str;
        Image.writeCString(mem, cmdlineAddr, cmdline);
        Image.writeCString(mem, l.bootLoaderNameAddr(), MultibootLayout.BOOT_LOADER_NAME);

        for (int i = 0; i < map.size(); i++) {
            long o = l.mmapAddr() + (long) MMAP_ENTRY_SIZE * i;
            mem.writeInt(o, MMAP_ENTRY_FIELDS);
            mem.writeLong(o + 4, map.get(i).address());
            mem.writeLong(o + 12, map.get(i).size());
            mem.writeInt(o + 20, map.get(i).type());
        }

        long mbi = l.mbiAddr();
        Image.checkRam(mem, mbi, MultibootLayout.MBI_SIZE, "multiboot_info");
        mem.zero(mbi, MultibootLayout.MBI_SIZE);
        mem.writeInt(mbi + MBI_FLAGS, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV | MULTIBOOT_INFO_CMDLINE
                | MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME);
        // QEMU reports 640 KiB of low memory, whatever the EBDA takes.
        mem.writeInt(mbi + MBI_MEM_LOWER, MEM_LOWER_KIB);
        mem.writeInt(mbi + MBI_MEM_UPPER, (int) ((layout.lowRamEnd() - MemoryLayout.HIGH_MEMORY) / 1024));
        mem.writeInt(mbi + MBI_BOOT_DEVICE, QEMU_BOOT_DEVICE);
        // As QEMU and GRUB do, the kernel's own name comes first on a multiboot command line.
        mem.writeInt(mbi + MBI_CMDLINE, (int) cmdlineAddr);
        mem.writeInt(mbi + MBI_MODS_COUNT, modules.size());
        mem.writeInt(mbi + MBI_MODS_ADDR, (int) l.modsAddr());
        mem.writeInt(mbi + MBI_MMAP_LENGTH, MMAP_ENTRY_SIZE * map.size());
        mem.writeInt(mbi + MBI_MMAP_ADDR, (int) l.mmapAddr());
        mem.writeInt(mbi + MBI_BOOT_LOADER_NAME, (int) l.bootLoaderNameAddr());
        return new BootEntry(BootEntry.Format.MULTIBOOT, k.entry(), MULTIBOOT_BOOTLOADER_MAGIC, (int) mbi, 0);
    }

    /** Multiboot 0.6.96 section 3.1.3: the address fields say where the file's bytes and the bss go. */
    private static Loaded loadAout(Image img, int h, GuestMemory mem) {
        img.need(h, 32, "multiboot address fields");
        long headerAddr = img.u32(h + 12);
        long loadAddr = img.u32(h + 16);
        long loadEnd = img.u32(h + 20);
        long bssEnd = img.u32(h + 24);
        long entry = img.u32(h + 28);
        long fileOff = h - (headerAddr - loadAddr);
        if (headerAddr < loadAddr || fileOff < 0) {
            throw new ImageError("multiboot header_addr is below load_addr or outside the file");
        }
        long size = loadEnd == 0 ? img.length() - fileOff : loadEnd - loadAddr;
        if (size <= 0) {
            throw new ImageError("multiboot load_end_addr is not above load_addr");
        }
        img.copyTo(mem, fileOff, size, loadAddr, "multiboot kernel");
        long top = loadAddr + size;
        if (bssEnd != 0 && bssEnd > top) {
            Image.checkRam(mem, top, bssEnd - top, "multiboot bss");
            mem.zero(top, bssEnd - top);
            top = bssEnd;
        }
        return new Loaded(loadAddr, top, entry);
    }

    private static Loaded loadElf(Image img, GuestMemory mem) {
        if (!ElfImage.isElf(img)) {
            throw new ImageError("multiboot image is neither ELF nor has the address fields (flag 16)");
        }
        ElfImage elf = ElfImage.parse(img);
        if (elf.is64) {
            throw new ImageError("Cannot load x86-64 image, give a 32bit one.");
        }
        long top = elf.loadSegments(img, mem);
        long start = top;
        long entry = elf.entry;
        for (ElfImage.Phdr p : elf.phdrs) {
            if (p.type() == ElfImage.PT_LOAD && p.memsz() > 0) {
                start = Math.min(start, p.paddr());
            }
        }
        // e_entry is virtual; translate it through the segment containing it.
        for (ElfImage.Phdr p : elf.phdrs) {
            if (p.type() == ElfImage.PT_LOAD && entry >= p.vaddr() && entry < p.vaddr() + p.memsz()) {
                entry = entry - p.vaddr() + p.paddr();
                break;
            }
        }
        return new Loaded(start, top, entry);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
