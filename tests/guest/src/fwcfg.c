/*
 * action=fwcfg: what the guest reads from QEMU's fw_cfg device through the port interface (docs/specs/fw_cfg.txt
 * in QEMU: selector 0x510, 16-bit write; data 0x511, one byte per read, 0 past an item's end and for keys
 * without an item). DMA is not used. Every line is deterministic and free of guest addresses, so a VMM that
 * builds QEMU's items prints the same lines (FwCfgSideBySideTest compares them item by item).
 *
 *   fwcfg: signature <4 bytes hex>
 *   fwcfg: id <4 bytes hex>
 *   fwcfg: key XXXX bytes N hex <N bytes>          legacy keys 0x02-0x18, arch keys 0x8000-0x8004
 *   fwcfg: key XXXX bytes N crc32 XXXXXXXX          (items read as more than 128 bytes)
 *   fwcfg: files N
 *   fwcfg: file NAME size N sel XXXX crc32 XXXXXXXX [hex <bytes>]   hex for files up to 64 bytes and bootorder
 *   fwcfg: loader N allocate FILE align A zone Z     etc/table-loader's commands, decoded
 *   fwcfg: loader N add-pointer DEST SRC offset O size S
 *   fwcfg: loader N add-checksum FILE offset O start S length L
 *   fwcfg: loader N write-pointer DEST SRC offset O src-offset S size Z
 *   fwcfg: acpi-table SIG length N crc32 XXXXXXXX     etc/acpi/tables walked from offset 0 (no offsets printed)
 *   fwcfg: done
 *
 * Without the device (signature not "QEMU") it prints `fwcfg: no device` and fails (status 35).
 *
 * Legacy items carry no size, so each is read for a fixed length (32 bytes; NUMA (1 + max_cpus) * 8 as QEMU's
 * pc machine sizes it without -numa; E820_TABLE 324 = 4 + 16 * 20; HPET 121 = 1 + 8 * 15). CRC-32 is the
 * zlib one (reflected 0xedb88320, init and final xor 0xffffffff), table-driven to keep the emulated
 * instruction count low: etc/acpi/tables alone is 128 KiB, one PIO exit per byte.
 */
#include "guest.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_NUMA 0x0d
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_E820_TABLE 0x8003
#define FW_CFG_HPET 0x8004
#define FW_CFG_MAX_FILE 56
#define MAX_FILES 64
#define LEGACY_READ 32
#define HEX_LIMIT 128
#define FILE_HEX_LIMIT 64
/* Files are read whole into guest RAM at 16 MiB (the guest runs with -m 128); larger ones only get a CRC. */
#define FILE_BUF 0x1000000u
#define FILE_BUF_MAX 0x400000u
#define LOADER_ENTRY 128

struct fw_file {
    u32 size;
    u16 select;
    char name[FW_CFG_MAX_FILE + 1];
};

static struct fw_file files[MAX_FILES];
static u32 crc_table[256];

static void crc_init(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static u32 crc_update(u32 crc, u8 b)
{
    return crc_table[(crc ^ b) & 0xff] ^ (crc >> 8);
}

static void select_key(u16 key)
{
    outw(FW_CFG_PORT_SEL, key);
}

static void read_bytes(u8 *buf, u32 n)
{
    for (u32 i = 0; i < n; i++)
        buf[i] = inb(FW_CFG_PORT_DATA);
}

static void put_hex2(u8 v)
{
    static const char digits[] = "0123456789abcdef";
    putc(digits[v >> 4]);
    putc(digits[v & 0xf]);
}

static void put_hex_bytes(const u8 *b, u32 n)
{
    for (u32 i = 0; i < n; i++)
        put_hex2(b[i]);
}

static void put_hex4(u16 v)
{
    put_hex2((u8)(v >> 8));
    put_hex2((u8)v);
}

static void put_crc(u32 crc)
{
    put_hex2((u8)(crc >> 24));
    put_hex2((u8)(crc >> 16));
    put_hex2((u8)(crc >> 8));
    put_hex2((u8)crc);
}

static u32 crc_bytes(const u8 *b, u32 n)
{
    u32 c = 0xffffffffu;
    for (u32 i = 0; i < n; i++)
        c = crc_update(c, b[i]);
    return c ^ 0xffffffffu;
}

static u32 le32(const u8 *p)
{
    return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | (u32)p[3];
}

/* Prints a NUL-padded name of at most `max` bytes. */
static void put_name(const u8 *p, u32 max)
{
    for (u32 i = 0; i < max && p[i]; i++)
        putc((char)p[i]);
}

/* One item without a size: read `n` bytes, print them in hex (up to HEX_LIMIT) or their CRC. */
static void dump_key(u16 key, u32 n)
{
    static u8 buf[512];
    if (n > sizeof(buf))
        n = sizeof(buf);
    select_key(key);
    read_bytes(buf, n);
    puts("fwcfg: key ");
    put_hex4(key);
    puts(" bytes ");
    put_dec(n);
    if (n <= HEX_LIMIT) {
        puts(" hex ");
        put_hex_bytes(buf, n);
    } else {
        puts(" crc32 ");
        put_crc(crc_bytes(buf, n));
    }
    putc('\n');
}

static void decode_loader(const u8 *b, u32 size)
{
    for (u32 i = 0; i + LOADER_ENTRY <= size; i += LOADER_ENTRY) {
        const u8 *e = b + i;
        u32 cmd = le32(e);
        if (cmd == 0)
            break;
        puts("fwcfg: loader ");
        put_dec(i / LOADER_ENTRY);
        const u8 *a = e + 4;
        if (cmd == 1) {
            puts(" allocate ");
            put_name(a, FW_CFG_MAX_FILE);
            puts(" align ");
            put_hex_short(le32(a + 56));
            puts(" zone ");
            put_dec(a[60]);
        } else if (cmd == 2) {
            puts(" add-pointer ");
            put_name(a, FW_CFG_MAX_FILE);
            putc(' ');
            put_name(a + 56, FW_CFG_MAX_FILE);
            puts(" offset ");
            put_hex_short(le32(a + 112));
            puts(" size ");
            put_dec(a[116]);
        } else if (cmd == 3) {
            puts(" add-checksum ");
            put_name(a, FW_CFG_MAX_FILE);
            puts(" offset ");
            put_hex_short(le32(a + 56));
            puts(" start ");
            put_hex_short(le32(a + 60));
            puts(" length ");
            put_hex_short(le32(a + 64));
        } else if (cmd == 4) {
            puts(" write-pointer ");
            put_name(a, FW_CFG_MAX_FILE);
            putc(' ');
            put_name(a + 56, FW_CFG_MAX_FILE);
            puts(" offset ");
            put_hex_short(le32(a + 112));
            puts(" src-offset ");
            put_hex_short(le32(a + 116));
            puts(" size ");
            put_dec(a[120]);
        } else {
            puts(" command ");
            put_hex_short(cmd);
        }
        putc('\n');
    }
}

static int is_sig_char(u8 c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* etc/acpi/tables: FACS at 0, then the tables back to back (QEMU's build_state->table_data); zero padding. */
static void decode_acpi(const u8 *b, u32 size)
{
    u32 off = 0;
    while (off + 8 <= size) {
        const u8 *t = b + off;
        u32 len = le32(t + 4);
        if (!is_sig_char(t[0]) || !is_sig_char(t[1]) || !is_sig_char(t[2]) || !is_sig_char(t[3]) || len < 8
            || len > size - off)
            break;
        puts("fwcfg: acpi-table ");
        put_name(t, 4);
        puts(" length ");
        put_dec(len);
        puts(" crc32 ");
        put_crc(crc_bytes(t, len));
        putc('\n');
        off += len;
        /* QEMU aligns the FACS to 64 bytes; the tables after it follow without padding */
    }
}

static int name_is(const char *a, const char *b)
{
    return streq(a, b);
}

static void dump_file(const struct fw_file *f)
{
    u8 *buf = (u8 *)FILE_BUF;
    u32 crc = 0xffffffffu;
    int kept = f->size <= FILE_BUF_MAX;
    select_key(f->select);
    for (u32 i = 0; i < f->size; i++) {
        u8 v = inb(FW_CFG_PORT_DATA);
        crc = crc_update(crc, v);
        if (kept)
            buf[i] = v;
    }
    crc ^= 0xffffffffu;
    puts("fwcfg: file ");
    puts(f->name);
    puts(" size ");
    put_dec(f->size);
    puts(" sel ");
    put_hex4(f->select);
    puts(" crc32 ");
    put_crc(crc);
    if (f->size <= FILE_HEX_LIMIT || (name_is(f->name, "bootorder") && kept)) {
        puts(" hex ");
        put_hex_bytes(buf, f->size);
    }
    putc('\n');
    if (!kept)
        return;
    if (name_is(f->name, "etc/table-loader"))
        decode_loader(buf, f->size);
    else if (name_is(f->name, "etc/acpi/tables"))
        decode_acpi(buf, f->size);
}

void action_fwcfg(void)
{
    u8 b[8];
    crc_init();
    select_key(FW_CFG_SIGNATURE);
    read_bytes(b, 4);
    puts("fwcfg: signature ");
    put_hex_bytes(b, 4);
    putc('\n');
    if (b[0] != 'Q' || b[1] != 'E' || b[2] != 'M' || b[3] != 'U') {
        /* Nothing at 0x510/0x511 (unassigned ports read all ones): a directory would be 2^32 - 1 files. */
        putln("fwcfg: no device");
        fail();
    }
    select_key(FW_CFG_ID);
    read_bytes(b, 4);
    puts("fwcfg: id ");
    put_hex_bytes(b, 4);
    putc('\n');

    select_key(FW_CFG_MAX_CPUS);
    read_bytes(b, 2);
    u32 max_cpus = (u32)b[0] | (u32)b[1] << 8;
    for (u16 key = 0x02; key <= 0x18; key++)
        dump_key(key, key == FW_CFG_NUMA ? (1 + max_cpus) * 8 : LEGACY_READ);
    for (u16 key = FW_CFG_ARCH_LOCAL; key <= FW_CFG_HPET; key++)
        dump_key(key, key == FW_CFG_E820_TABLE ? 324 : key == FW_CFG_HPET ? 121 : LEGACY_READ);

    select_key(FW_CFG_FILE_DIR);
    read_bytes(b, 4);
    u32 count = be32(b);
    puts("fwcfg: files ");
    put_dec(count);
    putc('\n');
    if (count > MAX_FILES) {
        putln("fwcfg: too many files");
        fail();
    }
    u32 n = count;
    for (u32 i = 0; i < n; i++) {
        u8 e[64];
        read_bytes(e, 64);
        files[i].size = be32(e);
        files[i].select = (u16)(e[4] << 8 | e[5]);
        u32 k = 0;
        for (; k < FW_CFG_MAX_FILE && e[8 + k]; k++)
            files[i].name[k] = (char)e[8 + k];
        files[i].name[k] = 0;
    }
    for (u32 i = 0; i < n; i++)
        dump_file(&files[i]);
    putln("fwcfg: done");
    exit_qemu(EXIT_PASS);
}
