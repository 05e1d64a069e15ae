/*
 * action=pcihp: ACPI PCI hotplug as Linux's acpiphp drives QEMU's PIIX4 interface (QEMU
 * docs/specs/acpi_pci_hotplug.rst, hw/acpi/pcihp.c), at register level. The guest waits halted for
 * the SCI, acknowledges GPE0 status bit 1, selects bus 0 and reads the up and down slot bitmaps. A slot
 * coming up is configured as an OS does for a device no firmware has seen: config space read, BARs
 * sized and placed in free space of the PCI hole, decoding enabled, then one cheap device-specific
 * read that shows the device works. A slot going down is ejected through PCI_EJ, or left alone with
 * mode=refuse. Addresses are never printed, so QEMU (SeaBIOS placed the boot devices) and jvmm (its
 * own placement) print the same lines.
 *   action=pcihp events=N [mode=eject|refuse] [abuse=1]
 * abuse=1 first pokes the registers as a confused guest might (abuse() below).
 * N counts slot events (a slot newly up, a slot going down); after the N-th the guest exits through
 * isa-debug-exit. Before the first it prints how the DSDT describes hotplug and the removable bitmap.
 */
#include "guest.h"
#include "virtio_pci.h"

/* The hotplug register block (acpi_pci_hotplug.rst), 32-bit accesses only. */
#define PCIHP_BASE 0xae00
#define PCI_UP 0x0
#define PCI_DOWN 0x4
#define PCI_EJ 0x8
#define PCI_RMV 0xc
#define PCI_SEL 0x10
#define ACPI_PCI_HOTPLUG_STATUS 0x02  /* GPE0 status/enable bit 1 */

/* PCI 3.0, 6.1 and 6.2.5. */
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_COMMAND_IO 0x01
#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM_TYPE_MASK 0x6
#define PCI_BAR_MEM_64 0x4
#define PCI_NUM_BARS 6
#define PCI_SLOTS 32
#define PCI_FUNCS 8

/* Where hot-plugged BARs go: inside the pc machine's PCI windows (the DSDT's PCI0._CRS). */
#define MEM_WINDOW_START 0xe0000000u
#define MEM_WINDOW_END 0xfec00000u
#define IO_WINDOW_START 0xc000u
#define IO_WINDOW_END 0x10000u

/* i6300ESB watchdog (Intel 6300ESB datasheet, 13.x), as wdt.c uses it. */
#define ESB_VENDOR 0x8086
#define ESB_DEVICE 0x25ab
#define ESB_CONFIG_REG 0x60
#define ESB_LOCK_REG 0x68
#define ESB_RELOAD_REG 0x0c

/* Virtio device configuration fields read here (Virtio 1.1, 5.1.4, 5.2.4, 5.3.4, 5.5.4). */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_BALLOON_CFG_NUM_PAGES 0
#define PCI_DEVICE_VIRTIO_MODERN_BASE 0x1040

static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static u32 gpe0, gpe0_len;
static volatile u32 gpe_seen;
static u32 configured; /* slots this guest has set up and not yet ejected */

/* From sci_gpe_isr with interrupts off: GPE0 status is write-1-to-clear, and clearing it drops the SCI. */
void pcihp_interrupt(void)
{
    u8 sts = inb((u16)gpe0);
    outb((u16)gpe0, sts);
    gpe_seen |= sts;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

/* One BAR: its size (0 when unimplemented), whether it decodes I/O, whether it takes two registers. */
struct bar {
    u32 size;
    int io, is64;
};

static void size_bar(u32 bdf, u32 i, struct bar *b)
{
    u32 off = PCI_BAR0 + 4 * i;
    u32 orig = pci_read32(bdf, off);
    pci_write32(bdf, off, 0xffffffffu);
    u32 got = pci_read32(bdf, off);
    pci_write32(bdf, off, orig);
    b->io = orig & PCI_BAR_IO;
    b->is64 = !b->io && (orig & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_64;
    u32 mask = got & (b->io ? ~0x3u : ~0xfu);
    if (b->io)
        mask |= 0xffff0000u; /* I/O BARs may implement only 16 bits */
    b->size = mask ? ~mask + 1 : 0;
}

/* The address range a present function's BAR decodes, if it is assigned and of the kind asked. */
static int bar_range(u32 bdf, u32 i, int io, u32 *start, u32 *end, u32 *skip)
{
    struct bar b;
    size_bar(bdf, i, &b);
    *skip = b.is64;
    if (!b.size || b.io != io)
        return 0;
    u32 v = pci_read32(bdf, PCI_BAR0 + 4 * i) & (io ? ~0x3u : ~0xfu);
    if (b.is64 && pci_read32(bdf, PCI_BAR0 + 4 * i + 4))
        return 0; /* above 4 GiB: out of the way */
    if (!v)
        return 0;
    *start = v;
    *end = v + b.size;
    return 1;
}

/* The BARs placed so far for the function being set up (its registers are not trusted until it is done). */
struct range {
    u32 start, end;
    int io;
};
static struct range placed[PCI_NUM_BARS];
static u32 nplaced;

/* Whether [addr, addr+size) overlaps a BAR of any function on bus 0 but slot `self`, or one already placed
 * for it; *next is where to retry. */
static int overlaps(u32 self, int io, u32 addr, u32 size, u32 *next)
{
    for (u32 i = 0; i < nplaced; i++)
        if (placed[i].io == io && placed[i].start < addr + size && addr < placed[i].end) {
            *next = placed[i].end;
            return 1;
        }
    for (u32 dev = 0; dev < PCI_SLOTS; dev++) {
        if (dev == self)
            continue;
        for (u32 fn = 0; fn < PCI_FUNCS; fn++) {
            u32 bdf = dev << 3 | fn;
            if ((pci_read32(bdf, 0) & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            u32 bars = (pci_read8(bdf, PCI_HEADER_TYPE) & 0x7f) == 0 ? PCI_NUM_BARS : 2;
            for (u32 i = 0; i < bars; i++) {
                u32 s, e, skip;
                if (bar_range(bdf, i, io, &s, &e, &skip) && s < addr + size && addr < e) {
                    *next = e;
                    return 1;
                }
                i += skip;
            }
            if (fn == 0 && !(pci_read8(bdf, PCI_HEADER_TYPE) & 0x80))
                break;
        }
    }
    return 0;
}

/* First fit in the window, naturally aligned; 0 when it does not fit. */
static u32 place(u32 self, int io, u32 size)
{
    u32 start = io ? IO_WINDOW_START : MEM_WINDOW_START, end = io ? IO_WINDOW_END : MEM_WINDOW_END;
    u32 addr = (start + size - 1) & ~(size - 1), next;
    while (addr >= start && addr + size <= end && overlaps(self, io, addr, size, &next))
        addr = (next + size - 1) & ~(size - 1);
    return addr >= start && addr + size <= end ? addr : 0;
}

/* Sizes and places every BAR of the function, printing the sizes; 0 when one does not fit. */
static int assign_bars(u32 slot, u32 bdf)
{
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    puts("pcihp: slot ");
    put_dec(slot);
    puts(" bars");
    nplaced = 0;
    for (u32 i = 0; i < PCI_NUM_BARS; i++) {
        struct bar b;
        size_bar(bdf, i, &b);
        if (!b.size)
            continue;
        puts(" bar");
        put_dec(i);
        puts(b.io ? " io " : b.is64 ? " mem64 " : " mem ");
        put_hex_short(b.size);
        u32 addr = place(slot, b.io, b.size);
        if (!addr) {
            putln(" no room");
            return 0;
        }
        placed[nplaced].start = addr;
        placed[nplaced].end = addr + b.size;
        placed[nplaced++].io = b.io;
        pci_write32(bdf, PCI_BAR0 + 4 * i, addr);
        if (b.is64)
            pci_write32(bdf, PCI_BAR0 + 4 * ++i, 0);
    }
    putc('\n');
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_COMMAND_IO | PCI_COMMAND_MEMORY
                | PCI_COMMAND_MASTER);
    return 1;
}

static void show_virtio(u32 slot, u32 bdf)
{
    struct vpci_dev d;
    puts("pcihp: slot ");
    put_dec(slot);
    if (!vpci_open(&d, bdf)) {
        putln(" virtio capabilities missing");
        return;
    }
    u32 type = d.device_id >= PCI_DEVICE_VIRTIO_MODERN_BASE ? d.device_id - PCI_DEVICE_VIRTIO_MODERN_BASE
               : d.device_id == 0x1000 ? VIRTIO_ID_NET : d.device_id == 0x1001 ? VIRTIO_ID_BLOCK
               : d.device_id == 0x1002 ? VIRTIO_ID_BALLOON : d.device_id == 0x1003 ? VIRTIO_ID_CONSOLE : 0;
    *(volatile u32 *)(d.common + VIRTIO_PCI_COMMON_DFSELECT) = 0;
    u32 lo = *(volatile u32 *)(d.common + VIRTIO_PCI_COMMON_DF);
    *(volatile u32 *)(d.common + VIRTIO_PCI_COMMON_DFSELECT) = 1;
    u32 hi = *(volatile u32 *)(d.common + VIRTIO_PCI_COMMON_DF);
    puts(" virtio features ");
    put_hex(hi);
    putc(':');
    put_hex(lo);
    puts(" queues ");
    put_dec(*(volatile u16 *)(d.common + VIRTIO_PCI_COMMON_NUMQ));
    if (type == VIRTIO_ID_BLOCK && d.devcfg) {
        puts(" capacity ");
        put_u64((u64)vpci_cfg32(&d, VIRTIO_BLK_CFG_CAPACITY + 4) << 32 | vpci_cfg32(&d, VIRTIO_BLK_CFG_CAPACITY));
    } else if (type == VIRTIO_ID_NET && d.devcfg) {
        puts(" mac");
        for (u32 i = 0; i < 6; i++) {
            putc(i ? ':' : ' ');
            u8 v = vpci_cfg8(&d, VIRTIO_NET_CFG_MAC + i);
            putc("0123456789abcdef"[v >> 4]);
            putc("0123456789abcdef"[v & 15]);
        }
    } else if (type == VIRTIO_ID_CONSOLE && d.devcfg) {
        puts(" max_nr_ports ");
        put_dec(vpci_cfg32(&d, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS));
    } else if (type == VIRTIO_ID_BALLOON && d.devcfg) {
        puts(" num_pages ");
        put_dec(vpci_cfg32(&d, VIRTIO_BALLOON_CFG_NUM_PAGES));
    }
    puts(" status ");
    put_dec(vpci_status(&d));
    putc('\n');
}

static void show_esb(u32 slot, u32 bdf)
{
    u32 base = pci_read32(bdf, PCI_BAR0) & ~0xfu;
    puts("pcihp: slot ");
    put_dec(slot);
    puts(" i6300esb");
    static const char *const names[] = { " config ", " lock ", " reload " };
    u32 values[] = { pci_read16(bdf, ESB_CONFIG_REG), pci_read8(bdf, ESB_LOCK_REG),
                     *(volatile u16 *)(base + ESB_RELOAD_REG) };
    for (u32 i = 0; i < 3; i++) {
        puts(names[i]);
        put_hex_short(values[i]);
    }
    putc('\n');
}

/* Configures a slot that came up; 0 when it was already set up (an up bit seen again: not an event). */
static int slot_up(u32 slot)
{
    u32 bdf = slot << 3;
    u32 id = pci_read32(bdf, 0);
    puts("pcihp: slot ");
    put_dec(slot);
    if (configured >> slot & 1) {
        putln(" up again, already configured");
        return 0;
    }
    if ((id & 0xffff) == 0xffff) {
        putln(" up, empty");
        return 1;
    }
    configured |= 1u << slot;
    puts(" up ");
    put_hex_short(id & 0xffff);
    putc(':');
    put_hex_short(id >> 16);
    puts(" class ");
    put_hex_short(pci_read32(bdf, PCI_CLASS_REVISION) >> 8);
    u32 sub = pci_read32(bdf, PCI_SUBSYSTEM_VENDOR_ID);
    puts(" subsystem ");
    put_hex_short(sub & 0xffff);
    putc(':');
    put_hex_short(sub >> 16);
    puts(" header ");
    put_hex_short(pci_read8(bdf, PCI_HEADER_TYPE));
    putc('\n');
    if (!assign_bars(slot, bdf))
        return 1;
    if ((id & 0xffff) == PCI_VENDOR_VIRTIO)
        show_virtio(slot, bdf);
    else if ((id & 0xffff) == ESB_VENDOR && id >> 16 == ESB_DEVICE)
        show_esb(slot, bdf);
    return 1;
}

static void slot_down(u32 slot, int refuse)
{
    puts("pcihp: slot ");
    put_dec(slot);
    if (refuse) {
        putln(" down, refusing");
        return;
    }
    outl(PCIHP_BASE + PCI_EJ, 1u << slot);
    configured &= ~(1u << slot);
    puts(" down, ejected, vendor now ");
    put_hex_short(pci_read16(slot << 3, 0));
    putc('\n');
}

/* How the DSDT describes hotplug: the slots with an eject method, and the GPE handler's PCI0.PCNT. */
static void show_dsdt(void)
{
    u32 dsdt = acpi_dsdt(), len = *(volatile u32 *)(dsdt + 4), ej0 = 0, pcnt = 0;
    for (u32 a = dsdt; a + 4 <= dsdt + len; a++) {
        u32 v = *(volatile u32 *)a;
        ej0 += v == ('_' | 'E' << 8 | 'J' << 16 | (u32)'0' << 24);
        pcnt += v == ('P' | 'C' << 8 | 'N' << 16 | (u32)'T' << 24);
    }
    puts("pcihp: dsdt _EJ0 ");
    put_dec(ej0);
    puts(" PCNT ");
    put_dec(pcnt);
    putc('\n');
}

static void show_registers(const char *what)
{
    puts("pcihp: abuse: ");
    puts(what);
    puts(" up ");
    put_hex(inl(PCIHP_BASE + PCI_UP));
    puts(" down ");
    put_hex(inl(PCIHP_BASE + PCI_DOWN));
    puts(" ej ");
    put_hex(inl(PCIHP_BASE + PCI_EJ));
    puts(" rmv ");
    put_hex(inl(PCIHP_BASE + PCI_RMV));
    puts(" sel ");
    put_hex(inl(PCIHP_BASE + PCI_SEL));
    putc('\n');
}

static void show_ids(u32 from, u32 to)
{
    puts("pcihp: abuse: ids");
    for (u32 slot = from; slot <= to; slot++) {
        puts(" ");
        put_hex_short(pci_read32(slot << 3, 0));
    }
    putc('\n');
}

/*
 * What a confused guest might write: buses that do not exist, read-only registers, narrow accesses, ejects
 * of slots holding the host bridge, the PIIX3 functions or nothing, and of slot 4, where the test may have
 * put a device at start-up (QEMU ejects a cold-plugged device that is hotpluggable, as if unplugged).
 */
static void abuse(void)
{
    show_ids(0, 5);
    outl(PCIHP_BASE + PCI_SEL, 7);
    show_registers("bus 7");
    outl(PCIHP_BASE + PCI_EJ, 1u << 5);
    outl(PCIHP_BASE + PCI_SEL, 0x1000);
    show_registers("bus 0x1000");
    outl(PCIHP_BASE + PCI_EJ, 1u << 4);
    show_ids(4, 4);
    outl(PCIHP_BASE + PCI_SEL, 0);
    outl(PCIHP_BASE + PCI_UP, 0xffffffffu);
    outl(PCIHP_BASE + PCI_DOWN, 0xffffffffu);
    outl(PCIHP_BASE + PCI_RMV, 0);
    show_registers("bus 0 after writes");
    puts("pcihp: abuse: narrow rmv ");
    put_hex_short(inb(PCIHP_BASE + PCI_RMV));
    putc(' ');
    put_hex_short(inw(PCIHP_BASE + PCI_RMV + 2));
    puts(" past the block ");
    put_hex(inl(PCIHP_BASE + 0x14));
    putc(' ');
    put_hex(inl(PCIHP_BASE + 0x18));
    putc('\n');
    outb(PCIHP_BASE + PCI_EJ, 1u << 4);
    show_ids(4, 4);
    outl(PCIHP_BASE + PCI_EJ, 0xffffffffu);
    outl(PCIHP_BASE + PCI_EJ, 1u << 1);
    outl(PCIHP_BASE + PCI_EJ, 1u << 20);
    show_ids(0, 5);
    outl(PCIHP_BASE + PCI_EJ, 1u << 4);
    show_ids(0, 5);
}

void action_pcihp(const struct boot_info *bi)
{
    char buf[16];
    u32 events = 1;
    if (cmdline_get(bi->cmdline, "events", buf, sizeof(buf)) && !parse_u32(buf, &events))
        events = 1;
    int refuse = cmdline_get(bi->cmdline, "mode", buf, sizeof(buf)) && streq(buf, "refuse");
    gpe0 = acpi_gpe_sci(bi, (u32)sci_gpe_isr, &gpe0_len);
    u16 en = (u16)(gpe0 + gpe0_len / 2);
    outb((u16)gpe0, ACPI_PCI_HOTPLUG_STATUS);              /* drop a stale event */
    outb(en, inb(en) | ACPI_PCI_HOTPLUG_STATUS);
    show_dsdt();
    if (cmdline_get(bi->cmdline, "abuse", buf, sizeof(buf)))
        abuse();
    outl(PCIHP_BASE + PCI_SEL, 0);
    puts("pcihp: ready, removable ");
    put_hex(inl(PCIHP_BASE + PCI_RMV));
    putc('\n');
    for (u32 seen = 0; seen < events;) {
        __asm__ volatile("cli");
        if (!gpe_seen) {
            __asm__ volatile("sti; hlt"); /* sti's shadow makes the check-then-halt race free */
            continue;
        }
        u32 sts = gpe_seen;
        gpe_seen = 0;
        __asm__ volatile("sti");
        outl(PCIHP_BASE + PCI_SEL, 0);
        u32 up = inl(PCIHP_BASE + PCI_UP), down = inl(PCIHP_BASE + PCI_DOWN);
        puts("pcihp: gpe ");
        put_hex_short(sts);
        puts(" up ");
        put_hex(up);
        puts(" down ");
        put_hex(down);
        putc('\n');
        for (u32 s = 0; s < PCI_SLOTS; s++)
            if (up >> s & 1)
                seen += (u32)slot_up(s);
        for (u32 s = 0; s < PCI_SLOTS; s++)
            if (down >> s & 1) {
                slot_down(s, refuse);
                seen++;
            }
    }
    putln("pcihp: done");
    exit_qemu(EXIT_PASS);
}
