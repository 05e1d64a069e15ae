package dev.jvmm.kvm.boot;

import java.util.ArrayList;
import java.util.List;

/** The parts of an ELF file (System V gABI, "ELF Header" and "Program Header") the loaders use. */
final class ElfImage {
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int ELFCLASS32 = 1;
    static final int ELFCLASS64 = 2;
    static final int ELFDATA2LSB = 1;
    static final int EM_386 = 3;
    static final int EM_X86_64 = 62;

    record Phdr(int type, long offset, long vaddr, long paddr, long filesz, long memsz) {
    }

    final boolean is64;
    final long entry;
    final List<Phdr> phdrs;

    private ElfImage(boolean is64, long entry, List<Phdr> phdrs) {
        this.is64 = is64;
        this.entry = entry;
        this.phdrs = phdrs;
    }

    static boolean isElf(Image img) {
        return img.length() >= 4 && img.data[0] == 0x7f && img.data[1] == 'E' && img.data[2] == 'L'
                && img.data[3] == 'F';
    }

    static ElfImage parse(Image img) {
        img.need(0, 52, "ELF header");
        int cls = img.u8(4);
        if (cls != ELFCLASS32 && cls != ELFCLASS64) {
            throw new ImageError("bad ELF class " + cls);
        }
        if (img.u8(5) != ELFDATA2LSB) {
            throw new ImageError("ELF image is not little-endian");
        }
        boolean is64 = cls == ELFCLASS64;
        int machine = img.u16(18);
        if (machine != EM_386 && machine != EM_X86_64) {
            throw new ImageError("ELF image is not for x86 (e_machine " + machine + ")");
        }
        long entry;
        long phoff;
        int phentsize;
        int phnum;
        if (is64) {
            img.need(0, 64, "ELF64 header");
            entry = img.u64(24);
            phoff = img.u64(32);
            phentsize = img.u16(54);
            phnum = img.u16(56);
        } else {
            entry = img.u32(24);
            phoff = img.u32(28);
            phentsize = img.u16(42);
            phnum = img.u16(44);
        }
        int minEnt = is64 ? 56 : 32;
        if (phnum > 0 && phentsize < minEnt) {
            throw new ImageError("bad ELF program header size " + phentsize);
        }
        img.need(phoff, (long) phnum * phentsize, "ELF program headers");
        List<Phdr> ph = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            long o = phoff + (long) i * phentsize;
            if (is64) {
                ph.add(new Phdr((int) img.u32(o), img.u64(o + 8), img.u64(o + 16), img.u64(o + 24), img.u64(o + 32),
                        img.u64(o + 40)));
            } else {
                ph.add(new Phdr((int) img.u32(o), img.u32(o + 4), img.u32(o + 8), img.u32(o + 12), img.u32(o + 16),
                        img.u32(o + 20)));
            }
        }
        return new ElfImage(is64, entry, List.copyOf(ph));
    }

    /** The descriptor of the first note with this name and type in any PT_NOTE segment, or null. */
    byte[] findNote(Image img, String name, int type) {
        for (Phdr p : phdrs) {
            if (p.type() != PT_NOTE) {
                continue;
            }
            img.need(p.offset(), p.filesz(), "ELF note segment");
            long o = p.offset();
            long end = p.offset() + p.filesz();
            while (o + 12 <= end) {
                long namesz = img.u32(o);
                long descsz = img.u32(o + 4);
                long ntype = img.u32(o + 8);
                long nameOff = o + 12;
                long descOff = nameOff + align4(namesz);
                long next = descOff + align4(descsz);
                if (next > end) {
                    throw new ImageError("ELF note runs past its segment");
                }
                if (ntype == type && namesz == name.length() + 1) {
                    boolean match = true;
                    for (int i = 0; i < name.length(); i++) {
                        if (img.u8(nameOff + i) != name.charAt(i)) {
                            match = false;
                        }
                    }
                    if (match) {
                        byte[] d = new byte[(int) descsz];
                        System.arraycopy(img.data, (int) descOff, d, 0, d.length);
                        return d;
                    }
                }
                o = next;
            }
        }
        return null;
    }

    private static long align4(long v) {
        return (v + 3) & ~3L;
    }

    /**
     * Loads every PT_LOAD segment at its physical address; returns the highest end address. Segments that
     * overlap each other are refused, as QEMU refuses overlapping ROM regions, before anything is written.
     */
    long loadSegments(Image img, dev.jvmm.core.memory.GuestMemory mem) {
        List<Phdr> loads = phdrs.stream().filter(p -> p.type() == PT_LOAD && p.memsz() != 0).toList();
        for (int i = 0; i < loads.size(); i++) {
            Phdr a = loads.get(i);
            if (a.filesz() > a.memsz()) {
                throw new ImageError("ELF segment has p_filesz > p_memsz");
            }
            if (Long.compareUnsigned(a.paddr() + a.memsz(), a.paddr()) < 0) {
                throw new ImageError(String.format("ELF segment at 0x%x wraps around the address space", a.paddr()));
            }
            for (Phdr b : loads.subList(0, i)) {
                if (a.paddr() < b.paddr() + b.memsz() && b.paddr() < a.paddr() + a.memsz()) {
                    throw new ImageError(String.format("ELF segments at 0x%x (0x%x bytes) and 0x%x (0x%x bytes)"
                            + " overlap", b.paddr(), b.memsz(), a.paddr(), a.memsz()));
                }
            }
        }
        long top = 0;
        boolean any = false;
        for (Phdr p : loads) {
            any = true;
            String what = String.format("ELF segment at 0x%x", p.paddr());
            Image.checkRam(mem, p.paddr(), p.memsz(), what);
            img.copyTo(mem, p.offset(), p.filesz(), p.paddr(), what);
            if (p.memsz() > p.filesz()) {
                mem.zero(p.paddr() + p.filesz(), p.memsz() - p.filesz());
            }
            top = Math.max(top, p.paddr() + p.memsz());
        }
        if (!any) {
            throw new ImageError("ELF image has no loadable segments");
        }
        return top;
    }
}
