package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit entry; protocol 2.06 or later. */
final class BzImageLoader {
    // Setup header fields, as offsets into the image and into boot_params ("zero page").
    static final int OFF_SETUP_SECTS = 0x1f1;
    /** Linux boot protocol, setup header: size of the protected-mode code in 16-byte paragraphs (2.04+). */
    static final int OFF_SYSSIZE = 0x1f4;
    static final int OFF_JUMP = 0x200;
    static final int OFF_HEADER = 0x202;
    static final int OFF_VERSION = 0x206;
    static final int OFF_TYPE_OF_LOADER = 0x210;
    static final int OFF_LOADFLAGS = 0x211;
    static final int OFF_CODE32_START = 0x214;
    static final int OFF_RAMDISK_IMAGE = 0x218;
    static final int OFF_RAMDISK_SIZE = 0x21c;
    static final int OFF_CMD_LINE_PTR = 0x228;
    static final int OFF_INITRD_ADDR_MAX = 0x22c;
    static final int OFF_CMDLINE_SIZE = 0x238;
    // boot_params fields outside the setup header (arch/x86/include/uapi/asm/bootparam.h).
    static final int BP_ACPI_RSDP_ADDR = 0x070;
    static final int BP_E820_ENTRIES = 0x1e8;
    static final int BP_E820_TABLE = 0x2d0;
    static final int E820_MAX_ENTRIES_ZEROPAGE = 128;
    static final int BOOT_PARAMS_SIZE = 4096;

    static final long HDRS_MAGIC = 0x53726448L; // "HdrS"
    static final int MIN_PROTOCOL = 0x0206;
    static final int LOADED_HIGH = 0x01;
    static final int TYPE_OF_LOADER_UNDEFINED = 0xff;
    static final long ZERO_PAGE_ADDR = 0x7000;
    static final long KERNEL_LOAD_ADDR = 0x100000;

    private BzImageLoader() {
    }

    static boolean matches(Image img) {
        return img.length() >= OFF_HEADER + 4 && img.u32(OFF_HEADER) == HDRS_MAGIC;
    }

    static BootEntry load(Image img, GuestMemory mem, MemoryLayout layout, KernelLoader.Request req) {
        int version = img.u16(OFF_VERSION);
        if (version < MIN_PROTOCOL) {
            throw new ImageError(String.format("Linux boot protocol %d.%02d is too old (need 2.06 or later)",
                    version >> 8, version & 0xff));
        }
        int headerEnd = OFF_HEADER + img.u8(OFF_JUMP + 1);
        img.need(0, headerEnd, "setup header");
        int loadflags = img.u8(OFF_LOADFLAGS);
        if ((loadflags & LOADED_HIGH) == 0) {
            throw new ImageError("zImage kernels (not LOADED_HIGH) are not supported");
        }
        int setupSects = img.u8(OFF_SETUP_SECTS);
        if (setupSects == 0) {
            setupSects = 4;
        }
        long setupSize = (setupSects + 1L) * 512;
        img.need(0, setupSize, "real-mode setup code");
        long payload = img.length() - setupSize;
        if (payload <= 0) {
            throw new ImageError("file is truncated (no protected-mode kernel after the setup code)");
        }
        // A kernel cut short would otherwise boot into whatever follows its last byte. syssize counts whole
        // paragraphs, so an unpadded image may end up to 15 bytes before it.
        long declared = (img.u32(OFF_SYSSIZE) & 0xffffffffL) * 16;
        if (payload + 15 < declared) {
            throw new ImageError(String.format("file is truncated (protected-mode kernel needs %d bytes, file has %d)",
                    declared, payload));
        }
        img.copyTo(mem, setupSize, payload, KERNEL_LOAD_ADDR, "kernel");

        // boot_params: zeroed, then the image's own setup header copied in, then our fields.
        Image.checkRam(mem, ZERO_PAGE_ADDR, BOOT_PARAMS_SIZE, "boot_params");
        mem.zero(ZERO_PAGE_ADDR, BOOT_PARAMS_SIZE);
        mem.write(ZERO_PAGE_ADDR + OFF_SETUP_SECTS, img.data, OFF_SETUP_SECTS, headerEnd - OFF_SETUP_SECTS);
        mem.writeByte(ZERO_PAGE_ADDR + OFF_TYPE_OF_LOADER, (byte) TYPE_OF_LOADER_UNDEFINED);
        mem.writeLong(ZERO_PAGE_ADDR + BP_ACPI_RSDP_ADDR, 0);

        long cmdlineSize = img.u32(OFF_CMDLINE_SIZE);
        byte[] cmd = req.cmdline().getBytes(StandardCharsets.UTF_8);
        if (cmd.length > cmdlineSize) {
            throw new ImageError("kernel command line is too long (" + cmd.length + " bytes, the kernel accepts "
                    + cmdlineSize + ")");
        }
        Image.writeCString(mem, KernelLoader.CMDLINE_ADDR, req.cmdline());
        mem.writeInt(ZERO_PAGE_ADDR + OFF_CMD_LINE_PTR, (int) KernelLoader.CMDLINE_ADDR);

        List<E820Entry> e820 = layout.e820();
        int n = Math.min(e820.size(), E820_MAX_ENTRIES_ZEROPAGE);
        mem.writeByte(ZERO_PAGE_ADDR + BP_E820_ENTRIES, (byte) n);
        for (int i = 0; i < n; i++) {
            long o = ZERO_PAGE_ADDR + BP_E820_TABLE + 20L * i;
            E820Entry e = e820.get(i);
            mem.writeLong(o, e.address());
            mem.writeLong(o + 8, e.size());
            mem.writeInt(o + 16, e.type());
        }

        if (req.initrd() != null) {
            long max = img.u32(OFF_INITRD_ADDR_MAX) + 1;
            long limit = Math.min(max, layout.lowRamEnd());
            long addr;
            try {
                addr = KernelLoader.placeInitrd(mem, req.initrd(), limit, KERNEL_LOAD_ADDR + payload);
            } catch (ImageError e) {
                throw new ImageError("initrd '" + req.initrdName() + "': " + e.getMessage());
            }
            mem.writeInt(ZERO_PAGE_ADDR + OFF_RAMDISK_IMAGE, (int) addr);
            mem.writeInt(ZERO_PAGE_ADDR + OFF_RAMDISK_SIZE, req.initrd().length);
        }
        long code32 = img.u32(OFF_CODE32_START);
        return new BootEntry(BootEntry.Format.BZIMAGE, code32, 0, 0, (int) ZERO_PAGE_ADDR);
    }
}
