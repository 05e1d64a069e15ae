/*
 * action=wdt-ib700 | wdt-esb | wdt-abuse: arm a watchdog, pet it a few times, then stop petting and idle,
 * so the VMM's watchdog expires. Optional pets=N (default 3).
 */
#include "guest.h"

/* ib700 (QEMU hw/watchdog/wdt_ib700.c): a write to 0x443 arms with a timeout table index, 0x441 disarms. */
#define IB700_DISABLE 0x441
#define IB700_ENABLE 0x443
#define IB700_2S 0x0e          /* table index 14: 2 seconds */

/* Intel 6300ESB watchdog (6300ESB datasheet 13.x, PCI 8086:25ab). */
#define ESB_VENDOR 0x8086
#define ESB_DEVICE 0x25ab
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_BAR0 0x10
#define ESB_CONFIG_REG 0x60
#define ESB_LOCK_REG 0x68
#define ESB_WDT_FREQ (1 << 2)     /* 1 MHz scale */
#define ESB_WDT_REBOOT (1 << 5)   /* set: no reboot on expiry */
#define ESB_WDT_LOCK (1 << 0)
#define ESB_WDT_ENABLE (1 << 1)
#define ESB_WDT_FUNC (1 << 2)     /* free running */
#define ESB_TIMER1_REG 0x00
#define ESB_TIMER2_REG 0x04
#define ESB_RELOAD_REG 0x0c
#define ESB_WDT_RELOAD 0x100
#define ESB_WDT_TIMEOUT 0x200
#define ESB_UNLOCK1 0x80
#define ESB_UNLOCK2 0x86
/*
 * 1 MHz scale: one preload unit is 32 PCI clocks (960 ns); 0x80000 units is about 0.5 s a stage, so pets
 * every 0.2 s leave 0.8 s of margin for a loaded host before both stages run out.
 */
#define ESB_PRELOAD 0x80000

static inline void mmio_write16(u32 a, u16 v) { *(volatile u16 *)a = v; }
static inline u16 mmio_read16(u32 a) { return *(volatile u16 *)a; }
static inline void mmio_write8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static inline u8 mmio_read8(u32 a) { return *(volatile u8 *)a; }

/* A byte write through configuration mechanism #1 (a dword write would also hit the neighbours). */
static void pci_write8(u32 bdf, u32 off, u8 v)
{
    __asm__ volatile("outl %0, %1" : : "a"(0x80000000u | bdf << 8 | (off & 0xfc)), "Nd"((u16)0xcf8));
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"((u16)(0xcfc + (off & 3))));
}

/* 8- and 16-bit reads at the register's own offset: the watchdog registers answer only to their size. */
static u8 cfg_read8(u32 bdf, u32 off)
{
    u8 v;
    __asm__ volatile("outl %0, %1" : : "a"(0x80000000u | bdf << 8 | (off & 0xfc)), "Nd"((u16)0xcf8));
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((u16)(0xcfc + (off & 3))));
    return v;
}

static u16 cfg_read16(u32 bdf, u32 off)
{
    u16 v;
    __asm__ volatile("outl %0, %1" : : "a"(0x80000000u | bdf << 8 | (off & 0xfc)), "Nd"((u16)0xcf8));
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"((u16)(0xcfc + (off & 2))));
    return v;
}

static void sleep_ms(u32 ms)
{
    struct deadline d;
    deadline_set(&d, ms);
    while (!expired(&d))
        ;
}

static void idle(void) __attribute__((noreturn));
static void idle(void)
{
    putln("wdt: idle");
    for (;;)
        __asm__ volatile("cli; hlt");
}

static u32 pets_param(const struct boot_info *bi)
{
    char buf[12];
    u32 n = 3;
    if (cmdline_get(bi->cmdline, "pets", buf, sizeof(buf)))
        parse_u32(buf, &n);
    return n;
}

static void ib700(u32 pets) __attribute__((noreturn));
static void ib700(u32 pets)
{
    outb(IB700_ENABLE, IB700_2S);
    putln("wdt: ib700 armed");
    for (u32 i = 1; i <= pets; i++) {
        sleep_ms(500);
        outb(IB700_ENABLE, IB700_2S);
        puts("wdt: pet ");
        put_dec(i);
        putc('\n');
    }
    idle();
}

static u32 esb_find(u32 *base)
{
    static const u16 ids[] = { ESB_DEVICE };
    u32 bdf;
    if (!pci_find(ESB_VENDOR, ids, 1, &bdf)) {
        putln("wdt: no i6300esb");
        fail();
    }
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_COMMAND_MEMORY);
    *base = pci_read32(bdf, PCI_BAR0) & ~0xfu;
    return bdf;
}

static void esb_unlocked_write32(u32 base, u32 reg, u32 v)
{
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK1);
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK2);
    mmio_write32(base + reg, v);
}

static void esb_pet(u32 base)
{
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK1);
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK2);
    mmio_write16(base + ESB_RELOAD_REG, ESB_WDT_RELOAD);
}

static void esb_print_state(u32 bdf, u32 base)
{
    puts("wdt: config ");
    put_hex_short(cfg_read16(bdf, ESB_CONFIG_REG));
    puts(" lock ");
    put_hex_short(cfg_read8(bdf, ESB_LOCK_REG));
    puts(" raw ");
    put_hex_short(pci_read32(bdf, ESB_CONFIG_REG));
    puts(" ");
    put_hex_short(pci_read32(bdf, ESB_LOCK_REG));
    puts(" reload ");
    put_hex_short(mmio_read16(base + ESB_RELOAD_REG));
    putc('\n');
}

static void esb(u32 pets) __attribute__((noreturn));
static void esb(u32 pets)
{
    u32 base;
    u32 bdf = esb_find(&base);
    esb_print_state(bdf, base);
    pci_write16(bdf, ESB_CONFIG_REG, ESB_WDT_FREQ);
    esb_unlocked_write32(base, ESB_TIMER1_REG, ESB_PRELOAD);
    esb_unlocked_write32(base, ESB_TIMER2_REG, ESB_PRELOAD);
    pci_write8(bdf, ESB_LOCK_REG, ESB_WDT_ENABLE);
    esb_print_state(bdf, base);
    putln("wdt: esb armed");
    for (u32 i = 1; i <= pets; i++) {
        sleep_ms(200);
        esb_pet(base);
        puts("wdt: pet ");
        put_dec(i);
        putc('\n');
    }
    idle();
}

/* Garbage and wrong sequences; the state printed afterwards must match QEMU's, and nothing may crash. */
static void abuse(void) __attribute__((noreturn));
static void abuse(void)
{
    for (u32 v = 0; v < 256; v += 17) {
        outb(IB700_DISABLE, (u8)v);
        outb(IB700_DISABLE + 1, (u8)v);
        /* Any period but index 15 (0 s), which would fire before the disarm below. */
        outb(IB700_ENABLE + 1, (u8)(v & 0xf0));
        outw(IB700_DISABLE, (u16)(v * 257));
    }
    /* Armed with 30 s, then disarmed: must not fire. */
    outb(IB700_ENABLE, 0);
    outb(IB700_DISABLE, 0);
    puts("wdt-abuse: ib700 reads ");
    put_hex_short(inb(IB700_DISABLE));
    puts(" ");
    put_hex_short(inb(IB700_ENABLE));
    putc('\n');

    u32 base;
    u32 bdf = esb_find(&base);
    /* Wrong unlock order, then a preload write that must be ignored. */
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK2);
    mmio_write16(base + ESB_RELOAD_REG, ESB_UNLOCK1);
    mmio_write32(base + ESB_TIMER1_REG, 5);
    /* Bytes and odd sizes everywhere in the BAR. */
    for (u32 off = 0; off < 16; off++) {
        mmio_write8(base + off, (u8)(0xa5 ^ off));
        (void)mmio_read8(base + off);
    }
    for (u32 off = 0; off < 16; off += 2) {
        mmio_write16(base + off, (u16)(0x5a5a ^ off));
        (void)mmio_read16(base + off);
    }
    for (u32 off = 0; off < 16; off += 4) {
        mmio_write32(base + off, 0xdeadbeef ^ off);
        puts("wdt-abuse: bar+");
        put_hex_short(off);
        puts(" ");
        put_hex_short(mmio_read32(base + off));
        putc('\n');
    }
    /* Config writes of the wrong size to the watchdog registers (ignored or plain config space). */
    pci_write32(bdf, ESB_CONFIG_REG, 0xffffffff);
    pci_write8(bdf, ESB_CONFIG_REG, 0xff);
    pci_write16(bdf, ESB_LOCK_REG, 0xffff);
    esb_print_state(bdf, base);
    /* Clear the reboot flag, set the longest 1 kHz preload, enable and lock: now it cannot be disabled. */
    pci_write16(bdf, ESB_CONFIG_REG, 0);
    esb_unlocked_write32(base, ESB_TIMER1_REG, 0xffffffff);
    esb_unlocked_write32(base, ESB_TIMER2_REG, 0xfffff);
    pci_write8(bdf, ESB_LOCK_REG, ESB_WDT_ENABLE | ESB_WDT_LOCK);
    pci_write8(bdf, ESB_LOCK_REG, 0);
    pci_write16(bdf, ESB_CONFIG_REG, ESB_WDT_REBOOT | ESB_WDT_FREQ | 3);
    esb_print_state(bdf, base);
    putln("wdt-abuse: done");
    exit_qemu(EXIT_PASS);
}

void action_wdt(const struct boot_info *bi, const char *action)
{
    calibrate_tsc();
    u32 pets = pets_param(bi);
    if (streq(action, "wdt-ib700"))
        ib700(pets);
    else if (streq(action, "wdt-esb"))
        esb(pets);
    abuse();
}
