package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.GuestMemoryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * -kernel handed to the firmware, as QEMU 7.2 does it for the pc machine (hw/i386/x86.c x86_load_linux and
 * load_elfboot, hw/i386/multiboot.c load_multiboot): the fw_cfg items an option ROM reads to load and enter the
 * kernel, and the name of that ROM ("linuxboot_dma.bin", "pvh.bin", "multiboot_dma.bin"; jvmm's fw_cfg has
 * DMA, so QEMU picks the DMA variants). A PVH ELF is the one format whose bytes do not travel through fw_cfg:
 * QEMU loads its segments into RAM as ROM blobs (again on every reset) and pvh.bin only jumps to the entry, so
 * {@link #loadIntoRam} does that part.
 *
 * @param items     the legacy fw_cfg items by key (QEMU's FW_CFG_* numbers), in the order QEMU adds them
 * @param optionRom the option ROM's file name, which goes into fw_cfg as "genroms/NAME" with bootindex 0
 * @param pvhElf    the PVH image to load into RAM, or null for the other formats
 */
public record FirmwareKernel(Map<Integer, byte[]> items, String optionRom, byte[] pvhElf) {
    // QEMU's fw_cfg keys (include/standard-headers/linux/qemu_fw_cfg.h); vmm-kvm does not see vmm-devices.
    public static final int FW_CFG_KERNEL_ADDR = 0x07;
    public static final int FW_CFG_KERNEL_SIZE = 0x08;
    public static final int FW_CFG_INITRD_ADDR = 0x0a;
    public static final int FW_CFG_INITRD_SIZE = 0x0b;
    public static final int FW_CFG_KERNEL_ENTRY = 0x10;
    public static final int FW_CFG_KERNEL_DATA = 0x11;
    public static final int FW_CFG_INITRD_DATA = 0x12;
    public static final int FW_CFG_CMDLINE_ADDR = 0x13;
    public static final int FW_CFG_CMDLINE_SIZE = 0x14;
    public static final int FW_CFG_CMDLINE_DATA = 0x15;
    public static final int FW_CFG_SETUP_ADDR = 0x16;
    public static final int FW_CFG_SETUP_SIZE = 0x17;
    public static final int FW_CFG_SETUP_DATA = 0x18;

    public static final String LINUXBOOT_ROM = "linuxboot_dma.bin";
    public static final String PVH_ROM = "pvh.bin";
    public static final String MULTIBOOT_ROM = "multiboot_dma.bin";
    /** The option ROMs live in fw_cfg under this directory (hw/core/loader.c rom_add_option). */
    public static final String GENROMS_DIR = "genroms/";

    /** x86_load_linux reads this much of the file as "the header"; PVH hands all of it over as SETUP_DATA. */
    static final int HEADER_BYTES = 8192;
    /**
     * pc-i440fx-7.2's acpi_data_size: the room SeaBIOS keeps at the top of low RAM for the ACPI tables, which an
     * initrd must stay below (pc_piix.c: 0x20000 plus 0x8000 for the larger tables of newer machines).
     */
    static final long PC_ACPI_DATA_SIZE = 0x20000 + 0x8000;
    /** Linux boot protocol, "High and recent kernel": setup at 0x10000, the command line at 0x20000. */
    static final long REAL_MODE_ADDR = 0x10000;
    static final long PROTECTED_MODE_ADDR = 0x100000;
    /** type_of_loader: high nibble 0xB is QEMU's, revision 0. */
    static final int TYPE_OF_LOADER_QEMU = 0xb0;
    static final int CAN_USE_HEAP = 0x80;
    static final int OFF_VID_MODE = 0x1fa;
    static final int OFF_HEAP_END_PTR = 0x224;
    static final int OFF_XLOADFLAGS = 0x236;
    static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
    /** heap_end_ptr is relative to the setup code and leaves the 0x200 bytes QEMU reserves below the command line. */
    static final int HEAP_END_GAP = 0x200;
    /** Before protocol 2.03 the kernel gives no initrd_addr_max; this is the boot protocol's documented limit. */
    static final long OLD_INITRD_ADDR_MAX = 0x37ffffff;
    // vga= values (Documentation/arch/x86/boot.rst, vid_mode)
    static final int VGA_NORMAL = 0xffff;
    static final int VGA_EXTENDED = 0xfffe;
    static final int VGA_ASK = 0xfffd;
    /** multiboot.c: the multiboot information goes to ADDR_MBI, the option ROM's memory map to ADDR_E820_MAP. */
    static final int MULTIBOOT_MBI_ADDR = 0x9500;
    static final int MULTIBOOT_E820_MAP_ADDR = 0x9000;

    /**
     * The fw_cfg content for this kernel.
     *
     * @param belowFourGiB the machine's RAM below 4 GiB (QEMU's below_4g_mem_size)
     * @throws KernelLoadException for what QEMU refuses, in its words where it has them
     */
    public static FirmwareKernel of(KernelLoader.Request req, long belowFourGiB) {
        try {
            Image img = new Image(req.kernel());
            return switch (KernelLoader.detect(img)) {
                case BZIMAGE -> linux(img, req, belowFourGiB);
                case PVH -> pvh(img, req, belowFourGiB);
                case MULTIBOOT -> multiboot(img, MultibootLoader.findHeader(img), req);
            };
        } catch (ImageError e) {
            throw new KernelLoadException("could not load kernel '" + req.kernelName() + "': " + e.getMessage());
        }
    }

    /** QEMU's text when the option ROM cannot be read; QEMU prints it and boots on without the ROM. */
    public static String missingRomMessage(String name) {
        return "Could not open option rom '" + name + "': No such file or directory";
    }

    /** The PVH kernel's segments into RAM, as QEMU's ROM blobs are written at every reset; no-op otherwise. */
    public void loadIntoRam(GuestMemory mem) {
        if (pvhElf == null) {
            return;
        }
        Image img = new Image(pvhElf);
        try {
            ElfImage.parse(img).loadSegments(img, mem);
        } catch (ImageError | GuestMemoryException e) {
            throw new KernelLoadException("could not load kernel: " + e.getMessage());
        }
    }

    private static FirmwareKernel linux(Image img, KernelLoader.Request req, long belowFourGiB) {
        byte[] file = req.kernel();
        int protocol = img.u16(BzImageLoader.OFF_VERSION);
        // QEMU also boots older and low-loaded kernels at other addresses; jvmm's loaders need protocol 2.06.
        if (protocol < BzImageLoader.MIN_PROTOCOL || (img.u8(BzImageLoader.OFF_LOADFLAGS)
                & BzImageLoader.LOADED_HIGH) == 0) {
            throw new ImageError(String.format("Linux boot protocol %d.%02d without LOADED_HIGH is not supported",
                    protocol >> 8, protocol & 0xff));
        }
        int setupSects = img.u8(BzImageLoader.OFF_SETUP_SECTS);
        int setupSize = ((setupSects == 0 ? 4 : setupSects) + 1) * 512;
        if (setupSize > file.length) {
            throw new ImageError("invalid kernel header"); // QEMU's words
        }
        // QEMU patches an 8 KiB copy of the file's start, then copies it over the setup code.
        ByteBuffer setup = ByteBuffer.wrap(Arrays.copyOf(file, setupSize)).order(ByteOrder.LITTLE_ENDIAN);

        long initrdMax;
        if (protocol >= 0x20c && (img.u16(OFF_XLOADFLAGS) & XLF_CAN_BE_LOADED_ABOVE_4G) != 0) {
            initrdMax = 0xffffffffL;
        } else if (protocol >= 0x203) {
            initrdMax = img.u32(BzImageLoader.OFF_INITRD_ADDR_MAX);
        } else {
            initrdMax = OLD_INITRD_ADDR_MAX;
        }
        if (initrdMax >= belowFourGiB - PC_ACPI_DATA_SIZE) {
            initrdMax = belowFourGiB - PC_ACPI_DATA_SIZE - 1;
        }

        Map<Integer, byte[]> items = new LinkedHashMap<>();
        long cmdlineAddr = KernelLoader.CMDLINE_ADDR;
        items.put(FW_CFG_CMDLINE_ADDR, u32(cmdlineAddr));
        byte[] cmdline = cString(req.cmdline());
        items.put(FW_CFG_CMDLINE_SIZE, u32(cmdline.length));
        items.put(FW_CFG_CMDLINE_DATA, cmdline);
        setup.putInt(BzImageLoader.OFF_CMD_LINE_PTR, (int) cmdlineAddr);
        Integer vga = vgaMode(req.cmdline());
        if (vga != null) {
            setup.putShort(OFF_VID_MODE, vga.shortValue());
        }
        setup.put(BzImageLoader.OFF_TYPE_OF_LOADER, (byte) TYPE_OF_LOADER_QEMU);
        setup.put(BzImageLoader.OFF_LOADFLAGS, (byte) (img.u8(BzImageLoader.OFF_LOADFLAGS) | CAN_USE_HEAP));
        setup.putShort(OFF_HEAP_END_PTR, (short) (cmdlineAddr - REAL_MODE_ADDR - HEAP_END_GAP));

        if (req.initrd() != null) {
            long size = req.initrd().length;
            if (size >= initrdMax) {
                throw new ImageError(String.format("initrd is too large, cannot support.(max: %d, need %d)",
                        initrdMax, size));
            }
            long addr = (initrdMax - size) & ~0xfffL;
            items.put(FW_CFG_INITRD_ADDR, u32(addr));
            items.put(FW_CFG_INITRD_SIZE, u32(size));
            items.put(FW_CFG_INITRD_DATA, req.initrd());
            setup.putInt(BzImageLoader.OFF_RAMDISK_IMAGE, (int) addr);
            setup.putInt(BzImageLoader.OFF_RAMDISK_SIZE, (int) size);
        }
        byte[] kernel = Arrays.copyOfRange(file, setupSize, file.length);
        items.put(FW_CFG_KERNEL_ADDR, u32(PROTECTED_MODE_ADDR));
        items.put(FW_CFG_KERNEL_SIZE, u32(kernel.length));
        items.put(FW_CFG_KERNEL_DATA, kernel);
        items.put(FW_CFG_SETUP_ADDR, u32(REAL_MODE_ADDR));
        items.put(FW_CFG_SETUP_SIZE, u32(setupSize));
        items.put(FW_CFG_SETUP_DATA, setup.array());
        return new FirmwareKernel(items, LINUXBOOT_ROM, null);
    }

    /** x86_load_linux's "vga=" handling: normal, ext, ask or a number in C's base-0 syntax; null without one. */
    static Integer vgaMode(String cmdline) {
        int at = cmdline.indexOf("vga=");
        if (at < 0) {
            return null;
        }
        String v = cmdline.substring(at + 4);
        if (v.startsWith("normal")) {
            return VGA_NORMAL;
        }
        if (v.startsWith("ext")) {
            return VGA_EXTENDED;
        }
        if (v.startsWith("ask")) {
            return VGA_ASK;
        }
        return (int) strtol(v) & 0xffff;
    }

    /** C's strtol(s, NULL, 0) on the leading number; 0 where there is none. */
    private static long strtol(String s) {
        int i = 0;
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) {
            neg = s.charAt(i++) == '-';
        }
        int base = 10;
        if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
            base = 16;
            i += 2;
        } else if (s.startsWith("0", i)) {
            base = 8;
        }
        long v = 0;
        for (; i < s.length() && Character.digit(s.charAt(i), base) >= 0; i++) {
            v = v * base + Character.digit(s.charAt(i), base);
        }
        return neg ? -v : v;
    }

    private static FirmwareKernel pvh(Image img, KernelLoader.Request req, long belowFourGiB) {
        ElfImage elf = ElfImage.parse(img);
        long entry = PvhLoader.entryPoint(img, elf);
        long low = Long.MAX_VALUE;
        long high = 0;
        for (ElfImage.Phdr p : elf.phdrs) {
            if (p.type() == ElfImage.PT_LOAD && p.memsz() != 0) {
                low = Math.min(low, p.paddr());
                high = Math.max(high, p.paddr() + p.memsz());
            }
        }
        if (high == 0) {
            throw new ImageError("ELF image has no loadable segments");
        }
        Map<Integer, byte[]> items = new LinkedHashMap<>();
        items.put(FW_CFG_KERNEL_ENTRY, u32(entry));
        items.put(FW_CFG_KERNEL_ADDR, u32(low));
        items.put(FW_CFG_KERNEL_SIZE, u32(high - low));
        byte[] cmdline = cString(req.cmdline());
        items.put(FW_CFG_CMDLINE_SIZE, u32(cmdline.length));
        items.put(FW_CFG_CMDLINE_DATA, cmdline);
        // QEMU hands over its whole 8 KiB header buffer; a shorter file leaves the rest unset, zero here.
        items.put(FW_CFG_SETUP_SIZE, u32(HEADER_BYTES));
        items.put(FW_CFG_SETUP_DATA, Arrays.copyOf(req.kernel(), HEADER_BYTES));
        if (req.initrd() != null) {
            long max = belowFourGiB - PC_ACPI_DATA_SIZE - 1;
            long size = req.initrd().length;
            if (size >= max) {
                throw new ImageError(String.format("initrd is too large, cannot support.(max: %d, need %d)",
                        max, size));
            }
            items.put(FW_CFG_INITRD_ADDR, u32((max - size) & ~0xfffL));
            items.put(FW_CFG_INITRD_SIZE, u32(size));
            items.put(FW_CFG_INITRD_DATA, req.initrd());
        }
        return new FirmwareKernel(items, PVH_ROM, req.kernel());
    }

    private static FirmwareKernel multiboot(Image img, int h, KernelLoader.Request req) {
        long flags = img.u32(h + 4);
        long loadAddr;
        long entry;
        byte[] image;
        if ((flags & MultibootLoader.MULTIBOOT_AOUT_KLUDGE) != 0) {
            img.need(h, 32, "multiboot address fields");
            long headerAddr = img.u32(h + 12);
            loadAddr = img.u32(h + 16);
            long loadEnd = img.u32(h + 20);
            long bssEnd = img.u32(h + 24);
            entry = img.u32(h + 28);
            long fileOff = h - (headerAddr - loadAddr);
            if (headerAddr < loadAddr || fileOff < 0) {
                throw new ImageError("invalid mh_load_addr address"); // QEMU's words
            }
            long loadSize = loadEnd == 0 ? img.length() - fileOff : loadEnd - loadAddr;
            if (loadSize < 0) {
                throw new ImageError("invalid mh_load_end_addr address");
            }
            img.need(fileOff, loadSize, "multiboot kernel");
            long kernelSize = bssEnd == 0 ? loadSize : bssEnd - loadAddr;
            if (kernelSize < loadSize) {
                throw new ImageError("invalid mh_bss_end_addr address");
            }
            image = new byte[(int) kernelSize];
            System.arraycopy(req.kernel(), (int) fileOff, image, 0, (int) loadSize);
        } else {
            if (!ElfImage.isElf(img)) {
                throw new ImageError("multiboot image is neither ELF nor has the address fields (flag 16)");
            }
            ElfImage elf = ElfImage.parse(img);
            if (elf.is64) {
                throw new ImageError("Cannot load x86-64 image, give a 32bit one.");
            }
            // QEMU copies the loaded segments back out of its ROM blobs: [lowest, highest) with bss zeroed.
            loadAddr = Long.MAX_VALUE;
            long high = 0;
            for (ElfImage.Phdr p : elf.phdrs) {
                if (p.type() == ElfImage.PT_LOAD && p.memsz() != 0) {
                    loadAddr = Math.min(loadAddr, p.paddr());
                    high = Math.max(high, p.paddr() + p.memsz());
                }
            }
            if (high == 0) {
                throw new ImageError("ELF image has no loadable segments");
            }
            image = new byte[(int) (high - loadAddr)];
            for (ElfImage.Phdr p : elf.phdrs) {
                if (p.type() == ElfImage.PT_LOAD && p.memsz() != 0) {
                    img.need(p.offset(), p.filesz(), "ELF segment");
                    System.arraycopy(req.kernel(), (int) p.offset(), image, (int) (p.paddr() - loadAddr),
                            (int) p.filesz());
                }
            }
            entry = elf.entry; // QEMU passes e_entry on as it is
        }

        // The same placement as the direct loader: module list, strings, boot loader name, then the modules.
        List<MultibootModule> modules = req.modules();
        byte[] kernelLine = cString(req.kernelName() + " " + req.cmdline());
        long stringBytes = utf8(req.kernelName()).length + 1 + utf8(req.cmdline()).length + 1;
        if (!modules.isEmpty()) {
            stringBytes += utf8(req.initrdName() == null ? "" : req.initrdName()).length + 1;
        }
        long imageEnd = loadAddr + image.length;
        MultibootLayout l = MultibootLayout.plan(loadAddr, imageEnd, stringBytes,
                modules.stream().map(m -> m.data().length).toList(), 0, Long.MAX_VALUE);
        long bufEnd = modules.isEmpty() ? loadAddr + MultibootLayout.pageAlign(l.bootLoaderNameAddr() - loadAddr
                + MultibootLayout.BOOT_LOADER_NAME.length() + 1)
                : MultibootLayout.pageAlign(l.moduleAddrs().get(modules.size() - 1)
                + modules.get(modules.size() - 1).data().length);
        ByteBuffer buf = ByteBuffer.allocate((int) (bufEnd - loadAddr)).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(image);
        long str = l.stringsAddr();
        for (int i = 0; i < modules.size(); i++) {
            MultibootModule m = modules.get(i);
            long addr = l.moduleAddrs().get(i);
            buf.put((int) (addr - loadAddr), m.data());
            int entryAt = (int) (l.modsAddr() - loadAddr) + MultibootLayout.MOD_SIZE * i;
            buf.putInt(entryAt + MultibootLoader.MOD_START, (int) addr);
            buf.putInt(entryAt + MultibootLoader.MOD_END, (int) (addr + m.data().length));
            buf.putInt(entryAt + MultibootLoader.MOD_STRING, (int) str);
            byte[] s = cString(m.string());
            buf.put((int) (str - loadAddr), s);
            str += s.length;
        }
        long cmdlineAddr = str;
        buf.put((int) (cmdlineAddr - loadAddr), kernelLine);
        buf.put((int) (l.bootLoaderNameAddr() - loadAddr), cString(MultibootLayout.BOOT_LOADER_NAME));

        // The option ROM fills in the memory sizes and the memory map's length from the BIOS's e820.
        ByteBuffer mbi = ByteBuffer.allocate(MultibootLayout.MBI_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        mbi.putInt(MultibootLoader.MBI_FLAGS, MultibootLoader.MULTIBOOT_INFO_MEMORY
                | MultibootLoader.MULTIBOOT_INFO_BOOTDEV | MultibootLoader.MULTIBOOT_INFO_CMDLINE
                | MultibootLoader.MULTIBOOT_INFO_MODS | MultibootLoader.MULTIBOOT_INFO_MEM_MAP
                | MultibootLoader.MULTIBOOT_INFO_BOOT_LOADER_NAME);
        mbi.putInt(MultibootLoader.MBI_BOOT_DEVICE, MultibootLoader.QEMU_BOOT_DEVICE);
        mbi.putInt(MultibootLoader.MBI_CMDLINE, (int) cmdlineAddr);
        mbi.putInt(MultibootLoader.MBI_MODS_COUNT, modules.size());
        mbi.putInt(MultibootLoader.MBI_MODS_ADDR, (int) l.modsAddr());
        mbi.putInt(MultibootLoader.MBI_MMAP_ADDR, MULTIBOOT_E820_MAP_ADDR);
        mbi.putInt(MultibootLoader.MBI_BOOT_LOADER_NAME, (int) l.bootLoaderNameAddr());

        Map<Integer, byte[]> items = new LinkedHashMap<>();
        items.put(FW_CFG_KERNEL_ENTRY, u32(entry));
        items.put(FW_CFG_KERNEL_ADDR, u32(loadAddr));
        items.put(FW_CFG_KERNEL_SIZE, u32(buf.capacity()));
        items.put(FW_CFG_KERNEL_DATA, buf.array());
        items.put(FW_CFG_INITRD_ADDR, u32(MULTIBOOT_MBI_ADDR));
        items.put(FW_CFG_INITRD_SIZE, u32(MultibootLayout.MBI_SIZE));
        items.put(FW_CFG_INITRD_DATA, mbi.array());
        return new FirmwareKernel(items, MULTIBOOT_ROM, null);
    }

    private static byte[] u32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    private static byte[] cString(String s) {
        byte[] b = utf8(s);
        return Arrays.copyOf(b, b.length + 1);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
