/*
 * action=memhp [slots=N] [refuse=K]: the OS side of QEMU's ACPI memory hotplug interface
 * (docs/specs/acpi_mem_hotplug.rst), done at register level as the DSDT's \_SB.PCI0.MHPD methods do it for
 * Linux: on each SCI with GPE0 bit 3 every slot is scanned; an inserted DIMM is read (address, size),
 * reported with _OST (1, success) and its insert event cleared; a remove request is refused K times
 * (_OST (3, 0x81), device in use) and then accepted (_OST (3, 0x84), eject, _OST (0x103, success)). The guest
 * then halts until the next SCI; it never ends by itself. The DIMM's memory itself lies above 4 GiB, which
 * this guest cannot reach: it runs without paging, and PAE paging faults (#GP on the CR0.PG write) under
 * this host's KVM with QEMU and jvmm alike.
 */
#include "guest.h"

#define MHP_BASE 0x0a00
#define MHP_ADDR_LO (MHP_BASE + 0x0)
#define MHP_ADDR_HI (MHP_BASE + 0x4)
#define MHP_SIZE_LO (MHP_BASE + 0x8)
#define MHP_SIZE_HI (MHP_BASE + 0xc)
#define MHP_PXM (MHP_BASE + 0x10)
#define MHP_STATUS (MHP_BASE + 0x14)
#define MHP_SELECTOR (MHP_BASE + 0x0)
#define MHP_OST_EVENT (MHP_BASE + 0x4)
#define MHP_OST_STATUS (MHP_BASE + 0x8)

#define MHP_ENABLED 1u
#define MHP_INSERT 2u
#define MHP_REMOVE 4u
#define MHP_EJECT 8u

#define GPE_MEMORY (1u << 3)

/* ACPI 6.x, 6.3.5 _OST: source events and status codes */
#define OST_EV_INSERT 1u
#define OST_EV_EJECT_REQUEST 3u
#define OST_EV_OSPM_EJECT 0x103u
#define OST_SUCCESS 0u
#define OST_DEVICE_IN_USE 0x81u
#define OST_EJECT_IN_PROGRESS 0x84u

static inline void out32(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static void ost(u32 event, u32 status)
{
    out32(MHP_OST_EVENT, event);
    out32(MHP_OST_STATUS, status);
}

static void slot_line(u32 slot, const char *what)
{
    puts("memhp: slot ");
    put_dec(slot);
    putc(' ');
    puts(what);
}

/* Garbage a careless OS might do: a selector past the last slot, reserved offsets, odd widths. */
static void abuse(u32 slots)
{
    out32(MHP_SELECTOR, slots + 7);
    puts("memhp: bad selector reads flags ");
    put_hex_short(inb(MHP_STATUS));
    puts(" addr ");
    put_hex_short(inl(MHP_ADDR_LO));
    putc('\n');
    ost(OST_EV_INSERT, OST_SUCCESS); /* ignored: no slot is selected */
    outb(MHP_STATUS, MHP_EJECT);
    out32(MHP_SELECTOR, 0);
    puts("memhp: slot 0 reads flags ");
    put_hex_short(inl(MHP_STATUS));
    puts(" byte 0x15 ");
    put_hex_short(inb(MHP_STATUS + 1));
    puts(" word 0x2 ");
    put_hex_short(inw(MHP_ADDR_LO + 2));
    puts(" pxm ");
    put_hex_short(inl(MHP_PXM));
    putc('\n');
    outb(MHP_STATUS, MHP_EJECT); /* nothing plugged: nothing to eject */
}

static void handle_slot(u32 slot, u32 *refuse)
{
    out32(MHP_SELECTOR, slot);
    u32 flags = inb(MHP_STATUS);
    if (flags & MHP_INSERT) {
        u64 addr = ((u64)inl(MHP_ADDR_HI) << 32) | inl(MHP_ADDR_LO);
        u32 size_hi = inl(MHP_SIZE_HI), size = inl(MHP_SIZE_LO);
        slot_line(slot, "insert addr ");
        put_u64(addr);
        puts(" size ");
        put_hex_short(size);
        puts(size_hi ? " (+4G*n)" : "");
        puts(" flags ");
        put_hex_short(flags);
        putc('\n');
        ost(OST_EV_INSERT, OST_SUCCESS);
        outb(MHP_STATUS, MHP_INSERT);
    }
    if (flags & MHP_REMOVE) {
        slot_line(slot, "remove request flags ");
        put_hex_short(flags);
        putc('\n');
        outb(MHP_STATUS, MHP_REMOVE);
        if (*refuse) {
            (*refuse)--;
            ost(OST_EV_EJECT_REQUEST, OST_DEVICE_IN_USE);
            slot_line(slot, "refused\n");
        } else {
            ost(OST_EV_EJECT_REQUEST, OST_EJECT_IN_PROGRESS);
            outb(MHP_STATUS, MHP_EJECT);
            ost(OST_EV_OSPM_EJECT, OST_SUCCESS);
            slot_line(slot, "ejected, flags ");
            put_hex_short(inb(MHP_STATUS));
            puts(" size ");
            put_hex_short(inl(MHP_SIZE_LO));
            putc('\n');
        }
    }
}

void action_memhp(const struct boot_info *bi)
{
    char buf[16];
    u32 slots = 2, refuse = 0;
    if (cmdline_get(bi->cmdline, "slots", buf, sizeof(buf)))
        parse_u32(buf, &slots);
    if (cmdline_get(bi->cmdline, "refuse", buf, sizeof(buf)))
        parse_u32(buf, &refuse);
    if (slots > 8)
        slots = 8;
    abuse(slots);
    for (u32 s = 0; s < slots; s++) {
        out32(MHP_SELECTOR, s);
        u32 flags = inb(MHP_STATUS);
        if (flags & MHP_ENABLED) {
            slot_line(s, "present at boot addr ");
            put_u64(((u64)inl(MHP_ADDR_HI) << 32) | inl(MHP_ADDR_LO));
            puts(" size ");
            put_hex_short(inl(MHP_SIZE_LO));
            puts(" flags ");
            put_hex_short(flags);
            putc('\n');
        }
    }
    acpi_gpe_setup(bi, GPE_MEMORY);
    putln("memhp: waiting");
    for (u32 round = 1;; round++) {
        u16 gpe = acpi_gpe_wait();
        puts("memhp: gpe ");
        put_hex_short(gpe);
        putc('\n');
        for (u32 s = 0; s < slots; s++)
            handle_slot(s, &refuse);
        puts("memhp: idle ");
        put_dec(round);
        putc('\n');
    }
}
