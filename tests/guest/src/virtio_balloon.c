/*
 * The tiny guest's virtio-balloon driver (Virtio 1.1, 5.5) on the shared virtio_pci library, polling only.
 *
 *   action=balloon        serve the host: follow num_pages by inflating (pages from the top of RAM, touched
 *                         first) or deflating, report actual, keep a stats buffer on statsq and refill it
 *                         each time the device hands it back; runs until the host quits (or 120 s).
 *                         touch=all writes every page of RAM first (the RSS benchmark); stride=N takes
 *                         every N-th page instead of a contiguous run (scattered, as Linux's balloon);
 *                         timeout=S gives up after S seconds instead of 120.
 *   action=balloon-abuse  page numbers outside RAM, huge ones, odd and writable buffers, a page number split
 *                         over two descriptors, odd stats buffers; the device must keep working.
 */
#include "virtio_pci.h"

/* 5.5.3 feature bits. */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_REPORTING 5

/* 5.5.4 struct virtio_balloon_config. */
#define BALLOON_CFG_NUM_PAGES 0
#define BALLOON_CFG_ACTUAL 4

/* 5.5.2 queues. */
#define INFLATEQ 0
#define DEFLATEQ 1
#define STATSQ 2

/* 5.5.6.3 statistics tags. */
#define VIRTIO_BALLOON_S_SWAP_IN 0
#define VIRTIO_BALLOON_S_SWAP_OUT 1
#define VIRTIO_BALLOON_S_MAJFLT 2
#define VIRTIO_BALLOON_S_MINFLT 3
#define VIRTIO_BALLOON_S_MEMFREE 4
#define VIRTIO_BALLOON_S_MEMTOT 5
#define VIRTIO_BALLOON_S_AVAIL 6
#define VIRTIO_BALLOON_S_CACHES 7
#define VIRTIO_BALLOON_S_HTLB_PGALLOC 8
#define VIRTIO_BALLOON_S_HTLB_PGFAIL 9

#define PAGE 4096u
#define PFN_BATCH 256u                   /* page numbers per inflate/deflate buffer, as Linux's driver */
#define PFN_ARRAY 0x00540000u            /* the page number array (after the library's queue areas) */
#define PFN_ARRAY2 0x00541000u
#define STATS_BUF 0x00542000u
#define STATS_BUF2 0x00543000u
#define SCRATCH 0x00544000u
#define POOL_FLOOR 0x00600000u           /* balloon pages come from above here, from the top of RAM down */

static struct vpci_dev bd;
static u32 ram_top_pfn;                  /* one past the highest usable RAM page below 4 GiB */
static u32 held;                         /* pages in the balloon: balloon_pfn(0 .. held - 1) */
static u32 stride = 1;                   /* stride=N: every N-th page from the top (scattered, as Linux) */

/* The k-th page the balloon takes: from the top of RAM down, stride pages apart. */
static u32 balloon_pfn(u32 k)
{
    return ram_top_pfn - 1 - k * stride;
}

static const char *const feature_names[] = {
    "MUST_TELL_HOST", "STATS_VQ", "DEFLATE_ON_OOM", "FREE_PAGE_HINT", "PAGE_POISON", "REPORTING",
};

static void print_features(void)
{
    puts("balloon: features");
    for (u32 b = 0; b < 6; b++)
        if (bd.offered_lo & (1u << b)) {
            putc(' ');
            puts(feature_names[b]);
        }
    if (bd.offered_lo & (1u << VIRTIO_RING_F_INDIRECT_DESC))
        puts(" INDIRECT_DESC");
    if (bd.offered_lo & (1u << VIRTIO_RING_F_EVENT_IDX))
        puts(" EVENT_IDX");
    if (bd.offered_hi & 1u)
        puts(" VERSION_1");
    putc('\n');
}

static void print_config(void)
{
    puts("balloon: config");
    for (u32 off = 0; off < 20; off += 4) {
        putc(' ');
        put_hex(vpci_cfg32(&bd, off));
    }
    putc('\n');
}

/* The highest usable RAM below 4 GiB, from the boot memory map. */
static void find_ram_top(const struct boot_info *bi)
{
    u64 top = 0;
    for (u32 i = 0; i < bi->nr_map; i++) {
        if (bi->map[i].type != 1)
            continue;
        u64 end = bi->map[i].addr + bi->map[i].size;
        if (end > 0x100000000ull)
            end = 0x100000000ull;
        if (end > top)
            top = end;
    }
    ram_top_pfn = (u32)(top >> 12);
}

static void setup(const struct boot_info *bi, u32 want)
{
    calibrate_tsc();
    find_ram_top(bi);
    if (!vpci_find(&bd, VIRTIO_ID_BALLOON)) {
        putln("balloon: no virtio-balloon device");
        fail();
    }
    static const char hex[] = "0123456789abcdef";
    puts("balloon: pci 00:");
    putc(hex[(bd.bdf >> 7) & 1]);
    putc(hex[(bd.bdf >> 3) & 0xf]);
    putc('.');
    put_dec(bd.bdf & 7);
    putc('\n');
    if (!vpci_init(&bd, want, 0)) {
        putln("balloon: FEATURES_OK refused");
        fail();
    }
    print_features();
    for (u32 q = 0; q < 3; q++)
        if (!vpci_setup_queue(&bd, q, 64, VPCI_AREA(q))) {
            putln("balloon: missing queue");
            fail();
        }
    puts("balloon: queues ");
    put_dec(bd.num_queues);
    putc('\n');
    vpci_driver_ok(&bd);
    print_config();
}

/* Sends one buffer (n_out readable, then n_in writable segments) and waits for the device to return it. */
static void send_wait(u32 q, const u32 *addr, const u32 *len, u32 n_out, u32 n_in, u32 *used_len)
{
    u32 id, l;
    if (vpci_add(&bd, q, addr, len, n_out, n_in) < 0) {
        putln("balloon: ring full");
        fail();
    }
    vpci_kick(&bd, q);
    if (!vpci_wait_used(&bd, q, 5000, &id, &l)) {
        puts("balloon: queue ");
        put_dec(q);
        putln(" did not return the buffer");
        fail();
    }
    if (used_len)
        *used_len = l;
}

/* Gives (inflate) or takes back (deflate) the balloon's pages first .. first+count-1, PFN_BATCH a buffer. */
static void move_pages(u32 q, u32 first, u32 count)
{
    u32 *pfns = (u32 *)PFN_ARRAY;
    while (count) {
        u32 n = count < PFN_BATCH ? count : PFN_BATCH;
        for (u32 i = 0; i < n; i++)
            pfns[i] = balloon_pfn(first + i);
        u32 a = PFN_ARRAY, l = 4 * n;
        send_wait(q, &a, &l, 1, 0, 0);
        first += n;
        count -= n;
    }
}

/* The statistics the guest reports: recognisable constants, plus a tag the device must ignore. */
static void fill_stats(u32 buf)
{
    static const u32 tags[] = {
        VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_SWAP_OUT, VIRTIO_BALLOON_S_MAJFLT, VIRTIO_BALLOON_S_MINFLT,
        VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, VIRTIO_BALLOON_S_AVAIL, VIRTIO_BALLOON_S_CACHES,
        42,
    };
    static const u32 vals[] = { 0x11, 0x22, 0x33, 0x44, 0x5500000, 0x8000000, 0x6600000, 0x77, 0xdead };
    u8 *p = (u8 *)buf;
    for (u32 i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        u8 *e = p + 10 * i;
        e[0] = (u8)tags[i];
        e[1] = (u8)(tags[i] >> 8);
        for (u32 b = 0; b < 8; b++)
            e[2 + b] = b < 4 ? (u8)(vals[i] >> (8 * b)) : 0;
    }
}

#define STATS_LEN (10u * 9u)

static void post_stats(void)
{
    u32 a = STATS_BUF, l = STATS_LEN;
    fill_stats(STATS_BUF);
    if (vpci_add(&bd, STATSQ, &a, &l, 1, 0) < 0)
        fail();
    vpci_kick(&bd, STATSQ);
}

static void touch(u32 first_pfn, u32 end_pfn, u32 seed)
{
    for (u32 pfn = first_pfn; pfn < end_pfn; pfn++)
        *(volatile u32 *)(pfn << 12) = pfn ^ seed;
}

static int pages_zero(u32 first, u32 count)
{
    for (u32 i = 0; i < count; i++)
        if (*(volatile u32 *)((first + i) << 12) != 0)
            return 0;
    return 1;
}

static int balloon_pages_zero(u32 first, u32 count)
{
    for (u32 k = first; k < first + count; k++)
        if (*(volatile u32 *)(balloon_pfn(k) << 12) != 0)
            return 0;
    return 1;
}

static void action_serve(const struct boot_info *bi)
{
    char v[16];
    u32 want = 1u << VIRTIO_BALLOON_F_STATS_VQ | 1u << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    setup(bi, want);
    if (cmdline_get(bi->cmdline, "stride", v, sizeof(v)) && (!parse_u32(v, &stride) || stride == 0))
        stride = 1;
    if (cmdline_get(bi->cmdline, "touch", v, sizeof(v)) && streq(v, "all")) {
        touch(POOL_FLOOR >> 12, ram_top_pfn, 0x5a5a0000u);
        putln("balloon: touched all RAM");
    }
    if (vpci_has_feature(&bd, VIRTIO_BALLOON_F_STATS_VQ))
        post_stats();
    putln("balloon: ready");
    u32 refills = 0, secs = 120;
    if (cmdline_get(bi->cmdline, "timeout", v, sizeof(v)) && (!parse_u32(v, &secs) || secs == 0 || secs > 3600))
        secs = 120;
    struct deadline end;
    deadline_set(&end, secs * 1000);
    while (!expired(&end)) {
        u32 target = vpci_cfg32(&bd, BALLOON_CFG_NUM_PAGES);
        u32 room = (ram_top_pfn - (POOL_FLOOR >> 12)) / stride;
        if (target > room)
            target = room;
        if (target > held) {
            u32 n = target - held;
            for (u32 k = held; k < target; k++)
                *(volatile u32 *)(balloon_pfn(k) << 12) = k; /* really in use before it is given back */
            move_pages(INFLATEQ, held, n);
            held = target;
            vpci_cfg_write32(&bd, BALLOON_CFG_ACTUAL, held);
            puts("balloon: inflated to ");
            put_dec(held);
            putln(" pages");
        } else if (target < held) {
            u32 n = held - target;
            move_pages(DEFLATEQ, target, n);
            held = target;
            vpci_cfg_write32(&bd, BALLOON_CFG_ACTUAL, held);
            puts("balloon: deflated to ");
            put_dec(held);
            puts(" pages, returned pages ");
            putln(balloon_pages_zero(target, n) ? "read as zero" : "kept their contents");
        }
        u32 id, len;
        if (vpci_get_used(&bd, STATSQ, &id, &len)) {
            if (refills++ == 0)
                putln("balloon: stats requested, refilled");
            post_stats();
        }
        if (vpci_status(&bd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
            putln("balloon: device needs reset");
            fail();
        }
    }
    putln("balloon: timed out waiting for the host");
    fail();
}

static void action_abuse(const struct boot_info *bi)
{
    setup(bi, 1u << VIRTIO_BALLOON_F_STATS_VQ);
    u32 *pfns = (u32 *)PFN_ARRAY;
    u32 a2[2], l2[2], used;
    /* RAM pages with contents, then page numbers that name no RAM */
    u32 ram_a = ram_top_pfn - 8, ram_b = ram_top_pfn - 7, kept = ram_top_pfn - 6, split = ram_top_pfn - 5;
    touch(ram_a, ram_top_pfn, 0x33330000u);
    u32 n = 0;
    pfns[n++] = ram_a;
    pfns[n++] = ram_top_pfn + 16;        /* past the end of RAM */
    pfns[n++] = 0xfee00;                 /* the local APIC */
    pfns[n++] = 0xfec00;                 /* the I/O APIC */
    pfns[n++] = 0xe0000;                 /* the PCI hole at 3.5 GiB */
    pfns[n++] = 0xfffff;                 /* the BIOS ROM at the top of 4 GiB */
    pfns[n++] = 0xffffffffu;             /* a page number far beyond any memory */
    pfns[n++] = 0x80000000u;
    pfns[n++] = ram_b;
    u32 a = PFN_ARRAY, l = 4 * n + 3;    /* 3 trailing bytes make no page number */
    send_wait(INFLATEQ, &a, &l, 1, 0, &used);
    puts("balloon-abuse: bogus page numbers: used len ");
    put_dec(used);
    putc('\n');
    /* a 2-byte buffer, and a device-writable one naming a RAM page: both ignored */
    pfns[0] = kept;
    l = 2;
    send_wait(INFLATEQ, &a, &l, 1, 0, &used);
    l = 4;
    send_wait(INFLATEQ, &a, &l, 0, 1, &used);
    /* a page number split over two descriptors still counts (the stream is what matters) */
    u8 *b = (u8 *)PFN_ARRAY2;
    b[0] = (u8)split;
    b[1] = (u8)(split >> 8);
    b[0x800] = (u8)(split >> 16);
    b[0x801] = (u8)(split >> 24);
    a2[0] = PFN_ARRAY2;
    l2[0] = 2;
    a2[1] = PFN_ARRAY2 + 0x800;
    l2[1] = 2;
    send_wait(INFLATEQ, a2, l2, 2, 0, &used);
    puts("balloon-abuse: ram pages ");
    puts(pages_zero(ram_a, 2) ? "zero" : "intact");
    puts(", writable-buffer page ");
    puts(pages_zero(kept, 1) ? "zero" : "intact");
    puts(", split page ");
    putln(pages_zero(split, 1) ? "zero" : "intact");
    /* deflate with the same garbage */
    l = 4 * n + 1;
    pfns[0] = ram_a;
    send_wait(DEFLATEQ, &a, &l, 1, 0, &used);
    /* statistics: a buffer with a partial entry and an unknown tag, then a second one while the first is
     * kept: the device hands the first back at once */
    fill_stats(STATS_BUF);
    a = STATS_BUF;
    l = 25;
    int first = vpci_add(&bd, STATSQ, &a, &l, 1, 0);
    if (first < 0)
        fail();
    vpci_kick(&bd, STATSQ);
    io_delay(2000);
    fill_stats(STATS_BUF2);
    a = STATS_BUF2;
    l = STATS_LEN + 7;
    if (vpci_add(&bd, STATSQ, &a, &l, 1, 0) < 0)
        fail();
    vpci_kick(&bd, STATSQ);
    u32 id;
    if (!vpci_wait_used(&bd, STATSQ, 5000, &id, &used)) {
        putln("balloon-abuse: no stats buffer came back");
        fail();
    }
    puts("balloon-abuse: second stats buffer returned the first: ");
    putln(id == (u32)first && used == 0 ? "yes" : "no");
    /* actual: writes of odd sizes */
    vpci_cfg_write32(&bd, BALLOON_CFG_ACTUAL, 0x12345);
    *(volatile u8 *)(bd.devcfg + BALLOON_CFG_ACTUAL + 3) = 0;
    *(volatile u16 *)(bd.devcfg + BALLOON_CFG_ACTUAL) = 2;
    puts("balloon-abuse: actual ");
    put_hex(vpci_cfg32(&bd, BALLOON_CFG_ACTUAL));
    puts(" num_pages ");
    put_hex(vpci_cfg32(&bd, BALLOON_CFG_NUM_PAGES));
    putc('\n');
    vpci_cfg_write32(&bd, BALLOON_CFG_ACTUAL, 0);
    if (vpci_status(&bd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        putln("balloon-abuse: device needs reset");
        fail();
    }
    /* the device still works: a plain inflate and deflate of one page */
    touch(ram_b, ram_b + 1, 0x44440000u);
    pfns[0] = ram_b;
    a = PFN_ARRAY;
    l = 4;
    send_wait(INFLATEQ, &a, &l, 1, 0, &used);
    send_wait(DEFLATEQ, &a, &l, 1, 0, &used);
    puts("balloon-abuse: device works, page ");
    putln(pages_zero(ram_b, 1) ? "zero" : "intact");
    exit_qemu(EXIT_PASS);
}

void action_balloon(const struct boot_info *bi, const char *action)
{
    if (streq(action, "balloon"))
        action_serve(bi);
    if (streq(action, "balloon-abuse"))
        action_abuse(bi);
    puts("balloon: unknown action ");
    putln(action);
    fail();
}
