/*
 * action=cpuhp [events=N] [refuse=K] [eject=S]: the OS's ACPI CPU hotplug code at register level, over QEMU's
 * modern interface (docs/specs/acpi_cpu_hotplug.rst; PIIX4 PM's block at 0xaf00, GPE0 bit 2). It switches the
 * block to the modern layout, ejects CPU S unasked if told (an -smp CPU goes too), says "cpuhp: ready", then handles N hotplug events (default 4): for an
 * insert event it reads the CPU's APIC id, starts it with INIT-SIPI-SIPI (the AP counts itself in ap_count
 * and halts), reports _OST (insert, success) and clears the event; for a remove event it refuses the first
 * K requests (_OST eject, failure) and ejects the others (_OST eject in progress, the eject bit, then _OST
 * eject success on the now empty slot). The halted AP is already stopped when it is ejected. Then it says
 * "cpuhp: done" and halts for good.
 */
#include "guest.h"

#define CPUHP_BASE 0xaf00
#define CPUHP_SELECTOR (CPUHP_BASE + 0)
#define CPUHP_FLAGS (CPUHP_BASE + 4)
#define CPUHP_COMMAND (CPUHP_BASE + 5)
#define CPUHP_DATA (CPUHP_BASE + 8)
#define CPUHP_FLAG_ENABLED 0x1
#define CPUHP_FLAG_INSERT 0x2
#define CPUHP_FLAG_REMOVE 0x4
#define CPUHP_FLAG_EJECT 0x8
#define CPUHP_CMD_NEXT_EVENT 0
#define CPUHP_CMD_OST_EVENT 1
#define CPUHP_CMD_OST_STATUS 2
#define CPUHP_CMD_CPU_ID 3
#define GPE0_STS 0xafe0
#define GPE0_CPU_HOTPLUG 0x4
/* ACPI 6.4 section 6.3.5: _OST source events and status codes */
#define OST_EVENT_INSERT 1
#define OST_EVENT_EJECT 3
#define OST_SUCCESS 0
#define OST_FAILURE 1
#define OST_EJECT_IN_PROGRESS 0x80
#define EVENT_WAIT_MS 60000
#define AP_WAIT_MS 2000

static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static void ost(u32 sel, u32 event, u32 status)
{
    outl(CPUHP_SELECTOR, sel);
    outb(CPUHP_COMMAND, CPUHP_CMD_OST_EVENT);
    outl(CPUHP_DATA, event);
    outb(CPUHP_COMMAND, CPUHP_CMD_OST_STATUS);
    outl(CPUHP_DATA, status);
}

static u32 cmdline_u32(const char *cmdline, const char *key, u32 dflt)
{
    char buf[16];
    u32 v = dflt;
    if (cmdline_get(cmdline, key, buf, sizeof(buf)) && !parse_u32(buf, &v)) {
        puts("cpuhp: bad value ");
        putln(buf);
        fail();
    }
    return v;
}

static void insert(u32 sel)
{
    outb(CPUHP_COMMAND, CPUHP_CMD_CPU_ID);
    u32 apic = inl(CPUHP_DATA);
    u32 before = ap_count;
    int ok = start_ap(apic);
    struct deadline d;
    deadline_set(&d, AP_WAIT_MS);
    while (ok && ap_count == before && !expired(&d))
        io_delay(1);
    puts("cpuhp: cpu ");
    put_dec(sel);
    puts(" apic ");
    put_dec(apic);
    puts(ap_count != before ? " online" : " did not start");
    puts(", aps started ");
    put_dec(ap_count);
    putc('\n');
    ost(sel, OST_EVENT_INSERT, ap_count != before ? OST_SUCCESS : OST_FAILURE);
    outb(CPUHP_FLAGS, CPUHP_FLAG_INSERT);
}

static void remove(u32 sel, int refuse)
{
    outb(CPUHP_FLAGS, CPUHP_FLAG_REMOVE);
    puts("cpuhp: cpu ");
    put_dec(sel);
    if (refuse) {
        putln(" remove refused");
        ost(sel, OST_EVENT_EJECT, OST_FAILURE);
        return;
    }
    ost(sel, OST_EVENT_EJECT, OST_EJECT_IN_PROGRESS);
    outb(CPUHP_FLAGS, CPUHP_FLAG_EJECT);
    puts(" ejected, flags ");
    put_hex(inb(CPUHP_FLAGS));
    putc('\n');
    ost(sel, OST_EVENT_EJECT, OST_SUCCESS);
}

void action_cpuhp(const char *cmdline)
{
    u32 events = cmdline_u32(cmdline, "events", 4);
    u32 refuse = cmdline_u32(cmdline, "refuse", 0);
    prepare_aps();
    /* the DSDT's PRES._INI: a 0 in the selector switches the block to the modern layout */
    outl(CPUHP_SELECTOR, 0);
    char buf[16];
    if (cmdline_get(cmdline, "eject", buf, sizeof(buf))) {
        u32 sel = cmdline_u32(cmdline, "eject", 0);
        outl(CPUHP_SELECTOR, sel);
        outb(CPUHP_FLAGS, CPUHP_FLAG_EJECT);
        puts("cpuhp: cpu ");
        put_dec(sel);
        puts(" ejected unasked, flags ");
        put_hex(inb(CPUHP_FLAGS));
        putc('\n');
    }
    u32 present = 0, possible = 0;
    for (u32 sel = 0; sel < 256; sel++) {
        outl(CPUHP_SELECTOR, sel);
        outb(CPUHP_COMMAND, CPUHP_CMD_NEXT_EVENT);
        if (sel && inl(CPUHP_DATA) == 0)
            break;
        possible++;
        present += inb(CPUHP_FLAGS) & CPUHP_FLAG_ENABLED;
    }
    puts("cpuhp: ready, cpus ");
    put_dec(present);
    puts(" of ");
    put_dec(possible);
    putc('\n');
    for (u32 handled = 0; handled < events;) {
        struct deadline d;
        deadline_set(&d, EVENT_WAIT_MS);
        while (!(inw(GPE0_STS) & GPE0_CPU_HOTPLUG)) {
            if (expired(&d)) {
                putln("cpuhp: no hotplug event");
                fail();
            }
            io_delay(10);
        }
        outw(GPE0_STS, GPE0_CPU_HOTPLUG);
        /* the DSDT's CSCN: every CPU with an event, until none is left */
        for (;;) {
            outl(CPUHP_SELECTOR, 0);
            outb(CPUHP_COMMAND, CPUHP_CMD_NEXT_EVENT);
            u8 flags = inb(CPUHP_FLAGS);
            if (!(flags & (CPUHP_FLAG_INSERT | CPUHP_FLAG_REMOVE)))
                break;
            u32 sel = inl(CPUHP_DATA);
            if (flags & CPUHP_FLAG_INSERT) {
                insert(sel);
            } else {
                remove(sel, refuse > 0);
                if (refuse)
                    refuse--;
            }
            handled++;
        }
    }
    /* idle, so the monitor can still look at the machine, until it is told to quit */
    putln("cpuhp: done");
    for (;;)
        __asm__ volatile("cli; hlt");
}
