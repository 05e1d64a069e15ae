/*
 * A tiny virtio-blk driver over the virtio 1.x PCI transport (modern capabilities only, so it works on
 * QEMU's transitional 0x1001 device and on a modern-only 0x1042 one), and the blk* guest actions.
 * Everything is polled with a TSC-based timeout so a broken device is reported, never waited on forever.
 */
#include "guest.h"
#include "virtio.h"

/* Fixed guest-physical areas (the kernel sits at 1 MiB and is far smaller than 3 MiB). */
#define VQ_BASE 0x00400000u          /* descriptor table; avail at +0x1000, used at +0x2000 */
#define VQ_AVAIL (VQ_BASE + 0x1000)
#define VQ_USED (VQ_BASE + 0x2000)
#define INDIRECT_BASE 0x00410000u    /* one 1 KiB indirect table per slot */
#define LONG_TABLE 0x00420000u       /* abuse: an indirect table longer than any queue */
#define HDR_BASE 0x00430000u         /* per slot: 16-byte header, status at +16, discard segment at +32 */
#define DATA_BASE 0x00800000u        /* per slot: 1 MiB data buffer */
#define CHECK_BASE 0x01800000u       /* second buffer for read-back comparisons */
#define OUTSIDE_RAM 0x10000000u      /* 256 MiB: not RAM with -m 128, below the PCI hole */
#define ABOVE_PHYS (1ull << 52)      /* beyond any CPU's physical address width */

#define QUEUE_MAX 256
#define MAX_SLOTS 16
#define SLOT_BYTES 0x100000u
#define MAX_DATA_SEGS 32             /* data descriptors per request with one slot */
#define MSIX_CONFIG_VECTOR 0x42
#define MSIX_QUEUE_VECTOR 0x41

#define RES_NO_COMPLETION (-1)
#define RES_NEEDS_RESET (-2)

struct vdesc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
} __attribute__((packed));

struct vblk {
    u32 bdf;
    u16 device_id;
    u32 common, isr, devcfg, notify;  /* MMIO addresses from the capabilities */
    u32 notify_mult;
    u32 notify_q;                     /* queue 0's notify address */
    u32 msix_table;                   /* 0 when MSI-X is not in use */
    u32 msix_cap;
    u32 offered_lo, offered_hi;
    u32 features_lo, features_hi;     /* negotiated */
    u16 qsize;
    u16 avail_idx;                    /* next free avail slot (free-running) */
    u16 last_used;                    /* next used element to consume (free-running) */
    u32 slot_descs;                   /* descriptors reserved per slot (direct mode) */
    u32 seg_max, size_max;
    int indirect, event_idx, msix;
    u32 timeout_ms;                   /* per request (timeout=, default 2000): long for werror=stop tests */
    u32 nq;                           /* queues set up (blk-mq: queues=, with VIRTIO_BLK_F_MQ); 0 means 1 */
};

static struct vblk vb;
volatile u32 blk_irq_queue, blk_irq_config;

/* ---------------- small helpers ---------------- */

static inline u8 rd8(u32 a) { return *(volatile u8 *)a; }
static inline u16 rd16(u32 a) { return *(volatile u16 *)a; }
static inline u32 rd32(u32 a) { return *(volatile u32 *)a; }
static inline void wr8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static inline void wr16(u32 a, u16 v) { *(volatile u16 *)a = v; }
static inline void wr32(u32 a, u32 v) { *(volatile u32 *)a = v; }

/* Compiler barrier; x86 keeps stores ordered with stores and loads with loads. */
static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }
/* Store-load fence (a locked add: plain and emulated everywhere, unlike mfence under some emulators). */
static inline void full_fence(void) { __asm__ volatile("lock; addl $0, (%%esp)" : : : "memory", "cc"); }

static void blk_fail(const char *prefix, const char *what)
{
    puts(prefix);
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
        puts("blk: bad value for ");
        putln(key);
        fail();
    }
    return v;
}

/* ---------------- transport ---------------- */

static u8 status_get(void) { return rd8(vb.common + VIRTIO_PCI_COMMON_STATUS); }
static void status_set(u8 s) { wr8(vb.common + VIRTIO_PCI_COMMON_STATUS, s); }

static int has_feature(u32 bit)
{
    return bit < 32 ? (vb.features_lo >> bit) & 1 : (vb.features_hi >> (bit - 32)) & 1;
}

static int offered(u32 bit)
{
    return bit < 32 ? (vb.offered_lo >> bit) & 1 : (vb.offered_hi >> (bit - 32)) & 1;
}

static u32 bar_address(u32 bar)
{
    u32 lo = pci_read32(vb.bdf, PCI_BAR0 + 4 * bar);
    if (lo & 1)
        return 0; /* I/O BAR: not used by the modern transport here */
    if ((lo & 0x6) == 0x4 && pci_read32(vb.bdf, PCI_BAR0 + 4 * bar + 4) != 0)
        return 0; /* 64-bit BAR above 4 GiB: unreachable without paging */
    return lo & ~0xfu;
}

/* Walks the capability list: the four virtio structures and MSI-X. Returns 0 if one is missing. */
static int find_caps(void)
{
    if (!(pci_read16(vb.bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    u32 pos = pci_read8(vb.bdf, PCI_CAPABILITY_LIST) & ~3u;
    for (u32 n = 0; pos && n < 48; n++) {
        u8 id = pci_read8(vb.bdf, pos);
        if (id == PCI_CAP_ID_MSIX) {
            vb.msix_cap = pos;
        } else if (id == PCI_CAP_ID_VNDR) {
            u8 type = pci_read8(vb.bdf, pos + VIRTIO_PCI_CAP_CFG_TYPE);
            u32 bar = pci_read8(vb.bdf, pos + VIRTIO_PCI_CAP_BAR);
            u32 off = pci_read32(vb.bdf, pos + VIRTIO_PCI_CAP_OFFSET);
            u32 base = bar < 6 ? bar_address(bar) : 0;
            /* The first capability of each type is the preferred one (4.1.4). */
            if (base) {
                if (type == VIRTIO_PCI_CAP_COMMON_CFG && !vb.common)
                    vb.common = base + off;
                else if (type == VIRTIO_PCI_CAP_ISR_CFG && !vb.isr)
                    vb.isr = base + off;
                else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !vb.devcfg)
                    vb.devcfg = base + off;
                else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !vb.notify) {
                    vb.notify = base + off;
                    vb.notify_mult = pci_read32(vb.bdf, pos + VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER);
                }
            }
        }
        pos = pci_read8(vb.bdf, pos + 1) & ~3u;
    }
    return vb.common && vb.isr && vb.devcfg && vb.notify;
}

static void device_reset(void)
{
    status_set(0);
    /* 4.1.4.3.2: the driver waits until the status reads back 0. */
    for (u32 i = 0; i < 100000 && status_get() != 0; i++)
        ;
}

static u64 read_capacity(void)
{
    u8 gen;
    u64 cap;
    do {
        gen = rd8(vb.common + VIRTIO_PCI_COMMON_CFGGENERATION);
        cap = (u64)rd32(vb.devcfg + VIRTIO_BLK_CFG_CAPACITY + 4) << 32 | rd32(vb.devcfg + VIRTIO_BLK_CFG_CAPACITY);
    } while (gen != rd8(vb.common + VIRTIO_PCI_COMMON_CFGGENERATION));
    return cap;
}

static void msix_entry(u32 index, u32 vector)
{
    u32 e = vb.msix_table + index * PCI_MSIX_ENTRY_SIZE;
    wr32(e + PCI_MSIX_ENTRY_ADDR_LO, LAPIC_BASE);
    wr32(e + PCI_MSIX_ENTRY_ADDR_HI, 0);
    wr32(e + PCI_MSIX_ENTRY_DATA, vector);   /* fixed delivery, edge */
    wr32(e + PCI_MSIX_ENTRY_CTRL, 0);        /* unmasked */
}

static int msix_setup(void)
{
    if (!vb.msix_cap)
        return 0;
    u32 tbl = pci_read32(vb.bdf, vb.msix_cap + PCI_MSIX_TABLE);
    u32 base = bar_address(tbl & PCI_MSIX_BIR_MASK);
    if (!base)
        return 0;
    vb.msix_table = base + (tbl & ~PCI_MSIX_BIR_MASK);
    u16 ctl = pci_read16(vb.bdf, vb.msix_cap + PCI_MSIX_FLAGS);
    pci_write16(vb.bdf, vb.msix_cap + PCI_MSIX_FLAGS, ctl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    msix_entry(0, MSIX_CONFIG_VECTOR);
    msix_entry(1, MSIX_QUEUE_VECTOR);
    pci_write16(vb.bdf, vb.msix_cap + PCI_MSIX_FLAGS, (ctl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
    return 1;
}

/* Reset, feature negotiation, queue 0 set-up, DRIVER_OK (3.1.1). Prints the reason and returns 0 on failure. */
static int mq_queues_init(void);

static int device_init(void)
{
    device_reset();
    status_set(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    status_set(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    wr32(vb.common + VIRTIO_PCI_COMMON_DFSELECT, 0);
    vb.offered_lo = rd32(vb.common + VIRTIO_PCI_COMMON_DF);
    wr32(vb.common + VIRTIO_PCI_COMMON_DFSELECT, 1);
    vb.offered_hi = rd32(vb.common + VIRTIO_PCI_COMMON_DF);
    if (!offered(VIRTIO_F_VERSION_1)) {
        putln("blk: device does not offer VERSION_1");
        return 0;
    }
    u32 want = 1u << VIRTIO_BLK_F_SEG_MAX | 1u << VIRTIO_BLK_F_SIZE_MAX | 1u << VIRTIO_BLK_F_BLK_SIZE
               | 1u << VIRTIO_BLK_F_FLUSH | 1u << VIRTIO_BLK_F_RO | 1u << VIRTIO_BLK_F_DISCARD
               | 1u << VIRTIO_BLK_F_WRITE_ZEROES;
    if (vb.indirect)
        want |= 1u << VIRTIO_RING_F_INDIRECT_DESC;
    if (vb.event_idx)
        want |= 1u << VIRTIO_RING_F_EVENT_IDX;
    if (vb.nq > 1)
        want |= 1u << VIRTIO_BLK_F_MQ;
    vb.features_lo = vb.offered_lo & want;
    vb.features_hi = 1u << (VIRTIO_F_VERSION_1 - 32);
    wr32(vb.common + VIRTIO_PCI_COMMON_GFSELECT, 0);
    wr32(vb.common + VIRTIO_PCI_COMMON_GF, vb.features_lo);
    wr32(vb.common + VIRTIO_PCI_COMMON_GFSELECT, 1);
    wr32(vb.common + VIRTIO_PCI_COMMON_GF, vb.features_hi);
    status_set(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(status_get() & VIRTIO_CONFIG_S_FEATURES_OK)) {
        putln("blk: FEATURES_OK not accepted");
        return 0;
    }
    if (vb.msix) {
        wr16(vb.common + VIRTIO_PCI_COMMON_MSIX, 0);
        if (rd16(vb.common + VIRTIO_PCI_COMMON_MSIX) != 0) {
            putln("blk: config MSI-X vector rejected");
            return 0;
        }
    }
    wr16(vb.common + VIRTIO_PCI_COMMON_Q_SELECT, 0);
    u16 max = rd16(vb.common + VIRTIO_PCI_COMMON_Q_SIZE);
    if (max == 0) {
        putln("blk: queue 0 does not exist");
        return 0;
    }
    vb.qsize = max > QUEUE_MAX ? QUEUE_MAX : max;
    wr16(vb.common + VIRTIO_PCI_COMMON_Q_SIZE, vb.qsize);
    memset((void *)VQ_BASE, 0, 0x3000);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_DESCLO, VQ_BASE);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_DESCHI, 0);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_AVAILLO, VQ_AVAIL);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_USEDLO, VQ_USED);
    wr32(vb.common + VIRTIO_PCI_COMMON_Q_USEDHI, 0);
    if (vb.msix) {
        wr16(vb.common + VIRTIO_PCI_COMMON_Q_MSIX, 1);
        if (rd16(vb.common + VIRTIO_PCI_COMMON_Q_MSIX) != 1) {
            putln("blk: queue MSI-X vector rejected");
            return 0;
        }
    }
    vb.notify_q = vb.notify + rd16(vb.common + VIRTIO_PCI_COMMON_Q_NOFF) * vb.notify_mult;
    wr16(vb.common + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    vb.avail_idx = 0;
    vb.last_used = 0;
    if (vb.nq > 1 && !mq_queues_init())
        return 0;
    vb.seg_max = has_feature(VIRTIO_BLK_F_SEG_MAX) ? rd32(vb.devcfg + VIRTIO_BLK_CFG_SEG_MAX) : 1;
    vb.size_max = has_feature(VIRTIO_BLK_F_SIZE_MAX) ? rd32(vb.devcfg + VIRTIO_BLK_CFG_SIZE_MAX) : 0;
    status_set(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK
               | VIRTIO_CONFIG_S_DRIVER_OK);
    return 1;
}

/* ---------------- virtqueue ---------------- */

static volatile struct vdesc *desc_table(void) { return (volatile struct vdesc *)VQ_BASE; }
static volatile u16 *avail_flags(void) { return (volatile u16 *)VQ_AVAIL; }
static volatile u16 *avail_idx_p(void) { return (volatile u16 *)(VQ_AVAIL + 2); }
static volatile u16 *avail_ring(void) { return (volatile u16 *)(VQ_AVAIL + 4); }
static volatile u16 *used_event_p(void) { return (volatile u16 *)(VQ_AVAIL + 4 + 2 * vb.qsize); }
static volatile u16 *used_flags(void) { return (volatile u16 *)VQ_USED; }
static volatile u16 *used_idx_p(void) { return (volatile u16 *)(VQ_USED + 2); }
static volatile u32 *used_ring(void) { return (volatile u32 *)(VQ_USED + 4); }  /* id, len pairs */
static volatile u16 *avail_event_p(void) { return (volatile u16 *)(VQ_USED + 4 + 8 * vb.qsize); }

static void set_desc(volatile struct vdesc *d, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
    d[i].addr = addr;
    d[i].len = len;
    d[i].flags = flags;
    d[i].next = next;
}

/* Publishes a chain head and notifies the device unless it asked not to be (2.6.10.2 / 2.6.7.2). */
static void publish(u16 head, int interrupts)
{
    if (vb.event_idx && has_feature(VIRTIO_RING_F_EVENT_IDX))
        /* Polling: an event index just behind the consumer never fires. */
        *used_event_p() = interrupts ? vb.last_used : (u16)(vb.last_used - 1);
    else
        *avail_flags() = interrupts ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
    avail_ring()[vb.avail_idx % vb.qsize] = head;
    barrier();
    u16 old = *avail_idx_p();
    u16 new_idx = (u16)(vb.avail_idx + 1);
    vb.avail_idx = new_idx;
    *avail_idx_p() = new_idx;
    full_fence();
    int kick;
    if (has_feature(VIRTIO_RING_F_EVENT_IDX)) {
        u16 ev = *avail_event_p();
        kick = (u16)(new_idx - ev - 1) < (u16)(new_idx - old);
    } else {
        kick = !(*used_flags() & VIRTQ_USED_F_NO_NOTIFY);
    }
    if (kick)
        wr16(vb.notify_q, 0);
}

/*
 * Waits for the next used element. Returns 1 with its id and len, RES_NEEDS_RESET when the device
 * status shows NEEDS_RESET, RES_NO_COMPLETION at the deadline.
 */
static int wait_used(u32 timeout_ms, u32 *id, u32 *len, volatile u32 *irq_counter)
{
    struct deadline dl;
    deadline_set(&dl, timeout_ms);
    for (u32 n = 0;; n++) {
        if (*used_idx_p() != vb.last_used) {
            barrier();
            u32 i = vb.last_used % vb.qsize;
            *id = used_ring()[2 * i];
            *len = used_ring()[2 * i + 1];
            vb.last_used++;
            return 1;
        }
        if (irq_counter && *irq_counter == 0 && (n & 15) == 0)
            __asm__ volatile("sti; pause; cli");
        if ((n & 1023) == 1023 && (status_get() & VIRTIO_CONFIG_S_NEEDS_RESET))
            return RES_NEEDS_RESET;
        if (expired(&dl))
            return (status_get() & VIRTIO_CONFIG_S_NEEDS_RESET) ? RES_NEEDS_RESET : RES_NO_COMPLETION;
        __asm__ volatile("pause");
    }
}

/* ---------------- requests ---------------- */

struct req {
    u32 type;
    u64 sector;
    u32 buf;        /* data buffer (guest-physical) */
    u32 len;        /* data bytes */
    u32 seg;        /* bytes per data descriptor */
    int device_writes;  /* data is written by the device (IN, GET_ID) */
};

static u32 hdr_addr(u32 slot) { return HDR_BASE + slot * 64; }
static u32 status_addr(u32 slot) { return hdr_addr(slot) + 16; }

/* Builds a request's chain in the slot's descriptors (or its indirect table); returns the head. */
static int build(u32 slot, const struct req *r)
{
    u32 h = hdr_addr(slot);
    wr32(h, r->type);
    wr32(h + 4, 0);
    wr32(h + 8, (u32)r->sector);
    wr32(h + 12, (u32)(r->sector >> 32));
    wr8(status_addr(slot), 0xff);
    u32 seg = r->seg ? r->seg : r->len;
    if (vb.size_max && seg > vb.size_max)
        seg = vb.size_max;
    u32 nseg = r->len ? (r->len + seg - 1) / seg : 0;
    u32 cap = has_feature(VIRTIO_RING_F_INDIRECT_DESC) && vb.indirect ? MAX_DATA_SEGS : vb.slot_descs - 2;
    if (nseg > cap || (has_feature(VIRTIO_BLK_F_SEG_MAX) && nseg > vb.seg_max)) {
        putln("blk: request needs too many segments");
        fail();
    }
    int ind = has_feature(VIRTIO_RING_F_INDIRECT_DESC) && vb.indirect;
    volatile struct vdesc *d = ind ? (volatile struct vdesc *)(INDIRECT_BASE + slot * 1024) : desc_table();
    u32 base = ind ? 0 : slot * vb.slot_descs;
    u32 i = base;
    set_desc(d, i, h, 16, VIRTQ_DESC_F_NEXT, (u16)(i + 1));
    i++;
    u16 dflags = (u16)(VIRTQ_DESC_F_NEXT | (r->device_writes ? VIRTQ_DESC_F_WRITE : 0));
    for (u32 off = 0; off < r->len; off += seg, i++)
        set_desc(d, i, r->buf + off, r->len - off < seg ? r->len - off : seg, dflags, (u16)(i + 1));
    set_desc(d, i, status_addr(slot), 1, VIRTQ_DESC_F_WRITE, 0);
    if (!ind)
        return (int)base;
    set_desc(desc_table(), slot, INDIRECT_BASE + slot * 1024, (i + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
    return (int)slot;
}

static u32 slot_of(u32 head)
{
    return has_feature(VIRTIO_RING_F_INDIRECT_DESC) && vb.indirect ? head : head / vb.slot_descs;
}

/* One request, synchronously: the status byte (0..255), or RES_NO_COMPLETION / RES_NEEDS_RESET. */
static int do_request(const struct req *r, u32 *used_len)
{
    u32 id, len;
    publish((u16)build(0, r), 0);
    int res = wait_used(vb.timeout_ms, &id, &len, 0);
    if (res != 1)
        return res;
    if (used_len)
        *used_len = len;
    return rd8(status_addr(slot_of(id)));
}

static const char *status_name(int s)
{
    switch (s) {
    case VIRTIO_BLK_S_OK: return "OK";
    case VIRTIO_BLK_S_IOERR: return "IOERR";
    case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
    case RES_NO_COMPLETION: return "no completion";
    case RES_NEEDS_RESET: return "needs-reset";
    default: return "?";
    }
}

static void put_status(int s)
{
    if (s >= 0) {
        puts("status ");
        put_dec((u32)s);
        puts(" (");
        puts(status_name(s));
        puts(")");
    } else {
        puts(status_name(s));
    }
}

/* Reads or writes `sectors` sectors in requests of up to 64 KiB with `seg`-byte data descriptors. */
static int rw(u32 type, u64 sector, u32 buf, u32 sectors, u32 seg)
{
    u32 segs = MAX_DATA_SEGS;
    if (has_feature(VIRTIO_BLK_F_SEG_MAX) && vb.seg_max < segs)
        segs = vb.seg_max;
    if (vb.size_max && seg > vb.size_max)
        seg = vb.size_max;
    u32 per_req = seg >= 65536 / segs ? 128 : segs * seg / 512;
    if (per_req == 0)
        per_req = 1;
    while (sectors) {
        u32 n = sectors > per_req ? per_req : sectors;
        struct req r = { type, sector, buf, n * 512, seg, type == VIRTIO_BLK_T_IN };
        int s = do_request(&r, 0);
        if (s != VIRTIO_BLK_S_OK)
            return s;
        sector += n;
        buf += n * 512;
        sectors -= n;
    }
    return VIRTIO_BLK_S_OK;
}

static int simple_request(u32 type, u64 sector, u32 buf, u32 len, int device_writes, u32 *used_len)
{
    struct req r = { type, sector, buf, len, 0, device_writes };
    return do_request(&r, used_len);
}

/* ---------------- set-up shared by the actions ---------------- */

static void print_features(void)
{
    static const struct { u32 bit; const char *name; } names[] = {
        { VIRTIO_BLK_F_SIZE_MAX, "SIZE_MAX" }, { VIRTIO_BLK_F_SEG_MAX, "SEG_MAX" },
        { VIRTIO_BLK_F_GEOMETRY, "GEOMETRY" }, { VIRTIO_BLK_F_RO, "RO" },
        { VIRTIO_BLK_F_BLK_SIZE, "BLK_SIZE" }, { VIRTIO_BLK_F_FLUSH, "FLUSH" },
        { VIRTIO_BLK_F_TOPOLOGY, "TOPOLOGY" }, { VIRTIO_BLK_F_CONFIG_WCE, "CONFIG_WCE" },
        { VIRTIO_BLK_F_MQ, "MQ" }, { VIRTIO_BLK_F_DISCARD, "DISCARD" },
        { VIRTIO_BLK_F_WRITE_ZEROES, "WRITE_ZEROES" }, { VIRTIO_RING_F_INDIRECT_DESC, "INDIRECT_DESC" },
        { VIRTIO_RING_F_EVENT_IDX, "EVENT_IDX" }, { VIRTIO_F_VERSION_1, "VERSION_1" },
    };
    puts("blk: features");
    for (u32 i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (offered(names[i].bit)) {
            putc(' ');
            puts(names[i].name);
        }
    putc('\n');
}

static void print_config(void)
{
    puts("blk: capacity ");
    put_u64(read_capacity());
    puts(" blk_size ");
    put_dec(offered(VIRTIO_BLK_F_BLK_SIZE) ? rd32(vb.devcfg + VIRTIO_BLK_CFG_BLK_SIZE) : 512);
    puts(" seg_max ");
    put_dec(offered(VIRTIO_BLK_F_SEG_MAX) ? rd32(vb.devcfg + VIRTIO_BLK_CFG_SEG_MAX) : 0);
    puts(" size_max ");
    put_dec(offered(VIRTIO_BLK_F_SIZE_MAX) ? rd32(vb.devcfg + VIRTIO_BLK_CFG_SIZE_MAX) : 0);
    puts(" num_queues ");
    put_dec(offered(VIRTIO_BLK_F_MQ) ? rd16(vb.devcfg + VIRTIO_BLK_CFG_NUM_QUEUES) : 1);
    puts(" queue_size ");
    put_dec(vb.qsize);
    putc('\n');
    if (offered(VIRTIO_BLK_F_DISCARD)) {
        puts("blk: discard max_sectors ");
        put_dec(rd32(vb.devcfg + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS));
        puts(" max_seg ");
        put_dec(rd32(vb.devcfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG));
        puts(" alignment ");
        put_dec(rd32(vb.devcfg + VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT));
        putc('\n');
    }
    if (offered(VIRTIO_BLK_F_WRITE_ZEROES)) {
        puts("blk: write-zeroes max_sectors ");
        put_dec(rd32(vb.devcfg + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS));
        puts(" max_seg ");
        put_dec(rd32(vb.devcfg + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG));
        putc('\n');
    }
}

/* Finds the device, maps its capabilities and brings it to DRIVER_OK; fails the run if it cannot. */
static void blk_setup(const struct boot_info *bi, u32 slots, int msix)
{
    static const u16 ids[] = { PCI_DEVICE_VIRTIO_BLK_TRANSITIONAL, PCI_DEVICE_VIRTIO_BLK_MODERN };
    calibrate_tsc();
    memset(&vb, 0, sizeof(vb));
    if (!pci_find(PCI_VENDOR_VIRTIO, ids, 2, &vb.bdf))
        blk_fail("blk: ", "no virtio-blk device");
    static const char hex[] = "0123456789abcdef";
    puts("blk: pci 00:");
    putc(hex[vb.bdf >> 7]);
    putc(hex[(vb.bdf >> 3) & 0xf]);
    putc('.');
    put_dec(vb.bdf & 7);
    putc('\n');
    pci_write16(vb.bdf, PCI_COMMAND, pci_read16(vb.bdf, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (!find_caps())
        blk_fail("blk: ", "virtio capabilities missing or BAR unreachable");
    vb.indirect = (int)opt_u32(bi, "indirect", 0);
    vb.event_idx = (int)opt_u32(bi, "eventidx", 0);
    vb.timeout_ms = opt_u32(bi, "timeout", 2000);
    vb.nq = opt_u32(bi, "queues", 1);
    vb.slot_descs = slots == 1 ? MAX_DATA_SEGS + 2 : 16;
    if (msix) {
        if (!msix_setup())
            blk_fail("blk: ", "no usable MSI-X capability");
        vb.msix = 1;
    }
    if (!device_init())
        fail();
    if (slots * vb.slot_descs > vb.qsize && !(vb.indirect && has_feature(VIRTIO_RING_F_INDIRECT_DESC)))
        blk_fail("blk: ", "queue too small");
    if (vb.indirect || vb.event_idx) {
        puts("blk: ring indirect=");
        put_dec((u32)has_feature(VIRTIO_RING_F_INDIRECT_DESC));
        puts(" event_idx=");
        put_dec((u32)has_feature(VIRTIO_RING_F_EVENT_IDX));
        putc('\n');
    }
}

static void print_serial(void)
{
    u32 b = DATA_BASE;
    memset((void *)b, 0, VIRTIO_BLK_ID_BYTES + 1);
    int s = simple_request(VIRTIO_BLK_T_GET_ID, 0, b, VIRTIO_BLK_ID_BYTES, 1, 0);
    if (s != VIRTIO_BLK_S_OK) {
        puts("blk: get-id ");
        put_status(s);
        putc('\n');
        return;
    }
    puts("blk: serial '");
    puts((const char *)b);
    putln("'");
}

/* ---------------- action=blk: write a pattern, flush, read back, zero, discard ---------------- */

static void check_status(const char *what, int s)
{
    if (s == VIRTIO_BLK_S_OK)
        return;
    puts("blk: ");
    puts(what);
    putc(' ');
    put_status(s);
    putc('\n');
    fail();
}

/* A single-range discard / write-zeroes request (5.2.6: struct virtio_blk_discard_write_zeroes). */
static int range_request(u32 type, u64 sector, u32 sectors)
{
    u32 seg = hdr_addr(0) + 32;
    wr32(seg, (u32)sector);
    wr32(seg + 4, (u32)(sector >> 32));
    wr32(seg + 8, sectors);
    wr32(seg + 12, 0);  /* flags: no unmap */
    return simple_request(type, 0, seg, 16, 0, 0);
}

static void action_rw(const struct boot_info *bi)
{
    u32 start = opt_u32(bi, "start", 0), sectors = opt_u32(bi, "sectors", 64), seed = opt_u32(bi, "seed", 0);
    u32 seg = opt_u32(bi, "seg", 4096);
    if (sectors < 16 || sectors > 2048)
        blk_fail("blk: ", "sectors= must be 16..2048");
    blk_setup(bi, 1, 0);
    print_features();
    print_config();
    print_serial();
    u32 bytes = sectors * 512;
    pattern_fill(DATA_BASE, (u64)start * 512, bytes, seed);
    check_status("write", rw(VIRTIO_BLK_T_OUT, start, DATA_BASE, sectors, seg));
    puts("blk: wrote ");
    put_dec(sectors);
    puts(" sectors at ");
    put_dec(start);
    putc('\n');
    if (has_feature(VIRTIO_BLK_F_FLUSH)) {
        check_status("flush", simple_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0));
        putln("blk: flush ok");
    }
    memset((void *)CHECK_BASE, 0xa5, bytes);
    check_status("read", rw(VIRTIO_BLK_T_IN, start, CHECK_BASE, sectors, seg));
    if (!mem_equal(DATA_BASE, CHECK_BASE, bytes))
        blk_fail("blk: ", "read back differs from what was written");
    putln("blk: read back ok");
    /* The last 8 sectors are zeroed, then discarded (their content stays zero either way). */
    u64 tail = start + sectors - 8;
    if (has_feature(VIRTIO_BLK_F_WRITE_ZEROES)) {
        check_status("write-zeroes", range_request(VIRTIO_BLK_T_WRITE_ZEROES, tail, 8));
        memset((void *)CHECK_BASE, 0xa5, 8 * 512);
        check_status("read", rw(VIRTIO_BLK_T_IN, tail, CHECK_BASE, 8, seg));
        if (!all_zero(CHECK_BASE, 8 * 512))
            blk_fail("blk: ", "write-zeroes left data");
        putln("blk: write-zeroes ok");
    }
    if (has_feature(VIRTIO_BLK_F_DISCARD)) {
        check_status("discard", range_request(VIRTIO_BLK_T_DISCARD, tail, 8));
        putln("blk: discard ok");
    }
    check_status("read", rw(VIRTIO_BLK_T_IN, start, CHECK_BASE, sectors, seg));
    puts("blk: checksum ");
    put_hex(checksum_add(FNV_OFFSET, CHECK_BASE, bytes));
    putc('\n');
    putln("blk: ok");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-read: checksum of a range ---------------- */

static void action_read(const struct boot_info *bi)
{
    u32 start = opt_u32(bi, "start", 0), sectors = opt_u32(bi, "sectors", 256);
    blk_setup(bi, 1, 0);
    print_config();
    u32 h = FNV_OFFSET;
    for (u32 done = 0; done < sectors;) {
        u32 n = sectors - done > 2048 ? 2048 : sectors - done;
        check_status("read", rw(VIRTIO_BLK_T_IN, start + done, DATA_BASE, n, 65536));
        h = checksum_add(h, DATA_BASE, n * 512);
        done += n;
    }
    puts("blk-read: start ");
    put_dec(start);
    puts(" sectors ");
    put_dec(sectors);
    puts(" checksum ");
    put_hex(h);
    putc('\n');
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-abuse ---------------- */

static void abuse_report(const char *name, int res, u32 len)
{
    puts("blk-abuse: ");
    puts(name);
    puts(": ");
    put_status(res);
    if (res >= 0) {
        puts(" len ");
        put_dec(len);
    }
    putc('\n');
    if (res < 0 && !device_init())
        blk_fail("blk-abuse: ", "device did not come back after reset");
    /* Whatever happened, the device must still serve a plain read. */
    int s = simple_request(VIRTIO_BLK_T_IN, 0, DATA_BASE, 512, 1, 0);
    if (s != VIRTIO_BLK_S_OK) {
        puts("blk-abuse: device broken after ");
        puts(name);
        puts(": ");
        put_status(s);
        putc('\n');
        fail();
    }
}

/* Publishes a hand-made chain at descriptor `head` and reports what the device did. */
static void abuse_chain(const char *name, u16 head)
{
    u32 id, len = 0;
    wr8(status_addr(0), 0xff);
    publish(head, 0);
    int res = wait_used(500, &id, &len, 0);
    if (res == 1)
        res = rd8(status_addr(0));
    abuse_report(name, res, len);
}

static void abuse_request(const char *name, u32 type, u64 sector, u32 buf, u32 len, int device_writes)
{
    u32 used = 0;
    int res = simple_request(type, sector, buf, len, device_writes, &used);
    abuse_report(name, res, used);
}

static void header(u32 type, u64 sector)
{
    u32 h = hdr_addr(0);
    wr32(h, type);
    wr32(h + 4, 0);
    wr32(h + 8, (u32)sector);
    wr32(h + 12, (u32)(sector >> 32));
}

static void action_abuse(const struct boot_info *bi)
{
    blk_setup(bi, 1, 0);
    volatile struct vdesc *d = desc_table();
    u64 cap = read_capacity();
    u32 h = hdr_addr(0), st = status_addr(0);
    const u16 N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE;

    check_status("read", simple_request(VIRTIO_BLK_T_IN, cap - 1, CHECK_BASE, 512, 1, 0));

    /* A refused read must leave the guest's buffer alone, as a refused write leaves the disk alone. */
    u32 untouched = CHECK_BASE + 0x10000;
    memset((void *)untouched, 0xa5, 1024);
    abuse_request("past-end-read", VIRTIO_BLK_T_IN, cap - 1, untouched, 1024, 1);
    int same = 1;
    for (u32 i = 0; i < 1024; i++)
        same = same && ((volatile u8 *)untouched)[i] == 0xa5;
    putln(same ? "blk-abuse: past-end-read buffer untouched" : "blk-abuse: past-end-read buffer CHANGED");
    pattern_fill(DATA_BASE, 0, 1024, 7);
    abuse_request("past-end-write", VIRTIO_BLK_T_OUT, cap - 1, DATA_BASE, 1024, 0);
    abuse_request("beyond-end-read", VIRTIO_BLK_T_IN, cap + 8, DATA_BASE, 512, 1);
    abuse_request("huge-sector", VIRTIO_BLK_T_IN, 0xffffffffffffff00ull, DATA_BASE, 512, 1);
    abuse_request("unaligned-length", VIRTIO_BLK_T_IN, 0, DATA_BASE, 100, 1);
    abuse_request("bad-type", 0xff, 0, DATA_BASE, 512, 1);
    abuse_request("scsi-type", 2, 0, DATA_BASE, 512, 1);
    abuse_request("zero-length-data", VIRTIO_BLK_T_IN, 0, DATA_BASE, 0, 1);
    abuse_request("getid-short", VIRTIO_BLK_T_GET_ID, 0, DATA_BASE, 8, 1);
    if (has_feature(VIRTIO_BLK_F_DISCARD)) {
        u32 seg = h + 32;
        wr32(seg, (u32)(cap - 1));
        wr32(seg + 4, (u32)((cap - 1) >> 32));
        wr32(seg + 8, 16);
        wr32(seg + 12, 0);
        abuse_request("discard-past-end", VIRTIO_BLK_T_DISCARD, 0, seg, 16, 0);
    }
    if (has_feature(VIRTIO_BLK_F_WRITE_ZEROES)) {
        u32 seg = h + 32;
        wr32(seg, (u32)(cap - 1));
        wr32(seg + 4, (u32)((cap - 1) >> 32));
        wr32(seg + 8, 16);
        wr32(seg + 12, 0);
        abuse_request("write-zeroes-past-end", VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 0);
    }

    /* Hand-made chains; the plain read after each one checks the device still works. */
    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, OUTSIDE_RAM, 16, N, 1);
    set_desc(d, 1, DATA_BASE, 512, N | W, 2);
    set_desc(d, 2, st, 1, W, 0);
    abuse_chain("header-outside-ram", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, OUTSIDE_RAM, 4096, N | W, 2);
    set_desc(d, 2, st, 1, W, 0);
    abuse_chain("read-into-outside-ram", 0);

    header(VIRTIO_BLK_T_OUT, 16);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, OUTSIDE_RAM, 4096, N, 2);
    set_desc(d, 2, st, 1, W, 0);
    abuse_chain("write-from-outside-ram", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, DATA_BASE, 512, N | W, 2);
    set_desc(d, 2, OUTSIDE_RAM, 1, W, 0);
    abuse_chain("status-outside-ram", 0);

    /* All device-readable, so only the loop is wrong (a readable after a writable one is an error too). */
    header(VIRTIO_BLK_T_OUT, 16);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, DATA_BASE, 512, N, 0);
    abuse_chain("descriptor-loop", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, ABOVE_PHYS, 4096, N | W, 2);
    set_desc(d, 2, st, 1, W, 0);
    abuse_chain("read-into-unaddressable", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 0xffff);
    abuse_chain("next-out-of-range", 0);

    abuse_chain("head-out-of-range", (u16)(vb.qsize + 5));

    set_desc(d, 0, h, 0, 0, 0);
    abuse_chain("zero-length-chain", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 8, N, 1);
    set_desc(d, 1, st, 1, W, 0);
    abuse_chain("short-header", 0);

    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, DATA_BASE, 512, N | W, 2);
    set_desc(d, 2, st, 1, 0, 0);
    abuse_chain("status-device-readable", 0);

    header(VIRTIO_BLK_T_OUT, 16);
    set_desc(d, 0, h, 16, W | N, 1);
    set_desc(d, 1, DATA_BASE, 512, N, 2);
    set_desc(d, 2, st, 1, W, 0);
    abuse_chain("header-device-writable", 0);

    if (has_feature(VIRTIO_RING_F_INDIRECT_DESC)) {
        volatile struct vdesc *t = (volatile struct vdesc *)LONG_TABLE;
        header(VIRTIO_BLK_T_IN, 0);
        /* 1100 descriptors: more than any queue and more than QEMU's 1024-entry limit. */
        set_desc(t, 0, h, 16, N, 1);
        for (u32 i = 1; i < 1099; i++)
            set_desc(t, i, DATA_BASE + 512 * (i & 63), 512, N | W, (u16)(i + 1));
        set_desc(t, 1099, st, 1, W, 0);
        set_desc(d, 0, LONG_TABLE, 1100 * 16, VIRTQ_DESC_F_INDIRECT, 0);
        abuse_chain("indirect-over-long", 0);

        set_desc(t, 0, h, 16, N, 1);
        set_desc(t, 1, INDIRECT_BASE, 48, VIRTQ_DESC_F_INDIRECT, 0);
        set_desc(d, 0, LONG_TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
        abuse_chain("indirect-nested", 0);

        set_desc(d, 0, LONG_TABLE, 20, VIRTQ_DESC_F_INDIRECT, 0);
        abuse_chain("indirect-bad-length", 0);

        set_desc(d, 0, OUTSIDE_RAM, 48, VIRTQ_DESC_F_INDIRECT, 0);
        abuse_chain("indirect-outside-ram", 0);
    }

    /* The avail index moved by more than the queue size. */
    header(VIRTIO_BLK_T_IN, 0);
    set_desc(d, 0, h, 16, N, 1);
    set_desc(d, 1, st, 1, W, 0);
    vb.avail_idx = (u16)(vb.avail_idx + vb.qsize + 1);
    abuse_chain("avail-index-jump", 0);

    check_status("read", simple_request(VIRTIO_BLK_T_IN, cap - 1, DATA_BASE, 512, 1, 0));
    putln(mem_equal(DATA_BASE, CHECK_BASE, 512) ? "blk-abuse: last sector unchanged" : "blk-abuse: last sector CHANGED");
    device_reset();
    if (!device_init())
        fail();
    check_status("read", simple_request(VIRTIO_BLK_T_IN, 0, DATA_BASE, 512, 1, 0));
    putln("blk-abuse: device works after reset");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-msix ---------------- */

void blk_interrupt(u32 vector)
{
    if (vector == MSIX_QUEUE_VECTOR)
        blk_irq_queue++;
    else
        blk_irq_config++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

static void enable_lapic(void)
{
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    set_gate(MSIX_QUEUE_VECTOR, (u32)blk_queue_isr);
    set_gate(MSIX_CONFIG_VECTOR, (u32)blk_config_isr);
}

static void action_msix(const struct boot_info *bi)
{
    enable_lapic();
    blk_setup(bi, 1, 1);
    putln("blk-msix: vectors programmed");
    for (u32 round = 0; round < 3; round++) {
        u32 before = blk_irq_queue, id, len;
        struct req r = { VIRTIO_BLK_T_IN, round * 8, DATA_BASE, 4096, 0, 1 };
        publish((u16)build(0, &r), 1);
        int res = wait_used(2000, &id, &len, &blk_irq_queue);
        /* The completion may be seen before the interrupt is taken: give it a moment. */
        struct deadline dl;
        deadline_set(&dl, 1000);
        while (blk_irq_queue == before && !expired(&dl))
            __asm__ volatile("sti; pause; cli");
        if (res != 1) {
            puts("blk-msix: ");
            put_status(res);
            putc('\n');
            fail();
        }
        if (blk_irq_queue == before)
            blk_fail("blk-msix: ", "completion without an interrupt");
        check_status("read", rd8(status_addr(0)));
    }
    puts("blk-msix: 3 completions by interrupt on vector ");
    put_hex_short(MSIX_QUEUE_VECTOR);
    putc('\n');
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-resize ---------------- */

static void action_resize(const struct boot_info *bi)
{
    u32 msix = opt_u32(bi, "msix", 0);
    if (msix)
        enable_lapic();
    blk_setup(bi, 1, (int)msix);
    u64 cap = read_capacity();
    puts("blk-resize: capacity ");
    put_u64(cap);
    putc('\n');
    (void)rd8(vb.isr); /* reading clears */
    putln("blk-resize: waiting for a config change");
    struct deadline dl;
    deadline_set(&dl, 60000);
    for (;;) {
        if (msix) {
            __asm__ volatile("sti; pause; cli");
            if (blk_irq_config)
                break;
        } else if (rd8(vb.isr) & VIRTIO_PCI_ISR_CONFIG) {
            break;
        }
        if (expired(&dl))
            blk_fail("blk-resize: ", "no config change within 60 s");
    }
    puts("blk-resize: config change, capacity ");
    put_u64(read_capacity());
    putc('\n');
    /* The new end of the disk is usable. */
    check_status("read", simple_request(VIRTIO_BLK_T_IN, read_capacity() - 1, DATA_BASE, 512, 1, 0));
    putln("blk-resize: last sector readable");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-bench ---------------- */

/*
 * Runs `count` requests of `bytes` each with up to `qd` in flight. Sector of request i: sequential from 0,
 * or pseudo-random (LCG) 4 KiB-aligned within the first `range` sectors.
 */
static u64 bench_run(u32 type, u32 bytes, u32 count, u32 qd, int random, u32 range)
{
    u32 issued = 0, done = 0, lcg = 12345, sectors = bytes / 512, id, len;
    u32 busy = 0;  /* bit per slot: completions may come back in any order */
    u64 seq = 0;
    u64 t0 = now_us();
    while (done < count) {
        while (issued < count && issued - done < qd) {
            u64 sector;
            if (random) {
                lcg = lcg * 1664525u + 1013904223u;
                sector = (u64)((lcg >> 8) % (range / 8)) * 8;
            } else {
                sector = seq;
                seq += sectors;
                if (seq + sectors > range)
                    seq = 0;
            }
            u32 slot = 0;
            while (busy & (1u << slot))
                slot++;
            busy |= 1u << slot;
            struct req r = { type, sector, DATA_BASE + slot * SLOT_BYTES, bytes, 0, type == VIRTIO_BLK_T_IN };
            publish((u16)build(slot, &r), 0);
            issued++;
        }
        int res = wait_used(5000, &id, &len, 0);
        if (res == 1 && slot_of(id) < qd)
            busy &= ~(1u << slot_of(id));
        if (res != 1 || slot_of(id) >= qd || rd8(status_addr(slot_of(id))) != VIRTIO_BLK_S_OK) {
            puts("blk-bench: request failed: ");
            put_status(res == 1 ? rd8(status_addr(slot_of(id))) : res);
            putc('\n');
            fail();
        }
        done++;
    }
    return now_us() - t0;
}

static void bench_line(const char *name, u32 count, u32 bytes, u64 us)
{
    puts("blk-bench: ");
    puts(name);
    puts(" done ");
    put_dec(count);
    puts(" x ");
    put_dec(bytes);
    puts(" bytes in ");
    put_u64(us);
    putln(" us");
}

static void action_bench(const struct boot_info *bi)
{
    u32 mib = opt_u32(bi, "mib", 64), rand = opt_u32(bi, "rand", 2000), qd = opt_u32(bi, "qd", 1);
    if (qd < 1 || qd > MAX_SLOTS)
        blk_fail("blk-bench: ", "qd= must be 1..16");
    blk_setup(bi, qd, 0);
    u64 cap = read_capacity();
    u32 range = cap > 0x7fffffff ? 0x7fffffff : (u32)cap;
    if ((u64)mib * 2048 > range)
        blk_fail("blk-bench: ", "disk smaller than mib=");
    puts("blk-bench: tsc_khz ");
    put_dec(tsc_khz);
    putc('\n');
    /*
     * warm=N: N untimed rounds of each request kind first, so the figures are steady-state throughput
     * (a JIT-compiled VMM reaches its compiled request path only after some requests).
     */
    u32 warm = opt_u32(bi, "warm", 0);
    if (warm) {
        bench_run(VIRTIO_BLK_T_IN, 1u << 20, warm, qd, 0, range);
        bench_run(VIRTIO_BLK_T_OUT, 1u << 20, warm, qd, 0, range);
        bench_run(VIRTIO_BLK_T_IN, 4096, warm * 8, qd, 1, range);
        putln("blk-bench: warmed up");
    }
    /* Each phase prints a start and a done line: the host can time between them as well. */
    putln("blk-bench: seqread start");
    bench_line("seqread", mib, 1u << 20, bench_run(VIRTIO_BLK_T_IN, 1u << 20, mib, qd, 0, range));
    putln("blk-bench: seqwrite start");
    bench_line("seqwrite", mib, 1u << 20, bench_run(VIRTIO_BLK_T_OUT, 1u << 20, mib, qd, 0, range));
    putln("blk-bench: randread start");
    bench_line("randread", rand, 4096, bench_run(VIRTIO_BLK_T_IN, 4096, rand, qd, 1, range));
    putln("blk-bench: ok");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-mq: several queues, many requests in flight on each ---------------- */

/*
 * Queue 0 is the driver's usual ring at VQ_BASE; queue q >= 1 has its descriptor table at MQ_BASE + q * 0x4000,
 * avail at +0x1000, used at +0x2000. Slot s of queue q uses descriptors 3s (header), 3s+1 (data), 3s+2 (status),
 * built once, its header at HDR_BASE + 64 * (q * MQ_QD_MAX + s) and a 64 KiB buffer at DATA_BASE + the same
 * index * MQ_SLOT_BYTES: a request only rewrites its header, the data length and flags, and an avail entry.
 */
#define MQ_MAX 8
#define MQ_QD_MAX 32
#define MQ_BASE 0x00440000u
#define MQ_SLOT_BYTES 0x10000u

struct mq {
    u32 desc, avail, used, notify;
    u16 avail_idx, last_used;
};
static struct mq mqs[MQ_MAX];
static u64 mq_start[MQ_MAX][MQ_QD_MAX];
static u32 mq_sector[MQ_MAX][MQ_QD_MAX];

static int mq_queues_init(void)
{
    if (!has_feature(VIRTIO_BLK_F_MQ) || rd16(vb.devcfg + VIRTIO_BLK_CFG_NUM_QUEUES) < vb.nq) {
        putln("blk-mq: device has fewer queues than queues=");
        return 0;
    }
    for (u32 q = 1; q < vb.nq; q++) {
        u32 base = MQ_BASE + q * 0x4000;
        wr16(vb.common + VIRTIO_PCI_COMMON_Q_SELECT, (u16)q);
        u16 max = rd16(vb.common + VIRTIO_PCI_COMMON_Q_SIZE);
        if (max < vb.qsize) {
            putln("blk-mq: queue smaller than queue 0");
            return 0;
        }
        wr16(vb.common + VIRTIO_PCI_COMMON_Q_SIZE, vb.qsize);
        memset((void *)base, 0, 0x3000);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_DESCLO, base);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_DESCHI, 0);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x1000);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x2000);
        wr32(vb.common + VIRTIO_PCI_COMMON_Q_USEDHI, 0);
        mqs[q].notify = vb.notify + rd16(vb.common + VIRTIO_PCI_COMMON_Q_NOFF) * vb.notify_mult;
        mqs[q].desc = base;
        wr16(vb.common + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    }
    return 1;
}

static u32 mq_hdr(u32 q, u32 s) { return HDR_BASE + 64 * (q * MQ_QD_MAX + s); }
static u32 mq_buf(u32 q, u32 s) { return DATA_BASE + MQ_SLOT_BYTES * (q * MQ_QD_MAX + s); }

static void mq_descs(u32 q)
{
    volatile struct vdesc *d = (volatile struct vdesc *)mqs[q].desc;
    for (u32 s = 0; s < MQ_QD_MAX; s++) {
        set_desc(d, 3 * s, mq_hdr(q, s), 16, VIRTQ_DESC_F_NEXT, (u16)(3 * s + 1));
        set_desc(d, 3 * s + 1, mq_buf(q, s), 4096, VIRTQ_DESC_F_NEXT, (u16)(3 * s + 2));
        set_desc(d, 3 * s + 2, mq_hdr(q, s) + 16, 1, VIRTQ_DESC_F_WRITE, 0);
    }
}

static void mq_rings(void)
{
    mqs[0].desc = VQ_BASE;
    mqs[0].notify = vb.notify_q;
    for (u32 q = 0; q < vb.nq; q++) {
        struct mq *m = &mqs[q];
        m->avail = m->desc + 0x1000;
        m->used = m->desc + 0x2000;
        m->avail_idx = m->last_used = 0;
        *(volatile u16 *)m->avail = VIRTQ_AVAIL_F_NO_INTERRUPT;
        mq_descs(q);
    }
}

static void mq_issue(u32 q, u32 s, u32 type, u32 sector, u32 bytes)
{
    struct mq *m = &mqs[q];
    u32 h = mq_hdr(q, s);
    wr32(h, type);
    wr32(h + 8, sector);
    wr8(h + 16, 0xff);
    volatile struct vdesc *d = (volatile struct vdesc *)m->desc;
    d[3 * s + 1].len = bytes;
    d[3 * s + 1].flags = (u16)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0));
    ((volatile u16 *)(m->avail + 4))[m->avail_idx % vb.qsize] = (u16)(3 * s);
    m->avail_idx++;
    mq_sector[q][s] = sector;
    mq_start[q][s] = rdtsc();
}

/* Makes queue q's new avail entries visible and kicks unless the device suppressed notifications. */
static void mq_kick(u32 q)
{
    struct mq *m = &mqs[q];
    barrier();
    *(volatile u16 *)(m->avail + 2) = m->avail_idx;
    full_fence();
    if (!(*(volatile u16 *)m->used & VIRTQ_USED_F_NO_NOTIFY))
        wr16(m->notify, (u16)q);
}

struct mq_phase {
    u32 type, bytes, count, qd, random, range;
    u32 verify;      /* 1: writes carry the pattern, reads are compared with it */
    u32 past_end;    /* the first request on the last queue reads across the end of the disk */
    u32 mismatches, past_end_status;
    u64 lat_cycles;
};

static u32 mq_next_sector(struct mq_phase *p, u32 *lcg, u32 *seq)
{
    u32 sectors = p->bytes / 512;
    if (p->random) {
        *lcg = *lcg * 1664525u + 1013904223u;
        return ((*lcg >> 8) % (p->range / sectors)) * sectors;
    }
    u32 s = *seq;
    *seq += sectors;
    if (*seq + sectors > p->range)
        *seq = 0;
    return s;
}

/* Runs p->count requests spread over the queues, p->qd in flight on each; returns the elapsed microseconds. */
static u64 mq_run(struct mq_phase *p, u32 seed, u64 capacity)
{
    u32 issued = 0, done = 0, lcg = 12345, seq = 0, nq = vb.nq;
    u32 busy[MQ_MAX];
    struct deadline dl;
    u64 t0 = now_us();
    for (u32 q = 0; q < nq; q++) {
        busy[q] = 0;
        for (u32 s = 0; s < p->qd && issued < p->count; s++, issued++) {
            u32 sector = mq_next_sector(p, &lcg, &seq);
            if (p->past_end && q == nq - 1 && s == 0)
                sector = (u32)capacity - p->bytes / 1024;
            else if (p->verify && p->type == VIRTIO_BLK_T_OUT)
                pattern_fill(mq_buf(q, s), (u64)sector * 512, p->bytes, seed);
            mq_issue(q, s, p->type, sector, p->bytes);
            busy[q]++;
        }
        mq_kick(q);
    }
    deadline_set(&dl, vb.timeout_ms);
    while (done < p->count) {
        int progress = 0;
        for (u32 q = 0; q < nq; q++) {
            struct mq *m = &mqs[q];
            u32 n = 0;
            while (*(volatile u16 *)(m->used + 2) != m->last_used) {
                barrier();
                u32 id = ((volatile u32 *)(m->used + 4))[2 * (m->last_used % vb.qsize)];
                m->last_used++;
                u32 s = id / 3;
                u64 end = rdtsc();
                u8 st = rd8(mq_hdr(q, s) + 16);
                u32 sector = mq_sector[q][s];
                if (s >= MQ_QD_MAX || id % 3) {
                    putln("blk-mq: bad used id");
                    fail();
                }
                if (p->past_end && sector + p->bytes / 512 > capacity) {
                    p->past_end_status = st;
                } else if (st != VIRTIO_BLK_S_OK) {
                    puts("blk-mq: request failed: ");
                    put_status(st);
                    putc('\n');
                    fail();
                } else if (p->verify && p->type == VIRTIO_BLK_T_IN) {
                    pattern_fill(CHECK_BASE, (u64)sector * 512, p->bytes, seed);
                    if (!mem_equal(CHECK_BASE, mq_buf(q, s), p->bytes))
                        p->mismatches++;
                }
                p->lat_cycles += end - mq_start[q][s];
                done++;
                progress = 1;
                if (issued < p->count) {
                    u32 next = mq_next_sector(p, &lcg, &seq);
                    if (p->verify && p->type == VIRTIO_BLK_T_OUT)
                        pattern_fill(mq_buf(q, s), (u64)next * 512, p->bytes, seed);
                    mq_issue(q, s, p->type, next, p->bytes);
                    issued++;
                    n++;
                } else {
                    busy[q]--;
                }
            }
            if (n)
                mq_kick(q);
        }
        if (progress)
            deadline_set(&dl, vb.timeout_ms);
        else if (done < p->count && expired(&dl)) {
            puts("blk-mq: no completion; done ");
            put_dec(done);
            putc('\n');
            fail();
        }
    }
    return now_us() - t0;
}

static void mq_line(const char *name, const struct mq_phase *p, u64 us)
{
    u32 rem;
    u64 avg = udiv64(p->lat_cycles, p->count, &rem);
    puts("blk-mq: ");
    puts(name);
    puts(" done ");
    put_dec(p->count);
    puts(" x ");
    put_dec(p->bytes);
    puts(" bytes in ");
    put_u64(us);
    puts(" us lat ");
    put_u64(tsc_khz ? udiv64(avg * 1000000u, tsc_khz, &rem) : 0);
    putln(" ns");
}

/*
 * queues=Q (1..8) qd=D (1..32 per queue) count=N ops=...: 'r' 4 KiB random reads, 'w' 4 KiB random writes,
 * 'R' 64 KiB sequential reads, 'W' 64 KiB sequential writes (each N requests), 'v' a data check (N 4 KiB
 * pattern writes, then the same blocks read back and compared), 'e' like 'v' with one read across the end of
 * the disk among them, 'f' a flush. warm=N: N untimed 4 KiB reads first.
 */
static void action_mq(const struct boot_info *bi)
{
    u32 nq = opt_u32(bi, "queues", 4), qd = opt_u32(bi, "qd", 32), count = opt_u32(bi, "count", 20000);
    u32 warm = opt_u32(bi, "warm", 0), seed = opt_u32(bi, "seed", 7);
    static char ops[16];
    if (!cmdline_get(bi->cmdline, "ops", ops, sizeof(ops)))
        memcpy(ops, "rwRW", 5);
    if (nq < 1 || nq > MQ_MAX)
        blk_fail("blk-mq: ", "queues= must be 1..8");
    if (qd < 1 || qd > MQ_QD_MAX)
        blk_fail("blk-mq: ", "qd= must be 1..32");
    blk_setup(bi, 1, 0);
    if (vb.qsize < 3 * qd)
        blk_fail("blk-mq: ", "queue too small");
    mq_rings();
    u64 cap = read_capacity();
    u32 range = cap > 0x7fffffff ? 0x7fffffff : (u32)cap;
    puts("blk-mq: queues ");
    put_dec(nq);
    puts(" qd ");
    put_dec(qd);
    puts(" tsc_khz ");
    put_dec(tsc_khz);
    putc('\n');
    if (warm) {
        struct mq_phase w = { VIRTIO_BLK_T_IN, 4096, warm, qd, 1, range, 0, 0, 0, 0, 0 };
        mq_run(&w, seed, cap);
        putln("blk-mq: warmed up");
    }
    for (const char *o = ops; *o; o++) {
        struct mq_phase p = { VIRTIO_BLK_T_IN, 4096, count, qd, 1, range, 0, 0, 0, 0, 0 };
        const char *name = "randread";
        if (*o == 'f') {
            /* on queue 0 through the one-request path, which shares queue 0's ring indexes */
            vb.avail_idx = mqs[0].avail_idx;
            vb.last_used = mqs[0].last_used;
            int s = simple_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0);
            mqs[0].avail_idx = vb.avail_idx;
            mqs[0].last_used = vb.last_used;
            mq_descs(0);
            puts("blk-mq: flush ");
            put_status(s);
            putc('\n');
            continue;
        }
        if (*o == 'v' || *o == 'e') {
            /* blocks 0..count-1 in order, written then read back, so every read has a known pattern */
            struct mq_phase wr = { VIRTIO_BLK_T_OUT, 4096, count, qd, 0, count * 8, 1, 0, 0, 0, 0 };
            mq_run(&wr, seed, cap);
            struct mq_phase rd = { VIRTIO_BLK_T_IN, 4096, count, qd, 0, count * 8, 1, *o == 'e', 0, 0xff, 0 };
            mq_run(&rd, seed, cap);
            puts("blk-mq: verify ");
            put_dec(count);
            puts(" blocks, mismatches ");
            put_dec(rd.mismatches);
            putc('\n');
            if (*o == 'e') {
                puts("blk-mq: past-end read ");
                put_status((int)rd.past_end_status);
                putc('\n');
            }
            continue;
        }
        if (*o == 'w') {
            p.type = VIRTIO_BLK_T_OUT;
            name = "randwrite";
        } else if (*o == 'R' || *o == 'W') {
            p.bytes = 65536;
            p.random = 0;
            p.type = *o == 'R' ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
            name = *o == 'R' ? "seqread" : "seqwrite";
        } else if (*o != 'r') {
            blk_fail("blk-mq: ", "unknown op");
        }
        mq_line(name, &p, mq_run(&p, seed, cap));
    }
    putln("blk-mq: ok");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-ro: a read-only disk refuses writes ---------------- */

static void action_ro(const struct boot_info *bi)
{
    blk_setup(bi, 1, 0);
    print_features();
    puts("blk-ro: read-only ");
    put_dec((u32)has_feature(VIRTIO_BLK_F_RO));
    putc('\n');
    memset((void *)CHECK_BASE, 0, 4096);
    check_status("read", simple_request(VIRTIO_BLK_T_IN, 0, CHECK_BASE, 4096, 1, 0));
    pattern_fill(DATA_BASE, 0, 4096, 3);
    int s = simple_request(VIRTIO_BLK_T_OUT, 0, DATA_BASE, 4096, 0, 0);
    puts("blk-ro: write ");
    put_status(s);
    putc('\n');
    if (has_feature(VIRTIO_BLK_F_WRITE_ZEROES)) {
        s = range_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8);
        puts("blk-ro: write-zeroes ");
        put_status(s);
        putc('\n');
    }
    if (has_feature(VIRTIO_BLK_F_DISCARD)) {
        s = range_request(VIRTIO_BLK_T_DISCARD, 0, 8);
        puts("blk-ro: discard ");
        put_status(s);
        putc('\n');
    }
    if (s < 0 && !device_init())
        fail();
    check_status("read", simple_request(VIRTIO_BLK_T_IN, 0, DATA_BASE, 4096, 1, 0));
    putln(mem_equal(DATA_BASE, CHECK_BASE, 4096) ? "blk-ro: data unchanged" : "blk-ro: data CHANGED");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-err: every status printed, errors tolerated ---------------- */

/* What a read brought back: the pattern, zeros, or something else. */
static const char *classify(u32 buf, u64 disk_off, u32 len, u32 seed)
{
    pattern_fill(DATA_BASE, disk_off, len, seed);
    if (mem_equal(DATA_BASE, buf, len))
        return "pattern";
    return all_zero(buf, len) ? "zero" : "other";
}

static void err_line(const char *what, int s)
{
    puts("blk-err: ");
    puts(what);
    putc(' ');
    put_status(s);
    putc('\n');
}

/*
 * For werror=/rerror= tests: ops (default "wfr") is a sequence of a write of the pattern ('w'), a FLUSH ('f'),
 * a read ('r') of N <= 128 sectors from S, each status printed whatever it is (a read also says whether it
 * brought back the pattern, zeros or other bytes), or 'i': print "blk-err: idle" and halt for good.
 */
static void action_err(const struct boot_info *bi)
{
    u32 start = opt_u32(bi, "start", 0), sectors = opt_u32(bi, "sectors", 64), seed = opt_u32(bi, "seed", 0);
    static char ops[16];
    if (!cmdline_get(bi->cmdline, "ops", ops, sizeof(ops)))
        memcpy(ops, "wfr", 4);
    if (sectors < 1 || sectors > 128)
        blk_fail("blk-err: ", "sectors= must be 1..128");
    blk_setup(bi, 1, 0);
    u32 bytes = sectors * 512;
    for (const char *o = ops; *o; o++) {
        if (*o == 'w') {
            pattern_fill(CHECK_BASE, (u64)start * 512, bytes, seed);
            struct req r = { VIRTIO_BLK_T_OUT, start, CHECK_BASE, bytes, 4096, 0 };
            err_line("write", do_request(&r, 0));
        } else if (*o == 'f') {
            err_line("flush", simple_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0));
        } else if (*o == 'r') {
            memset((void *)CHECK_BASE, 0xa5, bytes);
            struct req r = { VIRTIO_BLK_T_IN, start, CHECK_BASE, bytes, 4096, 1 };
            int s = do_request(&r, 0);
            puts("blk-err: read ");
            put_status(s);
            if (s == VIRTIO_BLK_S_OK) {
                puts(" data ");
                puts(classify(CHECK_BASE, (u64)start * 512, bytes, seed));
            }
            putc('\n');
        } else if (*o == 'i') {
            /* For kill -9 tests: everything before was acknowledged; the host kills the VMM now. */
            putln("blk-err: idle");
            for (;;)
                __asm__ volatile("cli; hlt");
        }
    }
    putln("blk-err: done");
    exit_qemu(EXIT_PASS);
}

/* ---------------- action=blk-info: the PCI view of the device (for debugging a VMM) ---------------- */

static void action_info(void)
{
    static const u16 ids[] = { PCI_DEVICE_VIRTIO_BLK_TRANSITIONAL, PCI_DEVICE_VIRTIO_BLK_MODERN };
    u32 bdf;
    if (!pci_find(PCI_VENDOR_VIRTIO, ids, 2, &bdf))
        blk_fail("blk: ", "no virtio-blk device");
    puts("blk-info: id ");
    put_hex(pci_read32(bdf, 0));
    puts(" subsystem ");
    put_hex(pci_read32(bdf, 0x2c));
    puts(" class ");
    put_hex(pci_read32(bdf, 0x08));
    puts(" irq pin/line ");
    put_hex_short(pci_read16(bdf, 0x3c));
    putc('\n');
    for (u32 bar = 0; bar < 6; bar++) {
        puts("blk-info: bar");
        put_dec(bar);
        putc(' ');
        put_hex(pci_read32(bdf, PCI_BAR0 + 4 * bar));
        putc('\n');
    }
    u32 pos = pci_read8(bdf, PCI_CAPABILITY_LIST) & ~3u;
    for (u32 n = 0; pos && n < 48; n++) {
        puts("blk-info: cap at ");
        put_hex_short(pos);
        puts(" id ");
        put_hex_short(pci_read8(bdf, pos));
        if (pci_read8(bdf, pos) == PCI_CAP_ID_VNDR) {
            puts(" len ");
            put_dec(pci_read8(bdf, pos + 2));
            puts(" cfg_type ");
            put_dec(pci_read8(bdf, pos + VIRTIO_PCI_CAP_CFG_TYPE));
            puts(" bar ");
            put_dec(pci_read8(bdf, pos + VIRTIO_PCI_CAP_BAR));
            puts(" offset ");
            put_hex_short(pci_read32(bdf, pos + VIRTIO_PCI_CAP_OFFSET));
            puts(" length ");
            put_hex_short(pci_read32(bdf, pos + VIRTIO_PCI_CAP_LENGTH));
            if (pci_read8(bdf, pos + VIRTIO_PCI_CAP_CFG_TYPE) == VIRTIO_PCI_CAP_NOTIFY_CFG) {
                puts(" multiplier ");
                put_dec(pci_read32(bdf, pos + VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER));
            }
        } else if (pci_read8(bdf, pos) == PCI_CAP_ID_MSIX) {
            puts(" msix control ");
            put_hex_short(pci_read16(bdf, pos + PCI_MSIX_FLAGS));
            puts(" table ");
            put_hex_short(pci_read32(bdf, pos + PCI_MSIX_TABLE));
            puts(" pba ");
            put_hex_short(pci_read32(bdf, pos + 8));
        }
        putc('\n');
        pos = pci_read8(bdf, pos + 1) & ~3u;
    }
    exit_qemu(EXIT_PASS);
}

void action_blk(const struct boot_info *bi, const char *action)
{
    if (streq(action, "blk-info"))
        action_info();
    else if (streq(action, "blk-ro"))
        action_ro(bi);
    if (streq(action, "blk"))
        action_rw(bi);
    else if (streq(action, "blk-read"))
        action_read(bi);
    else if (streq(action, "blk-abuse"))
        action_abuse(bi);
    else if (streq(action, "blk-msix"))
        action_msix(bi);
    else if (streq(action, "blk-resize"))
        action_resize(bi);
    else if (streq(action, "blk-bench"))
        action_bench(bi);
    else if (streq(action, "blk-mq"))
        action_mq(bi);
    else if (streq(action, "blk-err"))
        action_err(bi);
    puts("jvmm-tiny: unknown action ");
    putln(action);
    fail();
}
