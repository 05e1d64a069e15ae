package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

import java.util.List;

/**
 * Xen PVH direct boot of an ELF kernel (xen/include/public/arch-x86/hvm/start_info.h): the kernel names its
 * 32-bit entry in a "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY and gets EBX = hvm_start_info.
 */
final class PvhLoader {
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    static final int XEN_HVM_START_MAGIC_VALUE = 0x336ec578;
    static final int START_INFO_VERSION = 1;
    static final long START_INFO_ADDR = 0x6000;
    static final long MODLIST_ADDR = 0x6040;
    static final int START_INFO_RSDP_PADDR = 32;
    static final long MEMMAP_ADDR = 0x6080;
    static final int MEMMAP_ENTRY_SIZE = 24;
    static final int MAX_MEMMAP_ENTRIES = 64;

    private PvhLoader() {
    }

    /** The PVH entry from the note, or null when the ELF has none. */
    static Long entryPoint(Image img, ElfImage elf) {
        byte[] d = elf.findNote(img, "Xen", XEN_ELFNOTE_PHYS32_ENTRY);
        if (d == null) {
            return null;
        }
        if (d.length < 4) {
            throw new ImageError("PVH entry note is too short");
        }
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v |= (d[i] & 0xffL) << (8 * i);
        }
        return v;
    }

    static BootEntry load(Image img, ElfImage elf, long entry, GuestMemory mem, MemoryLayout layout,
                          KernelLoader.Request req) {
        long top = elf.loadSegments(img, mem);
        Image.checkRam(mem, START_INFO_ADDR, 0x1000, "hvm_start_info");
        mem.zero(START_INFO_ADDR, 0x1000);
        Image.writeCString(mem, KernelLoader.CMDLINE_ADDR, req.cmdline());

        List<E820Entry> map = layout.e820();
        int n = Math.min(map.size(), MAX_MEMMAP_ENTRIES);
        for (int i = 0; i < n; i++) {
            long o = MEMMAP_ADDR + (long) i * MEMMAP_ENTRY_SIZE;
            mem.writeLong(o, map.get(i).address());
            mem.writeLong(o + 8, map.get(i).size());
            mem.writeInt(o + 16, map.get(i).type());
            mem.writeInt(o + 20, 0);
        }
        int modules = 0;
        if (req.initrd() != null) {
            long addr;
            try {
                addr = KernelLoader.placeInitrd(mem, req.initrd(), layout.lowRamEnd(), top);
            } catch (ImageError e) {
                throw new ImageError("initrd '" + req.initrdName() + "': " + e.getMessage());
            }
            mem.writeLong(MODLIST_ADDR, addr);
            mem.writeLong(MODLIST_ADDR + 8, req.initrd().length);
            mem.writeLong(MODLIST_ADDR + 16, 0);
            mem.writeLong(MODLIST_ADDR + 24, 0);
            modules = 1;
        }
        long s = START_INFO_ADDR;
        mem.writeInt(s, XEN_HVM_START_MAGIC_VALUE);
        mem.writeInt(s + 4, START_INFO_VERSION);
        mem.writeInt(s + 8, 0);
        mem.writeInt(s + 12, modules);
        mem.writeLong(s + 16, modules > 0 ? MODLIST_ADDR : 0);
        mem.writeLong(s + 24, KernelLoader.CMDLINE_ADDR);
        mem.writeLong(s + START_INFO_RSDP_PADDR, 0); // set by KernelLoader.setRsdp once ACPI tables exist
        mem.writeLong(s + 40, MEMMAP_ADDR);
        mem.writeInt(s + 48, n);
        return new BootEntry(BootEntry.Format.PVH, entry, 0, (int) START_INFO_ADDR, 0);
    }
}
