/*
 * A tiny polled ATA/ATAPI driver for the PIIX3 IDE function (8086:7010) and the ide* / cd* guest actions.
 * Legacy ports only (compatibility mode): primary 0x1F0/0x3F6, secondary 0x170/0x376; bus-master DMA
 * through BAR4. Interrupts stay disabled at the device (nIEN) and every wait is bounded by the TSC, so a
 * device that never answers is reported, never waited on forever. Data moves with rep insw/outsw, as
 * real drivers do (one string-I/O exit per page under KVM).
 */
#include "guest.h"

/* PIIX3 IDE (82371SB datasheet 2.4): the function and its bus-master interface base (BMIBA, BAR4). */
#define PIIX_VENDOR 0x8086
#define PIIX3_IDE_DEVICE 0x7010
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MASTER 0x4
#define PCI_CLASS_REVISION 0x08
#define PCI_BMIBA 0x20

/* ATA command block registers (ATA/ATAPI-6, 7.1), offsets from the command block base. */
#define ATA_DATA 0
#define ATA_ERROR 1        /* read */
#define ATA_FEATURES 1     /* write */
#define ATA_COUNT 2        /* ATAPI: interrupt reason on read */
#define ATA_LBA_LOW 3
#define ATA_LBA_MID 4      /* ATAPI: byte count low */
#define ATA_LBA_HIGH 5     /* ATAPI: byte count high */
#define ATA_DEVICE 6
#define ATA_STATUS 7       /* read */
#define ATA_COMMAND 7      /* write */
/* Control block (7.1): alternate status on read, device control on write. */
#define ATA_ALTSTATUS 0
#define ATA_DEVCTL 0

#define ATA_SR_BSY 0x80
#define ATA_SR_DRDY 0x40
#define ATA_SR_DF 0x20
#define ATA_SR_DRQ 0x08
#define ATA_SR_ERR 0x01
#define ATA_ER_ABRT 0x04
#define ATA_DEV_LBA 0x40
#define ATA_DEV_DEV 0x10
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB 0x80
#define ATAPI_IR_COD 0x01
#define ATAPI_IR_IO 0x02

/* Commands (ATA/ATAPI-6, clause 8). */
#define CMD_READ_SECTORS 0x20
#define CMD_READ_SECTORS_EXT 0x24
#define CMD_READ_DMA_EXT 0x25
#define CMD_READ_MULTIPLE_EXT 0x29
#define CMD_WRITE_SECTORS 0x30
#define CMD_WRITE_SECTORS_EXT 0x34
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_WRITE_MULTIPLE_EXT 0x39
#define CMD_READ_VERIFY 0x40
#define CMD_READ_VERIFY_EXT 0x42
#define CMD_PACKET 0xa0
#define CMD_IDENTIFY_PACKET 0xa1
#define CMD_READ_MULTIPLE 0xc4
#define CMD_WRITE_MULTIPLE 0xc5
#define CMD_SET_MULTIPLE 0xc6
#define CMD_READ_DMA 0xc8
#define CMD_WRITE_DMA 0xca
#define CMD_FLUSH_CACHE 0xe7
#define CMD_IDENTIFY 0xec
#define CMD_FLUSH_CACHE_EXT 0xea
#define CMD_SET_FEATURES 0xef
#define SETF_ENABLE_WCACHE 0x02
#define SETF_XFER_MODE 0x03
#define SETF_DISABLE_WCACHE 0x82

/* Bus-master IDE registers (SFF-8038i, 1.2), per channel at BMIBA + 8 * channel. */
#define BM_COMMAND 0
#define BM_STATUS 2
#define BM_PRD 4
#define BM_CMD_START 0x01
#define BM_CMD_WRITE 0x08    /* bus master writes memory: a device-to-memory (disk read) transfer */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INTR 0x04
#define PRD_EOT 0x80000000u

/* SCSI/MMC operation codes used over PACKET (SPC-3, MMC-5). */
#define SCSI_TEST_UNIT_READY 0x00
#define SCSI_REQUEST_SENSE 0x03
#define SCSI_INQUIRY 0x12
#define SCSI_START_STOP_UNIT 0x1b
#define SCSI_PREVENT_ALLOW 0x1e
#define SCSI_READ_CAPACITY 0x25
#define SCSI_READ_10 0x28
#define SCSI_READ_TOC 0x43
#define SCSI_GET_CONFIGURATION 0x46
#define SCSI_GET_EVENT_STATUS 0x4a
#define SCSI_MODE_SENSE_10 0x5a
#define SCSI_READ_12 0xa8
#define GESN_POLLED 0x01
#define GESN_CLASS_MEDIA 0x10

/* Fixed guest-physical areas (the virtio driver's are not used in the same run). */
#define PRD_BASE 0x00440000u         /* PRD tables: dword aligned, within one 64 KiB page */
#define SMALL_BUF 0x00450000u        /* identify data, ATAPI replies */
#define DATA_BASE 0x00800000u        /* 64 KiB aligned, up to 8 MiB */
#define CHECK_BASE 0x01800000u
#define OUTSIDE_RAM 0x10000000u      /* 256 MiB: not RAM with -m 128 */

#define SECTOR 512
#define CD_BLOCK 2048
#define TIMEOUT_MS 2000

struct channel {
    u16 cmd, ctl, bm;
};

static struct channel chans[2] = { { 0x1f0, 0x3f6, 0 }, { 0x170, 0x376, 0 } };
static const char *const pos_names[4] = { "hda", "hdb", "hdc", "hdd" };
static u32 ide_bdf;
static const char *pfx = "ide: ";

/* The last command's outcome, for printing. */
struct result {
    int timeout;
    u8 status, error, bm;
};

static struct result last;

static void ide_fail(const char *what)
{
    puts(pfx);
    putln(what);
    fail();
}

static u32 opt_u32(const struct boot_info *bi, const char *key, u32 dflt)
{
    char buf[16];
    u32 v;
    if (!cmdline_get(bi->cmdline, key, buf, sizeof(buf)))
        return dflt;
    if (!parse_u32(buf, &v)) {
        puts(pfx);
        puts("bad value for ");
        putln(key);
        fail();
    }
    return v;
}

static void put_hex2(u32 v)
{
    static const char d[] = "0123456789abcdef";
    putc('0');
    putc('x');
    putc(d[(v >> 4) & 0xf]);
    putc(d[v & 0xf]);
}

static void put_hex4(u32 v)
{
    static const char d[] = "0123456789abcdef";
    puts("0x");
    for (int i = 12; i >= 0; i -= 4)
        putc(d[(v >> i) & 0xf]);
}

static void put_hexbytes(u32 buf, u32 n)
{
    static const char d[] = "0123456789abcdef";
    for (u32 i = 0; i < n; i++) {
        u8 b = *(volatile u8 *)(buf + i);
        putc(d[b >> 4]);
        putc(d[b & 0xf]);
        if (i + 1 < n)
            putc(i % 4 == 3 ? ' ' : '.');
    }
}

/* ---------------- register access ---------------- */

static u8 rd(const struct channel *c, u32 reg) { return inb((u16)(c->cmd + reg)); }
static void wr(const struct channel *c, u32 reg, u8 v) { outb((u16)(c->cmd + reg), v); }
static u8 altstatus(const struct channel *c) { return inb(c->ctl + ATA_ALTSTATUS); }

static void insw_block(u16 port, u32 buf, u32 words)
{
    __asm__ volatile("cld; rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

static void outsw_block(u16 port, u32 buf, u32 words)
{
    __asm__ volatile("cld; rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* Zeroes whole dwords with one string instruction (a byte loop costs seconds under instruction emulation). */
static void zero(u32 buf, u32 len)
{
    u32 n = len / 4;
    __asm__ volatile("cld; rep stosl" : "+D"(buf), "+c"(n) : "a"(0) : "memory");
}

/* 400 ns after a device select or command: four alternate status reads (ATA/ATAPI-6, 9.5). */
static void delay400(const struct channel *c)
{
    for (int i = 0; i < 4; i++)
        altstatus(c);
}

/* Waits for BSY clear; returns the status, or -1 at the deadline. */
static int wait_ready(const struct channel *c, u32 ms)
{
    struct deadline dl;
    deadline_set(&dl, ms);
    for (;;) {
        u8 s = altstatus(c);
        if (!(s & ATA_SR_BSY))
            return rd(c, ATA_STATUS);
        if (expired(&dl))
            return -1;
    }
}

static int select_dev(const struct channel *c, u32 dev)
{
    wr(c, ATA_DEVICE, (u8)(ATA_DEV_LBA | (dev ? ATA_DEV_DEV : 0)));
    delay400(c);
    return wait_ready(c, TIMEOUT_MS);
}

static void record(const struct channel *c, int s)
{
    last.timeout = s < 0;
    last.status = (u8)(s < 0 ? altstatus(c) : s);
    last.error = rd(c, ATA_ERROR);
    last.bm = c->bm ? inb((u16)(c->bm + BM_STATUS)) : 0;
}

static void put_result(void)
{
    if (last.timeout)
        puts("timeout ");
    puts("status ");
    put_hex2(last.status);
    puts(" error ");
    put_hex2(last.error);
}

/* Writes the task file and the command. lba48 uses the HOB-first order of the 48-bit feature set. */
static void issue(const struct channel *c, u32 dev, u8 cmd, u8 feat, u32 count, u64 lba, int lba48)
{
    if (lba48) {
        wr(c, ATA_FEATURES, 0);
        wr(c, ATA_COUNT, (u8)(count >> 8));
        wr(c, ATA_LBA_LOW, (u8)(lba >> 24));
        wr(c, ATA_LBA_MID, (u8)(lba >> 32));
        wr(c, ATA_LBA_HIGH, (u8)(lba >> 40));
        wr(c, ATA_DEVICE, (u8)(ATA_DEV_LBA | (dev ? ATA_DEV_DEV : 0)));
    } else {
        wr(c, ATA_DEVICE, (u8)(ATA_DEV_LBA | (dev ? ATA_DEV_DEV : 0) | ((lba >> 24) & 0xf)));
    }
    wr(c, ATA_FEATURES, feat);
    wr(c, ATA_COUNT, (u8)count);
    wr(c, ATA_LBA_LOW, (u8)lba);
    wr(c, ATA_LBA_MID, (u8)(lba >> 8));
    wr(c, ATA_LBA_HIGH, (u8)(lba >> 16));
    wr(c, ATA_COMMAND, cmd);
    delay400(c);
}

/* A non-data command. Returns 1 on success (no ERR, not busy). */
static int nodata(const struct channel *c, u32 dev, u8 cmd, u8 feat, u32 count, u64 lba, int lba48)
{
    if (select_dev(c, dev) < 0) {
        record(c, -1);
        return 0;
    }
    issue(c, dev, cmd, feat, count, lba, lba48);
    int s = wait_ready(c, TIMEOUT_MS);
    record(c, s);
    return s >= 0 && !(s & (ATA_SR_ERR | ATA_SR_DF));
}

/*
 * PIO data-in or data-out of `sectors` sectors with `block` sectors per DRQ block (1, or the multiple
 * count). Returns 1 on success; on error the status is recorded and *done holds the sectors moved.
 */
static int pio(const struct channel *c, u32 dev, u8 cmd, u32 count, u64 lba, int lba48, u32 buf, u32 sectors,
               u32 block, int out, u32 *done)
{
    u32 moved = 0;
    if (done)
        *done = 0;
    if (select_dev(c, dev) < 0) {
        record(c, -1);
        return 0;
    }
    issue(c, dev, cmd, 0, count, lba, lba48);
    while (moved < sectors) {
        int s = wait_ready(c, TIMEOUT_MS);
        if (s < 0 || (s & ATA_SR_ERR) || !(s & ATA_SR_DRQ)) {
            record(c, s);
            if (done)
                *done = moved;
            return 0;
        }
        u32 n = sectors - moved < block ? sectors - moved : block;
        if (out)
            outsw_block((u16)(c->cmd + ATA_DATA), buf + moved * SECTOR, n * SECTOR / 2);
        else
            insw_block((u16)(c->cmd + ATA_DATA), buf + moved * SECTOR, n * SECTOR / 2);
        moved += n;
        delay400(c);
    }
    int s = wait_ready(c, TIMEOUT_MS);
    record(c, s);
    if (done)
        *done = moved;
    return s >= 0 && !(s & (ATA_SR_ERR | ATA_SR_DRQ));
}

/* One PRD entry (SFF-8038i, 1.2): address, byte count (0 = 64 KiB) and EOT. */
static void prd_set(u32 table, u32 i, u32 addr, u32 bytes, int eot)
{
    volatile u32 *p = (volatile u32 *)(table + 8 * i);
    p[0] = addr;
    p[1] = (bytes & 0xffff) | (eot ? PRD_EOT : 0);
}

/* PRD entries over [buf, buf+len) of at most `seg` bytes each (never crossing 64 KiB), EOT on the last. */
static void prd_build(u32 table, u32 buf, u32 len, u32 seg)
{
    u32 i = 0;
    for (u32 off = 0; off < len; i++) {
        u32 n = len - off < seg ? len - off : seg;
        u32 room = 0x10000 - ((buf + off) & 0xffff);
        if (n > room)
            n = room;
        prd_set(table, i, buf + off, n, off + n == len);
        off += n;
    }
}

static void bm_prepare(const struct channel *c, u32 table, int device_to_memory)
{
    outb((u16)(c->bm + BM_COMMAND), 0);
    outb((u16)(c->bm + BM_STATUS), BM_ST_ERROR | BM_ST_INTR);
    __asm__ volatile("outl %0, %1" : : "a"(table), "Nd"((u16)(c->bm + BM_PRD)));
    outb((u16)(c->bm + BM_COMMAND), device_to_memory ? BM_CMD_WRITE : 0);
}

/* Waits for the DMA to end (bus master not active or interrupt, device not busy), then stops the engine. */
static int bm_finish(const struct channel *c, int device_to_memory)
{
    struct deadline dl;
    deadline_set(&dl, TIMEOUT_MS);
    int s = -1;
    for (;;) {
        u8 bs = inb((u16)(c->bm + BM_STATUS));
        u8 as = altstatus(c);
        if (!(as & ATA_SR_BSY) && (!(bs & BM_ST_ACTIVE) || (bs & BM_ST_INTR) || !(as & ATA_SR_DRQ))) {
            s = rd(c, ATA_STATUS);
            break;
        }
        if (expired(&dl))
            break;
    }
    record(c, s);
    outb((u16)(c->bm + BM_COMMAND), device_to_memory ? BM_CMD_WRITE : 0);
    outb((u16)(c->bm + BM_STATUS), BM_ST_ERROR | BM_ST_INTR);
    return s >= 0 && !(s & (ATA_SR_ERR | ATA_SR_DRQ)) && !(last.bm & BM_ST_ERROR);
}

/* A DMA command over a PRD table the caller built. */
static int dma_table(const struct channel *c, u32 dev, u8 cmd, u32 count, u64 lba, int lba48, u32 table, int in)
{
    if (select_dev(c, dev) < 0) {
        record(c, -1);
        return 0;
    }
    bm_prepare(c, table, in);
    issue(c, dev, cmd, 0, count, lba, lba48);
    outb((u16)(c->bm + BM_COMMAND), (u8)((in ? BM_CMD_WRITE : 0) | BM_CMD_START));
    return bm_finish(c, in);
}

static int dma(const struct channel *c, u32 dev, u8 cmd, u32 count, u64 lba, int lba48, u32 buf, u32 len,
               u32 seg, int in)
{
    prd_build(PRD_BASE, buf, len, seg);
    return dma_table(c, dev, cmd, count, lba, lba48, PRD_BASE, in);
}

/* ---------------- discovery and IDENTIFY ---------------- */

enum kind { NONE, ATA, ATAPI };

struct drive {
    enum kind kind;
    u64 lba28, lba48;
};

static struct drive drives[4];

static u16 idw(u32 w) { return *(volatile u16 *)(SMALL_BUF + 2 * w); }

static void put_idstring(const char *name, u32 first, u32 words)
{
    char s[48];
    u32 n = 0;
    for (u32 i = 0; i < words; i++) {
        u16 w = idw(first + i);
        s[n++] = (char)(w >> 8);
        s[n++] = (char)w;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == 0))
        n--;
    s[n] = 0;
    u32 b = 0;
    while (s[b] == ' ')
        b++;
    for (u32 i = b; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            s[i] = '?';
    puts(" ");
    puts(name);
    puts(" '");
    puts(s + b);
    puts("'");
}

static void put_words(const u8 *list, u32 n)
{
    for (u32 i = 0; i < n; i++) {
        puts(i ? " " : "");
        put_dec(list[i]);
        putc('=');
        put_hex4(idw(list[i]));
    }
}

/* The IDENTIFY words a driver looks at (ATA/ATAPI-6, 8.15 and 8.16). */
static const u8 ata_words[] = { 0, 1, 3, 6, 47, 49, 50, 53, 59, 63, 64, 65, 66, 67, 68, 69, 75, 76, 80, 81, 82, 83,
                                84, 85, 86, 87, 88, 93, 106, 169, 209, 217, 255 };
static const u8 atapi_words[] = { 0, 49, 50, 53, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 80, 81, 82, 83, 84,
                                  85, 86, 87, 88, 93, 255 };

static void print_identify(u32 pos, int packet)
{
    puts(pfx);
    puts(pos_names[pos]);
    puts(packet ? " atapi" : " ata");
    put_idstring("model", 27, 20);
    put_idstring("serial", 10, 10);
    put_idstring("firmware", 23, 4);
    putc('\n');
    if (!packet) {
        puts(pfx);
        puts(pos_names[pos]);
        puts(" lba28 ");
        put_u64(drives[pos].lba28);
        puts(" lba48 ");
        put_u64(drives[pos].lba48);
        puts(" chs ");
        put_dec(idw(1));
        putc('/');
        put_dec(idw(3));
        putc('/');
        put_dec(idw(6));
        putc('\n');
    }
    puts(pfx);
    puts(pos_names[pos]);
    puts(" words ");
    if (packet)
        put_words(atapi_words, sizeof(atapi_words));
    else
        put_words(ata_words, sizeof(ata_words));
    putc('\n');
}

static int identify(u32 pos, int packet)
{
    const struct channel *c = &chans[pos / 2];
    zero(SMALL_BUF, SECTOR);
    return pio(c, pos & 1, packet ? CMD_IDENTIFY_PACKET : CMD_IDENTIFY, 0, 0, 0, SMALL_BUF, 1, 1, 0, 0);
}

/* Present? Returns the kind; the identify data is left at SMALL_BUF. */
static enum kind probe(u32 pos)
{
    const struct channel *c = &chans[pos / 2];
    wr(c, ATA_DEVICE, (pos & 1) ? ATA_DEV_DEV : 0);
    delay400(c);
    u8 s = rd(c, ATA_STATUS);
    if (s == 0 || s == 0xff)
        return NONE;
    if (wait_ready(c, TIMEOUT_MS) < 0)
        return NONE;
    if (identify(pos, 0)) {
        drives[pos].lba28 = (u32)idw(60) | (u32)idw(61) << 16;
        drives[pos].lba48 = (u64)idw(100) | (u64)idw(101) << 16 | (u64)idw(102) << 32 | (u64)idw(103) << 48;
        return ATA;
    }
    /* An ATAPI device aborts IDENTIFY DEVICE and leaves its signature 0x14/0xEB in LBA mid/high. */
    u8 mid = rd(c, ATA_LBA_MID), high = rd(c, ATA_LBA_HIGH);
    if (mid == 0x14 && high == 0xeb && identify(pos, 1))
        return ATAPI;
    puts(pfx);
    puts(pos_names[pos]);
    puts(" identify failed ");
    put_result();
    puts(" signature ");
    put_hex2(mid);
    putc('/');
    put_hex2(high);
    putc('\n');
    return NONE;
}

static void setup(const char *prefix)
{
    pfx = prefix;
    calibrate_tsc();
    static const u16 ids[] = { PIIX3_IDE_DEVICE };
    if (!pci_find(PIIX_VENDOR, ids, 1, &ide_bdf))
        ide_fail("no PIIX3 IDE function");
    u32 bmiba = pci_read32(ide_bdf, PCI_BMIBA);
    puts(pfx);
    puts("pci 00:");
    putc((char)('0' + (ide_bdf >> 3) / 10));
    putc((char)('0' + (ide_bdf >> 3) % 10));
    putc('.');
    putc((char)('0' + (ide_bdf & 7)));
    puts(" class ");
    put_hex_short(pci_read32(ide_bdf, PCI_CLASS_REVISION) >> 8);
    puts(" bar4 ");
    puts(bmiba & 1 ? "io" : "mem");
    putc('\n');
    if (!(bmiba & 1) || (bmiba & ~3u) == 0)
        ide_fail("BAR4 is not an assigned I/O BAR");
    pci_write16(ide_bdf, PCI_COMMAND, pci_read16(ide_bdf, PCI_COMMAND) | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    chans[0].bm = (u16)(bmiba & ~3u);
    chans[1].bm = (u16)((bmiba & ~3u) + 8);
    outb(chans[0].ctl, ATA_CTL_NIEN);
    outb(chans[1].ctl, ATA_CTL_NIEN);
    for (u32 pos = 0; pos < 4; pos++)
        drives[pos].kind = probe(pos);
}

/* ---------------- ATAPI ---------------- */

struct sense {
    u8 key, asc, ascq;
};

static u32 pkt_bytes;  /* bytes the last PIO packet command transferred */

/*
 * One PACKET command: 12-byte CDB, data-in by PIO (byte-count limit `bcl`) into buf (at most buflen bytes
 * kept) or by DMA (dma = 1, buf/buflen describe the PRD). Returns 1 on GOOD status, 0 on CHECK CONDITION
 * (the sense key is in the error register's high nibble) or a protocol failure.
 */
static int packet(u32 pos, const u8 *cdb, u32 buf, u32 buflen, u32 bcl, int use_dma)
{
    const struct channel *c = &chans[pos / 2];
    pkt_bytes = 0;
    if (select_dev(c, pos & 1) < 0) {
        record(c, -1);
        return 0;
    }
    if (use_dma) {
        prd_build(PRD_BASE, buf, buflen, 0x10000);
        bm_prepare(c, PRD_BASE, 1);
    }
    wr(c, ATA_FEATURES, use_dma ? 1 : 0);
    wr(c, ATA_COUNT, 0);
    wr(c, ATA_LBA_MID, (u8)bcl);
    wr(c, ATA_LBA_HIGH, (u8)(bcl >> 8));
    wr(c, ATA_COMMAND, CMD_PACKET);
    delay400(c);
    int s = wait_ready(c, TIMEOUT_MS);
    if (s < 0 || (s & ATA_SR_ERR) || !(s & ATA_SR_DRQ) || (rd(c, ATA_COUNT) & (ATAPI_IR_COD | ATAPI_IR_IO)) != ATAPI_IR_COD) {
        record(c, s);
        return 0;
    }
    u16 words[6];
    memcpy(words, cdb, 12);
    for (u32 i = 0; i < 6; i++)
        outw((u16)(c->cmd + ATA_DATA), words[i]);
    delay400(c);
    if (use_dma) {
        outb((u16)(c->bm + BM_COMMAND), BM_CMD_WRITE | BM_CMD_START);
        return bm_finish(c, 1);
    }
    for (u32 rounds = 0; rounds < 100000; rounds++) {
        s = wait_ready(c, TIMEOUT_MS);
        if (s < 0 || !(s & ATA_SR_DRQ))
            break;
        u32 n = rd(c, ATA_LBA_MID) | (u32)rd(c, ATA_LBA_HIGH) << 8;
        if (!(n & 1) && pkt_bytes + n <= buflen) {
            insw_block((u16)(c->cmd + ATA_DATA), buf + pkt_bytes, n / 2);
            pkt_bytes += n;
            n = 0;
        }
        for (u32 i = 0; i < n; i += 2) {
            u16 w = inw((u16)(c->cmd + ATA_DATA));
            if (pkt_bytes + 1 < buflen)
                *(volatile u16 *)(buf + pkt_bytes) = w;
            pkt_bytes += 2;
        }
        delay400(c);
    }
    record(c, s);
    return s >= 0 && !(s & (ATA_SR_ERR | ATA_SR_DRQ));
}

static void cdb_clear(u8 *cdb) { memset(cdb, 0, 12); }

static void put_be32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24);
    p[1] = (u8)(v >> 16);
    p[2] = (u8)(v >> 8);
    p[3] = (u8)v;
}

static u32 be32(u32 a) { volatile u8 *p = (volatile u8 *)a; return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

static int request_sense(u32 pos, struct sense *sn)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_REQUEST_SENSE;
    cdb[4] = 18;
    zero(SMALL_BUF, 64);
    int ok = packet(pos, cdb, SMALL_BUF, 64, 18, 0);
    volatile u8 *b = (volatile u8 *)SMALL_BUF;
    sn->key = b[2] & 0xf;
    sn->asc = b[12];
    sn->ascq = b[13];
    return ok;
}

static void put_sense(const struct sense *sn)
{
    puts("sense ");
    put_hex_short(sn->key);
    putc('/');
    put_hex2(sn->asc);
    putc('/');
    put_hex2(sn->ascq);
}

/* A command without data; on CHECK CONDITION prints "<name>: check condition, sense k/asc/ascq". */
static int simple(u32 pos, const char *name, const u8 *cdb, int quiet)
{
    if (packet(pos, cdb, SMALL_BUF, 256, 256, 0))
        return 1;
    if (quiet)
        return 0;
    struct result r = last;
    struct sense sn;
    request_sense(pos, &sn);
    puts(pfx);
    puts(name);
    puts(": ");
    last = r;
    put_result();
    putc(' ');
    put_sense(&sn);
    putc('\n');
    return 0;
}

static int tur(u32 pos, struct sense *sn)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_TEST_UNIT_READY;
    if (packet(pos, cdb, SMALL_BUF, 64, 0, 0)) {
        sn->key = sn->asc = sn->ascq = 0;
        return 1;
    }
    request_sense(pos, sn);
    return 0;
}

/* Media event (MMC-5, 6.6.2.3): returns 1 with the event code and media status. */
static int gesn(u32 pos, u8 *event, u8 *media)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_GET_EVENT_STATUS;
    cdb[1] = GESN_POLLED;
    cdb[4] = GESN_CLASS_MEDIA;
    cdb[8] = 8;
    zero(SMALL_BUF, 16);
    if (!packet(pos, cdb, SMALL_BUF, 16, 8, 0))
        return 0;
    *event = *(volatile u8 *)(SMALL_BUF + 4) & 0xf;
    *media = *(volatile u8 *)(SMALL_BUF + 5);
    return 1;
}

static int read_capacity(u32 pos, u32 *last_lba, u32 *blk)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_READ_CAPACITY;
    if (!packet(pos, cdb, SMALL_BUF, 16, 8, 0))
        return 0;
    *last_lba = be32(SMALL_BUF);
    *blk = be32(SMALL_BUF + 4);
    return 1;
}

/* READ(10) by PIO (byte-count limit bcl) or READ(12) by DMA of `blocks` 2048-byte blocks at lba. */
static int cd_read(u32 pos, int twelve, u32 lba, u32 blocks, u32 buf, u32 bcl, int use_dma)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = twelve ? SCSI_READ_12 : SCSI_READ_10;
    put_be32(cdb + 2, lba);
    if (twelve) {
        put_be32(cdb + 6, blocks);
    } else {
        cdb[7] = (u8)(blocks >> 8);
        cdb[8] = (u8)blocks;
    }
    return packet(pos, cdb, buf, blocks * CD_BLOCK, bcl, use_dma);
}

static int find_kind(enum kind k)
{
    for (u32 pos = 0; pos < 4; pos++)
        if (drives[pos].kind == k)
            return (int)pos;
    return -1;
}

/* ---------------- action=ide ---------------- */

static void step(const char *what, int ok)
{
    puts(pfx);
    puts(what);
    if (ok) {
        putln(" ok");
        return;
    }
    puts(" failed ");
    put_result();
    putc('\n');
    fail();
}

static void check_data(const char *what, u32 len)
{
    if (!mem_equal(DATA_BASE, CHECK_BASE, len)) {
        u32 i = 0;
        while (((volatile u32 *)DATA_BASE)[i] == ((volatile u32 *)CHECK_BASE)[i])
            i++;
        puts(pfx);
        puts(what);
        puts(": data differs at byte ");
        put_dec(i * 4);
        putc('\n');
        fail();
    }
    puts(pfx);
    puts(what);
    putln(" matches");
}

static void print_all_identify(void)
{
    for (u32 pos = 0; pos < 4; pos++) {
        if (drives[pos].kind == NONE) {
            puts(pfx);
            puts(pos_names[pos]);
            putln(" none");
            continue;
        }
        identify(pos, drives[pos].kind == ATAPI);
        print_identify(pos, drives[pos].kind == ATAPI);
    }
}

/*
 * Layout of the 256 sectors from `start` (what the Java test recomputes):
 *   [0,16) WRITE SECTORS, [16,32) WRITE SECTORS EXT, [32,68) WRITE MULTIPLE (multiple 8, a partial last
 *   block), [68,88) WRITE MULTIPLE EXT, [88,172) WRITE DMA (PRD of 512, 3072 and 39424 bytes),
 *   [172,256) WRITE DMA EXT (PRD entries of 4 KiB).
 */
static void action_rw(const struct boot_info *bi)
{
    u32 start = opt_u32(bi, "start", 0), seed = opt_u32(bi, "seed", 0);
    print_all_identify();
    if (drives[0].kind != ATA)
        ide_fail("hda is not an ATA disk");
    const struct channel *c = &chans[0];
    u64 cap = drives[0].lba48 ? drives[0].lba48 : drives[0].lba28;
    if (start + 256 > cap || start + 256 > 0x0fffffff)
        ide_fail("start= puts the range past the end of hda");

    step("set features write cache off", nodata(c, 0, CMD_SET_FEATURES, SETF_DISABLE_WCACHE, 0, 0, 0));
    identify(0, 0);
    puts(pfx);
    puts("hda word 85 ");
    put_hex4(idw(85));
    putc('\n');
    step("set features write cache on", nodata(c, 0, CMD_SET_FEATURES, SETF_ENABLE_WCACHE, 0, 0, 0));
    step("set features udma2", nodata(c, 0, CMD_SET_FEATURES, SETF_XFER_MODE, 0x42, 0, 0));
    identify(0, 0);
    puts(pfx);
    puts("hda words 62/63/85/88 ");
    put_hex4(idw(62));
    putc(' ');
    put_hex4(idw(63));
    putc(' ');
    put_hex4(idw(85));
    putc(' ');
    put_hex4(idw(88));
    putc('\n');
    if (nodata(c, 0, CMD_SET_FEATURES, 0x77, 0, 0, 0))
        putln("ide: set features 0x77 accepted");
    else {
        puts(pfx);
        puts("set features 0x77 refused ");
        put_result();
        putc('\n');
    }
    step("set multiple 8", nodata(c, 0, CMD_SET_MULTIPLE, 0, 8, 0, 0));
    identify(0, 0);
    puts(pfx);
    puts("hda word 59 ");
    put_hex4(idw(59));
    putc('\n');

    pattern_fill(DATA_BASE, (u64)start * SECTOR, 256 * SECTOR, seed);
    u32 d = DATA_BASE;
    step("write sectors", pio(c, 0, CMD_WRITE_SECTORS, 16, start, 0, d, 16, 1, 1, 0));
    step("write sectors ext", pio(c, 0, CMD_WRITE_SECTORS_EXT, 16, start + 16, 1, d + 16 * SECTOR, 16, 1, 1, 0));
    step("write multiple", pio(c, 0, CMD_WRITE_MULTIPLE, 36, start + 32, 0, d + 32 * SECTOR, 36, 8, 1, 0));
    step("write multiple ext", pio(c, 0, CMD_WRITE_MULTIPLE_EXT, 20, start + 68, 1, d + 68 * SECTOR, 20, 8, 1, 0));
    u32 dbuf = d + 88 * SECTOR;
    prd_set(PRD_BASE, 0, dbuf, 512, 0);
    prd_set(PRD_BASE, 1, dbuf + 512, 3072, 0);
    prd_set(PRD_BASE, 2, dbuf + 3584, 84 * SECTOR - 3584, 1);
    step("write dma", dma_table(c, 0, CMD_WRITE_DMA, 84, start + 88, 0, PRD_BASE, 0));
    puts(pfx);
    puts("write dma bm status ");
    put_hex2(last.bm);
    putc('\n');
    step("write dma ext", dma(c, 0, CMD_WRITE_DMA_EXT, 84, start + 172, 1, d + 172 * SECTOR, 84 * SECTOR, 4096, 0));
    step("flush cache", nodata(c, 0, CMD_FLUSH_CACHE, 0, 0, 0, 0));
    step("flush cache ext", nodata(c, 0, CMD_FLUSH_CACHE_EXT, 0, 0, 0, 1));
    step("read verify", nodata(c, 0, CMD_READ_VERIFY, 0, 128, start, 0));
    step("read verify ext", nodata(c, 0, CMD_READ_VERIFY_EXT, 0, 128, start + 128, 1));

    zero(CHECK_BASE, 256 * SECTOR);
    step("read dma ext", dma(c, 0, CMD_READ_DMA_EXT, 256, start, 1, CHECK_BASE, 256 * SECTOR, 0x10000, 1));
    puts(pfx);
    puts("read dma ext bm status ");
    put_hex2(last.bm);
    putc('\n');
    check_data("read dma ext", 256 * SECTOR);
    zero(CHECK_BASE, 256 * SECTOR);
    /* Sector count 0 means 256 sectors in the 28-bit commands. */
    step("read dma", dma(c, 0, CMD_READ_DMA, 0, start, 0, CHECK_BASE, 256 * SECTOR, 0x10000, 1));
    check_data("read dma", 256 * SECTOR);
    zero(CHECK_BASE, 256 * SECTOR);
    step("read sectors", pio(c, 0, CMD_READ_SECTORS, 64, start, 0, CHECK_BASE, 64, 1, 0, 0));
    step("read sectors ext", pio(c, 0, CMD_READ_SECTORS_EXT, 64, start + 64, 1, CHECK_BASE + 64 * SECTOR, 64, 1, 0, 0));
    step("read multiple", pio(c, 0, CMD_READ_MULTIPLE, 60, start + 128, 0, CHECK_BASE + 128 * SECTOR, 60, 8, 0, 0));
    step("read multiple ext", pio(c, 0, CMD_READ_MULTIPLE_EXT, 68, start + 188, 1, CHECK_BASE + 188 * SECTOR, 68, 8, 0, 0));
    check_data("read pio", 256 * SECTOR);
    puts(pfx);
    puts("checksum ");
    put_hex(checksum_add(FNV_OFFSET, CHECK_BASE, 256 * SECTOR));
    putc('\n');
    putln("ide: ok");
    exit_qemu(EXIT_PASS);
}

/* action=ide-read [start=S] [sectors=N] [drive=0..3] [pio=1]: READ DMA EXT (or READ SECTORS EXT) in 128-sector commands, one checksum. */
static void action_read(const struct boot_info *bi)
{
    u32 start = opt_u32(bi, "start", 0), sectors = opt_u32(bi, "sectors", 256), pos = opt_u32(bi, "drive", 0);
    u32 use_pio = opt_u32(bi, "pio", 0);
    if (pos > 3 || drives[pos].kind != ATA)
        ide_fail("no ATA disk at that position");
    const struct channel *c = &chans[pos / 2];
    u32 h = FNV_OFFSET;
    for (u32 done = 0; done < sectors;) {
        u32 n = sectors - done < 128 ? sectors - done : 128;
        int ok = use_pio ? pio(c, pos & 1, CMD_READ_SECTORS_EXT, n, start + done, 1, DATA_BASE, n, 1, 0, 0)
                         : dma(c, pos & 1, CMD_READ_DMA_EXT, n, start + done, 1, DATA_BASE, n * SECTOR, 0x10000, 1);
        if (!ok) {
            puts("ide-read: read failed at sector ");
            put_dec(start + done);
            putc(' ');
            put_result();
            putc('\n');
            fail();
        }
        h = checksum_add(h, DATA_BASE, n * SECTOR);
        done += n;
    }
    puts("ide-read: start ");
    put_dec(start);
    puts(" sectors ");
    put_dec(sectors);
    puts(" checksum ");
    put_hex(h);
    putc('\n');
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=ide-abuse ---------------- */

static void report(const char *name, int ok)
{
    puts("ide-abuse: ");
    puts(name);
    puts(ok ? ": ok " : ": failed ");
    put_result();
    puts(" bm ");
    put_hex2(last.bm);
    putc('\n');
}

/* Brings a channel back after a case that may have left it mid-command: stop DMA, software reset. */
static void channel_reset(const struct channel *c)
{
    outb((u16)(c->bm + BM_COMMAND), 0);
    outb((u16)(c->bm + BM_STATUS), BM_ST_ERROR | BM_ST_INTR);
    outb(c->ctl, ATA_CTL_NIEN | ATA_CTL_SRST);
    delay400(c);
    outb(c->ctl, ATA_CTL_NIEN);
    delay400(c);
    wait_ready(c, TIMEOUT_MS);
}

static void action_abuse(void)
{
    if (drives[0].kind != ATA)
        ide_fail("hda is not an ATA disk");
    const struct channel *c = &chans[0];
    u32 cap = drives[0].lba28;
    u32 done;
    /* The disk starts zeroed; a known pattern in its first and last sectors shows what changes. */
    pattern_fill(DATA_BASE, 0, SECTOR, 1);
    pattern_fill(DATA_BASE + SECTOR, (u64)(cap - 1) * SECTOR, SECTOR, 1);
    step("seed first sector", pio(c, 0, CMD_WRITE_SECTORS, 1, 0, 0, DATA_BASE, 1, 1, 1, 0));
    step("seed last sector", pio(c, 0, CMD_WRITE_SECTORS, 1, cap - 1, 0, DATA_BASE + SECTOR, 1, 1, 1, 0));
    pfx = "ide-abuse: ";

    report("unknown-command", nodata(c, 0, 0x01, 0, 0, 0, 0));
    report("unknown-set-features", nodata(c, 0, CMD_SET_FEATURES, 0xfe, 0, 0, 0));
    report("set-multiple-3", nodata(c, 0, CMD_SET_MULTIPLE, 0, 3, 0, 0));
    report("set-multiple-32", nodata(c, 0, CMD_SET_MULTIPLE, 0, 32, 0, 0));
    report("read-multiple-before-set", pio(c, 0, CMD_READ_MULTIPLE, 1, 0, 0, CHECK_BASE, 1, 1, 0, 0));
    channel_reset(c);
    int ok = pio(c, 0, CMD_READ_SECTORS, 1, cap, 0, CHECK_BASE, 1, 1, 0, &done);
    report("read-at-capacity", ok);
    ok = pio(c, 0, CMD_READ_SECTORS, 2, cap - 1, 0, CHECK_BASE, 2, 1, 0, &done);
    report("read-across-end", ok);
    puts("ide-abuse: read-across-end sectors ");
    put_dec(done);
    putc('\n');
    channel_reset(c);
    report("read-ext-huge-lba", pio(c, 0, CMD_READ_SECTORS_EXT, 1, 0xffffffffff00ull, 1, CHECK_BASE, 1, 1, 0, 0));
    report("write-at-capacity", pio(c, 0, CMD_WRITE_SECTORS, 1, cap, 0, DATA_BASE, 1, 1, 1, 0));
    channel_reset(c);
    report("write-dma-across-end", dma(c, 0, CMD_WRITE_DMA, 2, cap - 1, 0, DATA_BASE, 2 * SECTOR, 0x10000, 0));
    channel_reset(c);
    report("read-dma-past-end", dma(c, 0, CMD_READ_DMA_EXT, 1, cap + 10, 1, CHECK_BASE, SECTOR, 0x10000, 1));
    channel_reset(c);
    report("verify-past-end", nodata(c, 0, CMD_READ_VERIFY, 0, 1, cap, 0));

    /* DMA into memory that is not RAM (-m 128): the data target, then the PRD table itself. */
    prd_set(PRD_BASE, 0, OUTSIDE_RAM, SECTOR, 1);
    report("read-dma-into-outside-ram", dma_table(c, 0, CMD_READ_DMA, 1, 0, 0, PRD_BASE, 1));
    channel_reset(c);
    report("write-dma-from-outside-ram", dma_table(c, 0, CMD_WRITE_DMA, 1, 8, 0, PRD_BASE, 0));
    channel_reset(c);
    report("read-dma-prd-outside-ram", dma_table(c, 0, CMD_READ_DMA, 1, 0, 0, OUTSIDE_RAM, 1));
    channel_reset(c);
    /* A PRD table without EOT: one 512-byte entry followed by zeroed entries (0 = 64 KiB at address 0). */
    zero(PRD_BASE, 64);
    prd_set(PRD_BASE, 0, CHECK_BASE, SECTOR, 0);
    report("read-dma-prd-no-eot", dma_table(c, 0, CMD_READ_DMA, 1, 0, 0, PRD_BASE, 1));
    channel_reset(c);
    /* PRD shorter than the transfer: 512 bytes with EOT for 2 sectors. */
    prd_set(PRD_BASE, 0, CHECK_BASE, SECTOR, 1);
    report("read-dma-prd-short", dma_table(c, 0, CMD_READ_DMA, 2, 0, 0, PRD_BASE, 1));
    channel_reset(c);
    /* Zero-length entry: byte count 0 means 64 KiB, so one entry covers a 1-sector read with room left. */
    prd_set(PRD_BASE, 0, CHECK_BASE, 0, 1);
    report("read-dma-prd-zero-count", dma_table(c, 0, CMD_READ_DMA, 1, 0, 0, PRD_BASE, 1));
    channel_reset(c);
    /* Odd byte count: bit 0 is ignored (0x201 reads as 0x200). */
    zero(CHECK_BASE, 2 * SECTOR);
    prd_set(PRD_BASE, 0, CHECK_BASE, SECTOR + 1, 0);
    prd_set(PRD_BASE, 1, CHECK_BASE + SECTOR, SECTOR, 1);
    ok = dma_table(c, 0, CMD_READ_DMA, 2, cap - 2, 0, PRD_BASE, 1);
    report("read-dma-prd-odd-count", ok);
    puts("ide-abuse: read-dma-prd-odd-count second sector ");
    puts(mem_equal(CHECK_BASE + SECTOR, DATA_BASE + SECTOR, SECTOR) ? "is the last sector" : "differs");
    putc('\n');
    channel_reset(c);
    /* Bus master started with no command; then a DMA command with the engine never started. */
    bm_prepare(c, PRD_BASE, 1);
    outb((u16)(c->bm + BM_COMMAND), BM_CMD_WRITE | BM_CMD_START);
    puts("ide-abuse: bm-start-idle: bm ");
    put_hex2(inb((u16)(c->bm + BM_STATUS)));
    puts(" status ");
    put_hex2(altstatus(c));
    putc('\n');
    outb((u16)(c->bm + BM_COMMAND), 0);
    prd_set(PRD_BASE, 0, CHECK_BASE, SECTOR, 1);
    select_dev(c, 0);
    bm_prepare(c, PRD_BASE, 1);
    issue(c, 0, CMD_READ_DMA, 0, 1, 0, 0);
    puts("ide-abuse: dma-not-started: status ");
    put_hex2(altstatus(c));
    puts(" bm ");
    put_hex2(inb((u16)(c->bm + BM_STATUS)));
    putc('\n');
    channel_reset(c);
    /* A PIO write abandoned half way: SRST must end it without writing a partial sector. */
    select_dev(c, 0);
    issue(c, 0, CMD_WRITE_SECTORS, 0, 1, 4, 0);
    wait_ready(c, TIMEOUT_MS);
    for (u32 i = 0; i < 100; i++)
        outw((u16)(c->cmd + ATA_DATA), 0xdead);
    channel_reset(c);
    puts("ide-abuse: after-srst: status ");
    put_hex2(rd(c, ATA_STATUS));
    puts(" error ");
    put_hex2(rd(c, ATA_ERROR));
    puts(" count ");
    put_hex2(rd(c, ATA_COUNT));
    puts(" lba ");
    put_hex2(rd(c, ATA_LBA_LOW));
    putc('/');
    put_hex2(rd(c, ATA_LBA_MID));
    putc('/');
    put_hex2(rd(c, ATA_LBA_HIGH));
    puts(" device ");
    put_hex2(rd(c, ATA_DEVICE));
    putc('\n');
    /* Commands to an absent slave. */
    if (drives[1].kind == NONE) {
        ok = nodata(c, 1, CMD_IDENTIFY, 0, 0, 0, 0);
        report("absent-slave-identify", ok);
        channel_reset(c);
    }

    pfx = "ide: ";
    zero(CHECK_BASE, 16 * SECTOR);
    step("read first sectors", pio(c, 0, CMD_READ_SECTORS, 16, 0, 0, CHECK_BASE, 16, 1, 0, 0));
    step("read last sector", pio(c, 0, CMD_READ_SECTORS, 1, cap - 1, 0, CHECK_BASE + 16 * SECTOR, 1, 1, 0, 0));
    if (!mem_equal(CHECK_BASE, DATA_BASE, SECTOR) || !all_zero(CHECK_BASE + SECTOR, 15 * SECTOR)
        || !mem_equal(CHECK_BASE + 16 * SECTOR, DATA_BASE + SECTOR, SECTOR))
        ide_fail("disk changed");
    putln("ide-abuse: disk unchanged");
    putln("ide-abuse: device works");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=cd ---------------- */

static void dump(const char *label, u32 buf, u32 n)
{
    puts(pfx);
    puts(label);
    putc(' ');
    put_hexbytes(buf, n);
    putc('\n');
}

static int cd_position(void)
{
    int pos = find_kind(ATAPI);
    if (pos < 0)
        ide_fail("no ATAPI device");
    return pos;
}

/* TEST UNIT READY until it passes or the sense stops changing; prints each distinct answer. */
static int settle(u32 pos)
{
    struct sense sn, prev = { 0xff, 0xff, 0xff };
    for (u32 i = 0; i < 8; i++) {
        int ready = tur((u32)pos, &sn);
        puts(pfx);
        puts("test unit ready ");
        if (ready) {
            putln("good");
            return 1;
        }
        put_sense(&sn);
        putc('\n');
        if (sn.key == prev.key && sn.asc == prev.asc && sn.ascq == prev.ascq)
            return 0;
        prev = sn;
    }
    return 0;
}

static void action_cd(const struct boot_info *bi)
{
    u32 blocks = opt_u32(bi, "blocks", 0);
    print_all_identify();
    u32 pos = (u32)cd_position();
    u8 cdb[12];
    u8 ev, media;

    cdb_clear(cdb);
    cdb[0] = SCSI_INQUIRY;
    cdb[4] = 36;
    zero(SMALL_BUF, 64);
    step("inquiry", packet(pos, cdb, SMALL_BUF, 64, 36, 0));
    puts(pfx);
    puts("inquiry bytes ");
    put_dec(pkt_bytes);
    putc(' ');
    put_hexbytes(SMALL_BUF, 8);
    char s[9];
    memcpy(s, (void *)(SMALL_BUF + 8), 8);
    s[8] = 0;
    puts(" vendor '");
    puts(s);
    char p[17];
    memcpy(p, (void *)(SMALL_BUF + 16), 16);
    p[16] = 0;
    puts("' product '");
    puts(p);
    memcpy(s, (void *)(SMALL_BUF + 32), 4);
    s[4] = 0;
    puts("' revision '");
    puts(s);
    putln("'");

    if (gesn(pos, &ev, &media)) {
        puts(pfx);
        puts("event status ");
        put_hexbytes(SMALL_BUF, 8);
        putc('\n');
    } else {
        step("event status", 0);
    }
    int ready = settle(pos);
    if (gesn(pos, &ev, &media))
        dump("event status", SMALL_BUF, 8);
    if (!ready) {
        putln("cd: no medium");
        putln("cd: ok");
        exit_qemu(EXIT_PASS);
    }
    u32 last_lba, blk;
    step("read capacity", read_capacity(pos, &last_lba, &blk));
    puts(pfx);
    puts("capacity last lba ");
    put_dec(last_lba);
    puts(" block ");
    put_dec(blk);
    putc('\n');

    cdb_clear(cdb);
    cdb[0] = SCSI_READ_TOC;
    cdb[6] = 1;
    cdb[8] = 32;
    zero(SMALL_BUF, 64);
    step("read toc", packet(pos, cdb, SMALL_BUF, 64, 32, 0));
    dump("toc", SMALL_BUF, pkt_bytes > 32 ? 32 : pkt_bytes);
    cdb[1] = 0x02;   /* MSF */
    step("read toc msf", packet(pos, cdb, SMALL_BUF, 64, 32, 0));
    dump("toc msf", SMALL_BUF, pkt_bytes > 32 ? 32 : pkt_bytes);

    static const u8 pages[] = { 0x01, 0x2a, 0x3f, 0x05 };
    for (u32 i = 0; i < sizeof(pages); i++) {
        cdb_clear(cdb);
        cdb[0] = SCSI_MODE_SENSE_10;
        cdb[2] = pages[i];
        cdb[8] = 64;
        zero(SMALL_BUF, 128);
        puts(pfx);
        puts("mode sense page ");
        put_hex2(pages[i]);
        if (packet(pos, cdb, SMALL_BUF, 128, 64, 0)) {
            puts(" ");
            put_hexbytes(SMALL_BUF, pkt_bytes > 64 ? 64 : pkt_bytes);
            putc('\n');
        } else {
            struct result r = last;
            struct sense sn;
            request_sense(pos, &sn);
            last = r;
            puts(" refused ");
            put_result();
            putc(' ');
            put_sense(&sn);
            putc('\n');
        }
    }

    cdb_clear(cdb);
    cdb[0] = SCSI_GET_CONFIGURATION;
    cdb[8] = 40;
    zero(SMALL_BUF, 64);
    step("get configuration", packet(pos, cdb, SMALL_BUF, 64, 40, 0));
    dump("configuration", SMALL_BUF, pkt_bytes > 40 ? 40 : pkt_bytes);

    u32 total = last_lba + 1;
    if (blocks == 0 || blocks > total)
        blocks = total > 256 ? 256 : total;
    /* READ(10) by PIO with a byte-count limit that is not a multiple of the block, then READ(12) by DMA. */
    zero(DATA_BASE, blocks * CD_BLOCK);
    u32 pio_blocks = blocks < 16 ? blocks : 16;
    step("read(10) pio", cd_read(pos, 0, 0, pio_blocks, DATA_BASE, 0x1800, 0));
    puts(pfx);
    puts("read(10) pio bytes ");
    put_dec(pkt_bytes);
    putc('\n');
    zero(CHECK_BASE, blocks * CD_BLOCK);
    step("read(12) dma", cd_read(pos, 1, 0, blocks, CHECK_BASE, 0, 1));
    if (!mem_equal(DATA_BASE, CHECK_BASE, pio_blocks * CD_BLOCK))
        ide_fail("pio and dma reads differ");
    puts(pfx);
    puts("blocks ");
    put_dec(blocks);
    puts(" checksum ");
    put_hex(checksum_add(FNV_OFFSET, CHECK_BASE, blocks * CD_BLOCK));
    putc('\n');
    /* Past the end: LOGICAL BLOCK ADDRESS OUT OF RANGE. */
    cdb_clear(cdb);
    cdb[0] = SCSI_READ_10;
    put_be32(cdb + 2, total);
    cdb[8] = 1;
    simple(pos, "read past end", cdb, 0);
    cdb_clear(cdb);
    cdb[0] = 0xff;
    simple(pos, "unknown packet command", cdb, 0);
    putln("cd: ok");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=cd-tray ---------------- */

struct tray_state {
    int ready;
    struct sense sn;
    u8 ev, media;
};

static const char *media_name(u8 m)
{
    switch (m & 3) {
    case 0: return "closed-empty";
    case 1: return "open";
    case 2: return "present";
    default: return "open-present";
    }
}

static const char *event_name(u8 e)
{
    switch (e) {
    case 0: return "none";
    case 1: return "eject-request";
    case 2: return "new-media";
    case 3: return "media-removal";
    case 4: return "media-changed";
    default: return "other";
    }
}

static void put_event(u8 ev, u8 media)
{
    puts("cd-tray: event ");
    puts(event_name(ev));
    puts(" media ");
    putln(media_name(media));
}

/*
 * One poll: GET EVENT STATUS NOTIFICATION, then TEST UNIT READY (+ REQUEST SENSE). Prints a line for a
 * media event and for each change of media status or unit readiness/sense, in that order. When the unit
 * changed, the media status is read again, so a host command that lands between the two reads still
 * prints its lines in the same order. Returns the events seen as a bit mask (1 << event code).
 */
static u32 poll_tray(u32 pos, struct tray_state *st)
{
    u8 ev = 0, ev2 = 0, media = st->media;
    if (!gesn(pos, &ev, &media))
        ide_fail("get event status failed");
    u8 media1 = media;
    struct sense sn;
    int ready = tur(pos, &sn);
    int unit_changed = ready != st->ready || sn.key != st->sn.key || sn.asc != st->sn.asc || sn.ascq != st->sn.ascq;
    if (unit_changed && !gesn(pos, &ev2, &media))
        ide_fail("get event status failed");
    if (ev)
        put_event(ev, media1);
    if (ev2)
        put_event(ev2, media);
    if (media != st->media) {
        puts("cd-tray: media ");
        putln(media_name(media));
        st->media = media;
    }
    if (unit_changed) {
        puts("cd-tray: unit ");
        if (ready) {
            putln("ready");
        } else {
            put_sense(&sn);
            putc('\n');
        }
        st->ready = ready;
        st->sn = sn;
    }
    return (ev ? 1u << ev : 0) | (ev2 ? 1u << ev2 : 0);
}

/* Polls until `want` holds; fails after 30 s. kinds: 'e' eject request, 'r' ready, 'o' tray open, 'n' no medium closed. */
static void wait_for(u32 pos, struct tray_state *st, char want, const char *what)
{
    struct deadline dl;
    deadline_set(&dl, 30000);
    for (;;) {
        u32 ev = poll_tray(pos, st);
        if ((want == 'e' && (ev & 2)) || (want == 'r' && st->ready) || (want == 'o' && (st->media & 1))
            || (want == 'n' && st->media == 0 && !st->ready && st->sn.asc == 0x3a))
            return;
        if (expired(&dl)) {
            puts("cd-tray: timeout waiting for ");
            putln(what);
            fail();
        }
        io_delay(200);
    }
}

static void prevent(u32 pos, int on)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_PREVENT_ALLOW;
    cdb[4] = (u8)(on ? 1 : 0);
    simple(pos, on ? "prevent removal" : "allow removal", cdb, 0);
    puts("cd-tray: ");
    putln(on ? "locked" : "unlocked");
}

static void start_stop(u32 pos, int load)
{
    u8 cdb[12];
    cdb_clear(cdb);
    cdb[0] = SCSI_START_STOP_UNIT;
    cdb[4] = (u8)(load ? 0x03 : 0x02);   /* LoEj, with Start for a load */
    if (simple(pos, load ? "load" : "eject", cdb, 0)) {
        puts("cd-tray: ");
        putln(load ? "guest load" : "guest eject");
    }
}

static void medium_checksum(u32 pos)
{
    u32 last_lba, blk;
    if (!read_capacity(pos, &last_lba, &blk))
        ide_fail("read capacity failed");
    u32 n = last_lba + 1 > 64 ? 64 : last_lba + 1;
    if (!cd_read(pos, 1, 0, n, CHECK_BASE, 0, 1))
        ide_fail("read(12) failed");
    puts("cd-tray: medium blocks ");
    put_dec(last_lba + 1);
    puts(" checksum of ");
    put_dec(n);
    puts(" ");
    put_hex(checksum_add(FNV_OFFSET, CHECK_BASE, n * CD_BLOCK));
    putc('\n');
}

/*
 * The guest half of the tray conversation (tests: IdeTrayQmpTest). Each "cd-tray: wait ..." line is the
 * host's cue for its next QMP step; the guest then polls until it sees the outcome.
 */
static void action_tray(void)
{
    for (u32 p = 0; p < 4; p++)
        if (drives[p].kind != NONE) {
            identify(p, drives[p].kind == ATAPI);
            print_identify(p, drives[p].kind == ATAPI);
        }
    pfx = "cd-tray: ";
    u32 pos = (u32)cd_position();
    struct tray_state st = { -1, { 0xff, 0xff, 0xff }, 0, 0xff };
    wait_for(pos, &st, 'r', "a medium at start");
    medium_checksum(pos);

    putln("cd-tray: wait eject");                 /* host: eject (unlocked) */
    wait_for(pos, &st, 'o', "tray open");
    putln("cd-tray: wait close");                 /* host: blockdev-close-tray */
    wait_for(pos, &st, 'n', "closed tray without medium");
    putln("cd-tray: wait change");                /* host: blockdev-change-medium */
    wait_for(pos, &st, 'r', "the new medium");
    medium_checksum(pos);

    prevent(pos, 1);
    putln("cd-tray: wait locked eject");          /* host: eject without force -> eject request */
    wait_for(pos, &st, 'e', "an eject request");
    prevent(pos, 0);
    start_stop(pos, 0);
    wait_for(pos, &st, 'o', "tray open after guest eject");
    putln("cd-tray: wait guest load");            /* host: query-block */
    /* Give the host's query-block time to see the open tray before the guest closes it. */
    struct deadline pause;
    deadline_set(&pause, 500);
    while (!expired(&pause))
        io_delay(10);
    start_stop(pos, 1);
    wait_for(pos, &st, 'r', "medium after guest load");

    prevent(pos, 1);
    putln("cd-tray: wait open locked");           /* host: blockdev-open-tray (locked: request only) */
    wait_for(pos, &st, 'e', "an eject request (open-tray)");
    putln("cd-tray: wait force eject");           /* host: eject force=true */
    wait_for(pos, &st, 'o', "tray open after forced eject");
    putln("cd-tray: wait insert");                /* host: blockdev-remove-medium, insert-medium, close-tray */
    wait_for(pos, &st, 'r', "medium after insert");
    medium_checksum(pos);
    struct sense sn;
    request_sense(pos, &sn);
    puts("cd-tray: final ");
    put_sense(&sn);
    putc('\n');
    putln("cd-tray: done");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=ide-irq ---------------- */

/* ISA IRQs 14 and 15 reach IOAPIC pins 14 and 15 (no override in QEMU's MADT): edge, active high. */
#define IDE_VECTOR_BASE 0x4e          /* irq 14 -> 0x4e, irq 15 -> 0x4f */

static volatile u32 irq_count[2];
static volatile u8 irq_status[2], irq_bm[2];

/* The handler does what a driver's does: bus-master status first, then the status register (which
 * deasserts INTRQ), clears the bus master's interrupt bit, EOI. */
void ide_interrupt(u32 irq)
{
    const struct channel *c = &chans[irq - 14];
    irq_bm[irq - 14] = inb((u16)(c->bm + BM_STATUS));
    irq_status[irq - 14] = rd(c, ATA_STATUS);
    outb((u16)(c->bm + BM_STATUS), BM_ST_INTR);
    irq_count[irq - 14]++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

/* Waits (interrupts enabled in short windows) until the channel has taken `n` interrupts in all. */
static int wait_irq(u32 ch, u32 n, u32 ms)
{
    struct deadline dl;
    deadline_set(&dl, ms);
    while (irq_count[ch] < n) {
        __asm__ volatile("sti; pause; cli");
        if (expired(&dl))
            return 0;
    }
    return 1;
}

static void irq_line(const char *what, u32 ch, u32 before, int with_bm)
{
    puts("ide-irq: ");
    puts(what);
    puts(": ");
    put_dec(irq_count[ch] - before);
    puts(" interrupt(s) on irq ");
    put_dec(14 + ch);
    puts(" status ");
    put_hex2(irq_status[ch]);
    if (with_bm) {
        puts(" bm ");
        put_hex2(irq_bm[ch]);
    }
    putc('\n');
}

static void irq_enable(u32 ch)
{
    const struct channel *c = &chans[ch];
    set_gate(IDE_VECTOR_BASE + ch, (u32)(ch ? ide_isr15 : ide_isr14));
    ioapic_write(IOAPIC_REDTBL(14 + ch) + 1, 0);
    ioapic_write(IOAPIC_REDTBL(14 + ch), IDE_VECTOR_BASE + ch);
    (void)rd(c, ATA_STATUS);           /* nothing pending when the line is unmasked */
    outb(c->ctl, 0);                   /* nIEN clear */
}

/*
 * Interrupt-driven completions: FLUSH CACHE (one interrupt), READ DMA (one, bus-master INTR set), READ
 * SECTORS of 2 (one per DRQ block), WRITE SECTORS of 2 (one per block written), nothing with nIEN set;
 * on an ATAPI device of the secondary channel, TEST UNIT READY on irq 15.
 */
static void action_irq(void)
{
    if (drives[0].kind != ATA)
        ide_fail("hda is not an ATA disk");
    const struct channel *c = &chans[0];
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    irq_enable(0);

    u32 before = irq_count[0];
    select_dev(c, 0);
    issue(c, 0, CMD_FLUSH_CACHE, 0, 0, 0, 0);
    wait_irq(0, before + 1, TIMEOUT_MS);
    irq_line("flush cache", 0, before, 0);

    before = irq_count[0];
    prd_build(PRD_BASE, DATA_BASE, 8 * SECTOR, 0x10000);
    select_dev(c, 0);
    bm_prepare(c, PRD_BASE, 1);
    issue(c, 0, CMD_READ_DMA, 0, 8, 0, 0);
    outb((u16)(c->bm + BM_COMMAND), BM_CMD_WRITE | BM_CMD_START);
    wait_irq(0, before + 1, TIMEOUT_MS);
    outb((u16)(c->bm + BM_COMMAND), BM_CMD_WRITE);
    irq_line("read dma", 0, before, 1);

    before = irq_count[0];
    select_dev(c, 0);
    issue(c, 0, CMD_READ_SECTORS, 0, 2, 0, 0);
    for (u32 i = 0; i < 2; i++) {
        if (!wait_irq(0, before + i + 1, TIMEOUT_MS))
            break;
        insw_block((u16)(c->cmd + ATA_DATA), DATA_BASE + i * SECTOR, SECTOR / 2);
    }
    io_delay(100);
    irq_line("read sectors x2", 0, before, 0);

    before = irq_count[0];
    select_dev(c, 0);
    issue(c, 0, CMD_WRITE_SECTORS, 0, 2, 0, 0);
    wait_ready(c, TIMEOUT_MS);        /* the first block is requested without an interrupt */
    for (u32 i = 0; i < 2; i++) {
        outsw_block((u16)(c->cmd + ATA_DATA), DATA_BASE + i * SECTOR, SECTOR / 2);
        if (!wait_irq(0, before + i + 1, TIMEOUT_MS))
            break;
    }
    io_delay(100);
    irq_line("write sectors x2", 0, before, 0);

    outb(c->ctl, ATA_CTL_NIEN);
    before = irq_count[0];
    select_dev(c, 0);
    issue(c, 0, CMD_FLUSH_CACHE, 0, 0, 0, 0);
    wait_irq(0, before + 1, 100);
    wait_ready(c, TIMEOUT_MS);
    irq_line("flush cache with nIEN", 0, before, 0);

    if (drives[2].kind == ATAPI) {
        irq_enable(1);
        before = irq_count[1];
        const struct channel *s = &chans[1];
        u8 cdb[12];
        cdb_clear(cdb);
        select_dev(s, 0);
        wr(s, ATA_FEATURES, 0);
        wr(s, ATA_LBA_MID, 0);
        wr(s, ATA_LBA_HIGH, 0);
        wr(s, ATA_COMMAND, CMD_PACKET);
        delay400(s);
        wait_ready(s, TIMEOUT_MS);    /* the packet is requested without an interrupt */
        for (u32 i = 0; i < 6; i++)
            outw((u16)(s->cmd + ATA_DATA), 0);
        wait_irq(1, before + 1, TIMEOUT_MS);
        io_delay(100);
        irq_line("cd test unit ready", 1, before, 0);
        outb(s->ctl, ATA_CTL_NIEN);
    }
    ioapic_write(IOAPIC_REDTBL(14), IOAPIC_MASKED | IDE_VECTOR_BASE);
    ioapic_write(IOAPIC_REDTBL(15), IOAPIC_MASKED | (IDE_VECTOR_BASE + 1));
    putln("ide-irq: ok");
    exit_qemu(EXIT_PASS);
}

void action_ide(const struct boot_info *bi, const char *action)
{
    int cd = action[0] == 'c';
    setup(cd ? (streq(action, "cd-tray") ? "cd-tray: " : "cd: ") : streq(action, "ide-read") ? "ide-read: " : "ide: ");
    if (streq(action, "ide"))
        action_rw(bi);
    else if (streq(action, "ide-read"))
        action_read(bi);
    else if (streq(action, "ide-abuse"))
        action_abuse();
    else if (streq(action, "ide-irq"))
        action_irq();
    else if (streq(action, "cd"))
        action_cd(bi);
    else if (streq(action, "cd-tray"))
        action_tray();
    puts("jvmm-tiny: unknown action ");
    putln(action);
    fail();
}
