/* Per-format boot information parsing: PVH start_info, multiboot v1 info, Linux boot_params. */
#include "guest.h"

static struct boot_info info;

static const char *cstr(u32 paddr)
{
    return paddr ? (const char *)paddr : "";
}

static void add_entry(u64 addr, u64 size, u32 type)
{
    if (info.nr_map < MAX_MAP) {
        info.map[info.nr_map].addr = addr;
        info.map[info.nr_map].size = size;
        info.map[info.nr_map].type = type;
        info.nr_map++;
    }
}

u32 usable_mib(const struct boot_info *bi)
{
    u64 total = 0;
    for (u32 i = 0; i < bi->nr_map; i++)
        if (bi->map[i].type == 1)
            total += bi->map[i].size;
    /*
     * Round up to whole MiB: firmware reserves a few hundred KiB (EBDA, BIOS tables at the top of
     * low RAM), so QEMU -m 128 reports 127.5 MiB usable; rounding up gives back the configured size.
     * Shifts avoid libgcc 64-bit division.
     */
    return (u32)((total + (1u << 20) - 1) >> 20);
}

/* --- PVH: struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) --- */
#define HVM_START_MAGIC 0x336ec578
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR 32
#define SI_MEMMAP_PADDR 40
#define SI_MEMMAP_ENTRIES 48
#define MEMMAP_ENTRY_SIZE 24 /* u64 addr, u64 size, u32 type, u32 reserved */

void pvh_entry(u32 si)
{
    serial_init();
    info.kind = "pvh";
    if (*(u32 *)(si + SI_MAGIC) != HVM_START_MAGIC) {
        putln("jvmm-tiny: bad hvm_start_info magic");
        putln("jvmm-tiny: FAILED");
        exit_qemu(EXIT_FAIL);
    }
    info.cmdline = cstr(*(u32 *)(si + SI_CMDLINE_PADDR));
    info.rsdp_addr = *(u32 *)(si + SI_RSDP_PADDR);
    if (*(u32 *)(si + SI_VERSION) >= 1) {
        u32 map = *(u32 *)(si + SI_MEMMAP_PADDR);
        u32 n = *(u32 *)(si + SI_MEMMAP_ENTRIES);
        for (u32 i = 0; map && i < n; i++) {
            u32 e = map + i * MEMMAP_ENTRY_SIZE;
            add_entry(*(u64 *)e, *(u64 *)(e + 8), *(u32 *)(e + 16));
        }
    }
    guest_main(&info);
}

/* --- Multiboot v1 info structure (Multiboot Specification 0.6.96, section 3.3) --- */
#define MB_BOOTLOADER_MAGIC 0x2BADB002
#define MB_INFO_FLAGS 0
#define MB_INFO_MEM_LOWER 4
#define MB_INFO_MEM_UPPER 8
#define MB_INFO_CMDLINE 16
#define MB_INFO_MMAP_LENGTH 44
#define MB_INFO_MMAP_ADDR 48
#define MB_FLAG_MEM (1u << 0)
#define MB_FLAG_CMDLINE (1u << 2)
#define MB_FLAG_MMAP (1u << 6)

void mb_entry(u32 magic, u32 mbi)
{
    serial_init();
    info.kind = "multiboot";
    if (magic != MB_BOOTLOADER_MAGIC) {
        putln("jvmm-tiny: bad multiboot magic");
        putln("jvmm-tiny: FAILED");
        exit_qemu(EXIT_FAIL);
    }
    u32 flags = *(u32 *)(mbi + MB_INFO_FLAGS);
    info.cmdline = (flags & MB_FLAG_CMDLINE) ? cstr(*(u32 *)(mbi + MB_INFO_CMDLINE)) : "";
    /* QEMU (like GRUB) passes "<kernel path> <append>"; drop the path so output is host-independent. */
    while (*info.cmdline && *info.cmdline != ' ')
        info.cmdline++;
    if (*info.cmdline == ' ')
        info.cmdline++;
    if (flags & MB_FLAG_MMAP) {
        u32 p = *(u32 *)(mbi + MB_INFO_MMAP_ADDR);
        u32 end = p + *(u32 *)(mbi + MB_INFO_MMAP_LENGTH);
        /* Each entry starts with its size, which excludes the size field itself. */
        while (p < end) {
            u32 size = *(u32 *)p;
            add_entry(*(u64 *)(p + 4), *(u64 *)(p + 12), *(u32 *)(p + 20));
            p += size + 4;
        }
    } else if (flags & MB_FLAG_MEM) {
        add_entry(0, (u64)*(u32 *)(mbi + MB_INFO_MEM_LOWER) << 10, 1);
        add_entry(0x100000, (u64)*(u32 *)(mbi + MB_INFO_MEM_UPPER) << 10, 1);
    }
    guest_main(&info);
}

/* --- Linux boot_params (Documentation/arch/x86/zero-page.rst, boot.rst) --- */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR_RAMDISK_IMAGE 0x218
#define BP_HDR_RAMDISK_SIZE 0x21c
#define BP_HDR_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define E820_ENTRY_SIZE 20 /* u64 addr, u64 size, u32 type (packed) */
#define E820_MAX_ENTRIES_ZEROPAGE 128

void linux_entry(u32 bp)
{
    serial_init();
    info.kind = "linux";
    info.cmdline = cstr(*(u32 *)(bp + BP_HDR_CMD_LINE_PTR));
    u32 n = *(u8 *)(bp + BP_E820_ENTRIES);
    if (n > E820_MAX_ENTRIES_ZEROPAGE)
        n = E820_MAX_ENTRIES_ZEROPAGE;
    for (u32 i = 0; i < n; i++) {
        u32 e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
        add_entry(*(u64 *)e, *(u64 *)(e + 8), *(u32 *)(e + 16));
    }
    info.initrd_addr = *(u32 *)(bp + BP_HDR_RAMDISK_IMAGE);
    info.initrd_size = *(u32 *)(bp + BP_HDR_RAMDISK_SIZE);
    info.rsdp_addr = *(u32 *)(bp + BP_ACPI_RSDP_ADDR);
    guest_main(&info);
}
