/*
 * The low multiboot guest: a multiboot v1 kernel linked at 0x8000 whose image covers the 0x9000 page.
 * It checks that its own text arrived intact (against a checksum taken at build time), finds its module
 * by scanning the pages after its image, and reads the multiboot information where the loader put it
 * (Multiboot Specification 0.6.96, section 3.3). QEMU 7.2 keeps its information at 0x9500 and then loads
 * the kernel over it, so there the information is part of the image; that case is reported, not failed.
 */
#include "../src/guest.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_FLAGS 0
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_SIZE 88
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MODS (1u << 3)
#define MBI_FLAG_MMAP (1u << 6)
#define MOD_START 0
#define MOD_END 4
#define MOD_STRING 8

/* The module the test writes: "JVMMMOD1", payload length, payload checksum, payload. */
#define MODULE_MAGIC_LO 0x4d4d564a /* "JVMM" */
#define MODULE_MAGIC_HI 0x31444f4d /* "MOD1" */
#define MODULE_HEADER 16
#define PAGE 4096u
#define LOW_SCAN_END 0x9f000u
#define HIGH_SCAN_START 0x100000u
#define HIGH_SCAN_END 0x8000000u

extern const u32 __text_start[], __text_end[], text_sum_expected;
extern const u8 __image_end[];

static int failed;

static u32 checksum(const u32 *p, u32 words)
{
    u32 s = 0;
    for (u32 i = 0; i < words; i++)
        s = ((s << 5) | (s >> 27)) ^ p[i];
    return s;
}

static void bad(const char *what)
{
    puts("lowmb: ");
    putln(what);
    failed = 1;
}

/* The text after the first space: the loader puts a file name first on both command lines. */
static const char *after_name(const char *s)
{
    while (*s && *s != ' ')
        s++;
    return *s == ' ' ? s + 1 : s;
}

static int is_module(u32 addr)
{
    const u32 *p = (const u32 *)addr;
    return p[0] == MODULE_MAGIC_LO && p[1] == MODULE_MAGIC_HI;
}

static u32 find_module(void)
{
    u32 a = ((u32)__image_end + PAGE - 1) & ~(PAGE - 1);
    for (; a < LOW_SCAN_END; a += PAGE)
        if (is_module(a))
            return a;
    for (a = HIGH_SCAN_START; a < HIGH_SCAN_END; a += PAGE)
        if (is_module(a))
            return a;
    return 0;
}

static int overlaps(u32 a, u32 len, u32 b, u32 blen)
{
    return a < b + blen && b < a + len;
}

static void check_mbi(u32 mbi, u32 module, u32 module_size)
{
    u32 image = (u32)__text_start;
    u32 image_len = (u32)__image_end - image;
    if (overlaps(mbi, MBI_SIZE, image, image_len)) {
        puts("lowmb: mbi inside the kernel image at ");
        put_hex(mbi);
        putln("");
        return;
    }
    if (module && overlaps(mbi, MBI_SIZE, module, module_size))
        return bad("mbi overlaps the module");
    u32 flags = *(u32 *)(mbi + MBI_FLAGS);
    u32 want = MBI_FLAG_CMDLINE | MBI_FLAG_MODS | MBI_FLAG_MMAP;
    if ((flags & want) != want)
        return bad("mbi flags lack cmdline, mods or mmap");
    if (*(u32 *)(mbi + MBI_MODS_COUNT) != 1)
        return bad("mbi mods_count is not 1");
    u32 mod = *(u32 *)(mbi + MBI_MODS_ADDR);
    if (*(u32 *)(mod + MOD_START) != module || *(u32 *)(mod + MOD_END) != module + module_size)
        return bad("mbi module range differs from the module found");
    u32 mmap = *(u32 *)(mbi + MBI_MMAP_ADDR);
    u32 mmap_len = *(u32 *)(mbi + MBI_MMAP_LENGTH);
    if (mmap_len < 24 || overlaps(mmap, mmap_len, image, image_len) || overlaps(mmap, mmap_len, module, module_size))
        return bad("mbi memory map missing or overlapping");
    puts("lowmb: mbi cmdline \"");
    puts(after_name((const char *)*(u32 *)(mbi + MBI_CMDLINE)));
    puts("\" module \"");
    puts(after_name((const char *)*(u32 *)(mod + MOD_STRING)));
    putln("\"");
}

void mb_entry(u32 magic, u32 mbi)
{
    serial_init();
    if (magic != MB_BOOTLOADER_MAGIC)
        bad("bad multiboot magic");
    u32 words = (u32)(__text_end - __text_start);
    puts("lowmb: text ");
    put_hex((u32)__text_start);
    putc('-');
    put_hex((u32)__text_end);
    putln(checksum(__text_start, words) == text_sum_expected ? " ok" : " CORRUPTED");
    if (checksum(__text_start, words) != text_sum_expected)
        failed = 1;
    u32 module = find_module();
    u32 module_size = 0;
    if (!module) {
        bad("no module");
    } else {
        const u32 *m = (const u32 *)module;
        module_size = MODULE_HEADER + m[2];
        puts("lowmb: module at ");
        put_hex(module);
        puts(", ");
        put_dec(m[2]);
        putln(checksum(m + 4, m[2] / 4) == m[3] ? " bytes ok" : " bytes CORRUPTED");
        if (checksum(m + 4, m[2] / 4) != m[3])
            failed = 1;
    }
    check_mbi(mbi, module, module_size);
    putln(failed ? "lowmb: FAILED" : "lowmb: passed");
    exit_qemu(failed ? EXIT_FAIL : EXIT_PASS);
}
