/* jvmm-tiny: the shared guest program run by tiny.pvh, tiny.mb and tiny.bzImage. */
#include "guest.h"
#include "net.h"

/* Local APIC registers (Intel SDM Vol. 3A, Table 11-1), xAPIC MMIO; the common ones are in guest.h. */
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_INIT_ASSERT 0x00004500u   /* INIT, level assert */
#define ICR_STARTUP 0x00004600u       /* start-up IPI; low byte = vector */

/* QEMU/KVM route the PIT (GSI 0) to IOAPIC pin 2 (ISA interrupt source override). */
#define PIT_IOAPIC_PIN 2

/* 8254 PIT (the 8259A data ports are in guest.h). */
#define PIT_CH0 0x40
#define PIT_MODE 0x43
#define PIT_MODE_CH0_LOHI_RATE 0x34
#define PIT_MODE_CH0_LOHI_ONESHOT 0x30
#define PIT_HZ 1193182u
#define TIMER_HZ 1000u
#define TIMER_VECTOR 0x30
#define FIRST_TICK_SPINS 2000000u
#define FIRST_TICK_TSC 3000000000ull

/* MC146818 RTC (CMOS). */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_CENTURY 0x32   /* QEMU's choice, also named by the FADT CENTURY field */
#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_24H 0x02
#define RTC_B_DM_BINARY 0x04

/* Reset paths. */
#define I8042_COMMAND 0x64
#define I8042_CMD_PULSE_RESET 0xfe
#define SYSCTL_PORT_A 0x92
/* PIIX3 Reset Control Register (datasheet 4.1.16): SYS_RST (bit 1) | RST_CPU (bit 2) = hard reset. */
#define PIIX_RCR 0xcf9
#define PIIX_RCR_HARD_RESET 0x06
#define SYSCTL_FAST_RESET 0x01

/* Port left unassigned on QEMU's pc machine; reads of unassigned ports return all ones. */
#define UNASSIGNED_PORT 0x3100

/* QEMU pvpanic ISA device (docs/specs/pvpanic.txt): read = supported events, write = event. */
#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x01
#define PVPANIC_CRASH_LOADED 0x02

#define POST_PORT 0x80
#define TRAMP_BASE 0x8000u

struct idt_gate {
    u16 offset_lo;
    u16 selector;
    u8 zero;
    u8 type_attr;
    u16 offset_hi;
} __attribute__((packed));

struct idt_ptr {
    u16 limit;
    u32 base;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static volatile u32 ticks;

void fail(void)
{
    putln("jvmm-tiny: FAILED");
    exit_qemu(EXIT_FAIL);
}

void unexpected_vector(u32 vec) __attribute__((noreturn));
void unexpected_vector(u32 vec)
{
    puts("jvmm-tiny: unexpected exception vector ");
    put_hex(vec);
    putc('\n');
    fail();
}

void timer_tick(void)
{
    ticks++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

void set_gate(u32 vec, u32 handler)
{
    idt[vec].offset_lo = (u16)handler;
    idt[vec].selector = 0x08;
    idt[vec].zero = 0;
    idt[vec].type_attr = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
    idt[vec].offset_hi = (u16)(handler >> 16);
}

static void setup_idt(void)
{
    for (u32 v = 0; v < 256; v++)
        set_gate(v, (u32)isr_stubs + 16 * v);
    set_gate(TIMER_VECTOR, (u32)timer_isr);
    set_gate(LAPIC_SPURIOUS_VECTOR, (u32)spurious_isr);
    struct idt_ptr p = { sizeof(idt) - 1, (u32)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

void io_delay(u32 n)
{
    while (n--)
        outb(POST_PORT, 0);
}

void ioapic_write(u32 reg, u32 v)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, v);
}

/* ---------------- checks ---------------- */

static u8 cmos_read(u8 reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static int bcd_ok(u8 v)
{
    return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}

static u8 from_bcd(u8 v)
{
    return (u8)((v >> 4) * 10 + (v & 0x0f));
}

static int rtc_field(const char *name, u8 raw, int bcd, u8 lo, u8 hi, u8 *out)
{
    if (bcd) {
        if (!bcd_ok(raw)) {
            puts("rtc: bad ");
            putln(name);
            return 0;
        }
        raw = from_bcd(raw);
    }
    if (raw < lo || raw > hi) {
        puts("rtc: bad ");
        putln(name);
        return 0;
    }
    *out = raw;
    return 1;
}

static int check_rtc(void)
{
    u32 i;
    for (i = 0; i < 1000000; i++)
        if (!(cmos_read(RTC_REG_A) & RTC_A_UIP))
            break;
    if (i == 1000000) {
        putln("rtc: bad uip");
        return 0;
    }
    u8 b = cmos_read(RTC_REG_B);
    u8 sec = cmos_read(RTC_SECONDS), min = cmos_read(RTC_MINUTES), hour = cmos_read(RTC_HOURS);
    u8 day = cmos_read(RTC_DAY), mon = cmos_read(RTC_MONTH), year = cmos_read(RTC_YEAR);
    int bcd = !(b & RTC_B_DM_BINARY);
    u8 v;
    if (!rtc_field("seconds", sec, bcd, 0, 59, &v) || !rtc_field("minutes", min, bcd, 0, 59, &v))
        return 0;
    if (b & RTC_B_24H) {
        if (!rtc_field("hours", hour, bcd, 0, 23, &v))
            return 0;
    } else if (!rtc_field("hours", hour & 0x7f, bcd, 1, 12, &v)) {
        return 0;
    }
    if (!rtc_field("day", day, bcd, 1, 31, &v) || !rtc_field("month", mon, bcd, 1, 12, &v)
        || !rtc_field("year", year, bcd, 0, 99, &v))
        return 0;
    putln("rtc: ok");
    return 1;
}

static void cmos_write(u8 reg, u8 v)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, v);
}

static u8 to_bcd(u8 v)
{
    return (u8)((v / 10) << 4 | (v % 10));
}

/* Sets the clock to 2030-01-02 03:04:05 in the mode register B is in, the way an OS does (SET bit). */
static void action_rtcset(void)
{
    static const u8 regs[] = { RTC_CENTURY, RTC_YEAR, RTC_MONTH, RTC_DAY, RTC_HOURS, RTC_MINUTES, RTC_SECONDS };
    static const u8 vals[] = { 20, 30, 1, 2, 3, 4, 5 };
    u8 b = cmos_read(RTC_REG_B);
    int bcd = !(b & RTC_B_DM_BINARY);
    cmos_write(RTC_REG_B, b | RTC_B_SET);
    for (u32 i = 0; i < sizeof(regs); i++)
        cmos_write(regs[i], bcd ? to_bcd(vals[i]) : vals[i]); /* 3 AM reads the same in 12- and 24-hour mode */
    cmos_write(RTC_REG_B, b & ~RTC_B_SET);
    for (u32 i = 0; i < 1000000; i++)
        if (!(cmos_read(RTC_REG_A) & RTC_A_UIP))
            break;
    for (u32 i = 0; i < sizeof(regs); i++) {
        u8 v = cmos_read(regs[i]);
        if (bcd)
            v = from_bcd(v);
        /* The clock runs again once SET is clear: allow the seconds to have ticked once. */
        if (v != vals[i] && !(regs[i] == RTC_SECONDS && v == vals[i] + 1)) {
            puts("rtc: set bad register ");
            put_hex_short(regs[i]);
            putc('\n');
            fail();
        }
    }
    putln("rtc: set ok");
}

static void action_pvpanic(u8 event)
{
    u8 events = inb(PVPANIC_PORT);
    puts("pvpanic: events ");
    put_hex_short(events);
    putc('\n');
    if (events == 0xff) { /* unassigned port: no pvpanic device */
        putln("pvpanic: no device");
        fail();
    }
    if (!(events & event)) {
        putln("pvpanic: event not supported");
        fail();
    }
    putln(event == PVPANIC_PANICKED ? "pvpanic: panicked" : "pvpanic: crash loaded");
    outb(PVPANIC_PORT, event);
}

static int check_timer(void)
{
    u32 divisor = (PIT_HZ + TIMER_HZ / 2) / TIMER_HZ;
    ticks = 0;
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    ioapic_write(IOAPIC_REDTBL(PIT_IOAPIC_PIN) + 1, 0u << 24);   /* destination APIC ID 0 */
    ioapic_write(IOAPIC_REDTBL(PIT_IOAPIC_PIN), TIMER_VECTOR);  /* fixed, physical, edge, high, unmasked */
    outb(PIT_MODE, PIT_MODE_CH0_LOHI_RATE);
    outb(PIT_CH0, (u8)divisor);
    outb(PIT_CH0, (u8)(divisor >> 8));
    __asm__ volatile("sti");
    /*
     * Spin (bounded) for the first tick: hlt would block forever if no interrupt comes. With no PIT (pit=off)
     * there is no calibrated clock, so the spin ends after FIRST_TICK_SPINS or FIRST_TICK_TSC cycles, whichever
     * comes first: a second or more on any TSC up to 3 GHz, hundreds of tick periods. Where the kernel's code is
     * emulated (PVM) a spin takes tens of microseconds, and the count alone would take a minute.
     */
    u64 t0 = rdtsc();
    for (u32 i = 0; i < FIRST_TICK_SPINS && ticks == 0 && rdtsc() - t0 < FIRST_TICK_TSC; i++)
        __asm__ volatile("pause");
    int ok = ticks != 0;
    /* The timer is proven alive, so hlt is safe now. */
    while (ok && ticks < 3)
        __asm__ volatile("hlt");
    __asm__ volatile("cli");
    ioapic_write(IOAPIC_REDTBL(PIT_IOAPIC_PIN), IOAPIC_MASKED | TIMER_VECTOR);
    outb(PIT_MODE, PIT_MODE_CH0_LOHI_ONESHOT); /* stops channel 0 until a new count is written */
    if (!ok) {
        putln("timer: no interrupt");
        return 0;
    }
    putln("timer: ok");
    return 1;
}

static int check_unassigned(void)
{
    u8 v = inb(UNASSIGNED_PORT);
    if (v != 0xff) {
        puts("unassigned: bad ");
        put_hex(v);
        putc('\n');
        return 0;
    }
    putln("unassigned: ok");
    return 1;
}

void run_checks(void)
{
    int ok = check_rtc();
    ok = check_timer() && ok;
    ok = check_unassigned() && ok;
    if (!ok)
        fail();
    putln("jvmm-tiny: all checks passed");
    exit_qemu(EXIT_PASS);
}

/* ---------------- actions ---------------- */

static void cpuid(u32 leaf, u32 sub, u32 r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void put_bit(const char *name, u32 reg, int bit)
{
    puts(name);
    puts((reg >> bit) & 1 ? "=1" : "=0");
}

/* The feature bits -cpu host,+feat,-feat tests look at (SDM vol. 2A, CPUID leaves 1 and 7). */
static void print_cpuid(void)
{
    u32 l1[4], l7[4] = {0, 0, 0, 0};
    cpuid(0, 0, l1);
    u32 max = l1[0];
    cpuid(1, 0, l1);
    if (max >= 7)
        cpuid(7, 0, l7);
    puts("cpuid:");
    put_bit(" sse4_2", l1[2], 20);
    put_bit(" x2apic", l1[2], 21);
    put_bit(" xsave", l1[2], 26);
    put_bit(" avx", l1[2], 28);
    put_bit(" hypervisor", l1[2], 31);
    put_bit(" avx2", l7[1], 5);
    putln("");
}

/*
 * Whole CPUID leaves for the CPU model comparison: the standard range's 0, 1 and 7.0, the extended
 * range's 0x8000_0000, 0x8000_0001 and 0x8000_0008 (each only where the maximum leaf reaches it).
 */
static void print_cpuid_leaf(u32 leaf, u32 sub)
{
    u32 r[4];
    cpuid(leaf, sub, r);
    puts("cpuid ");
    put_hex(leaf);
    puts(".");
    put_dec(sub);
    puts(":");
    for (int i = 0; i < 4; i++) {
        puts(" ");
        put_hex(r[i]);
    }
    putln("");
}

static void print_cpuid_leaves(void)
{
    u32 r[4];
    cpuid(0, 0, r);
    u32 max = r[0];
    print_cpuid_leaf(0, 0);
    print_cpuid_leaf(1, 0);
    if (max >= 7)
        print_cpuid_leaf(7, 0);
    cpuid(0x80000000, 0, r);
    u32 xmax = r[0];
    print_cpuid_leaf(0x80000000, 0);
    if (xmax >= 0x80000001)
        print_cpuid_leaf(0x80000001, 0);
    if (xmax >= 0x80000008)
        print_cpuid_leaf(0x80000008, 0);
}

static void spin(void) __attribute__((noreturn));
static void spin(void)
{
    for (;;)
        __asm__ volatile("pause");
}

static int send_ipi(u32 apic_id, u32 icr)
{
    mmio_write32(LAPIC_BASE + LAPIC_ICR_HIGH, apic_id << 24);
    mmio_write32(LAPIC_BASE + LAPIC_ICR_LOW, icr);
    for (u32 i = 0; i < 100000; i++)
        if (!(mmio_read32(LAPIC_BASE + LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING))
            return 1;
    return 0;
}

/* INIT, then two start-up IPIs to the trampoline; 0 when the local APIC did not take one of them. */
int start_ap(u32 apic_id)
{
    int ok = send_ipi(apic_id, ICR_INIT_ASSERT);
    io_delay(100);
    ok = ok && send_ipi(apic_id, ICR_STARTUP | (TRAMP_BASE >> 12));
    io_delay(20);
    return ok && send_ipi(apic_id, ICR_STARTUP | (TRAMP_BASE >> 12));
}

/* Copies the AP trampoline to TRAMP_BASE, zeroes ap_count and software-enables the local APIC. */
void prepare_aps(void)
{
    memcpy((void *)TRAMP_BASE, tramp_start, (u32)(tramp_end - tramp_start));
    ap_count = 0;
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

static void action_smp(const char *cmdline)
{
    char buf[16];
    u32 n = 1;
    if (cmdline_get(cmdline, "cpus", buf, sizeof(buf)) && (!parse_u32(buf, &n) || n < 1 || n > 255)) {
        puts("smp: bad cpus= value ");
        putln(buf);
        fail();
    }
    prepare_aps();
    for (u32 id = 1; id < n; id++) {
        if (!start_ap(id)) {
            puts("smp: IPI not delivered to APIC ");
            put_dec(id);
            putc('\n');
            fail();
        }
    }
    for (u32 i = 0; i < 200000 && ap_count < n - 1; i++)
        io_delay(1);
    if (ap_count != n - 1) {
        puts("smp: only ");
        put_dec(ap_count + 1);
        puts(" of ");
        put_dec(n);
        putln(" cpus online");
        fail();
    }
    puts("smp: ");
    put_dec(n);
    putln(" cpus online");
}

static void put_hex64(u64 v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[19];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 16; i++)
        buf[2 + i] = digits[(u32)(v >> (60 - 4 * i)) & 0xf];
    buf[18] = 0;
    puts(buf);
}

static void print_memmap(const struct boot_info *bi)
{
    for (u32 i = 0; i < bi->nr_map; i++) {
        puts("e820: ");
        put_hex64(bi->map[i].addr);
        puts(" ");
        put_hex64(bi->map[i].size);
        puts(" ");
        put_dec(bi->map[i].type);
        putc('\n');
    }
}

void guest_main(struct boot_info *bi)
{
    char action[32];
    puts("jvmm-tiny: boot=");
    putln(bi->kind);
    puts("cmdline: ");
    putln(bi->cmdline);
    puts("memory: ");
    put_dec(usable_mib(bi));
    putln(" MiB");
    setup_idt();

    if (!cmdline_get(bi->cmdline, "action", action, sizeof(action)))
        run_checks();
    if (streq(action, "kbdreset")) {
        putln("jvmm-tiny: reset via i8042");
        outb(I8042_COMMAND, I8042_CMD_PULSE_RESET);
        spin();
    } else if (streq(action, "port92reset")) {
        putln("jvmm-tiny: reset via port 0x92");
        outb(SYSCTL_PORT_A, inb(SYSCTL_PORT_A) | SYSCTL_FAST_RESET);
        spin();
    } else if (streq(action, "cf9reset")) {
        putln("jvmm-tiny: reset via port 0xcf9");
        outb(PIIX_RCR, PIIX_RCR_HARD_RESET);
        spin();
    } else if (streq(action, "triplefault")) {
        putln("jvmm-tiny: triple fault");
        struct idt_ptr p = { 0, 0 };
        /* #DE with an empty IDT -> #GP -> #DF -> triple fault (shutdown). */
        __asm__ volatile("lidt %0\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\tdivl %%ecx"
                         : : "m"(p), "a"(1) : "ecx", "edx");
        spin();
    } else if (streq(action, "cpuid")) {
        print_cpuid();
        run_checks();
    } else if (streq(action, "cpuid-leaves")) {
        print_cpuid_leaves();
        run_checks();
    } else if (streq(action, "idle")) {
        /* For monitor tests: stay up, doing nothing, until the VMM is told to stop. */
        putln("jvmm-tiny: idle");
        for (;;)
            __asm__ volatile("cli; hlt");
    } else if (streq(action, "emulation-failure")) {
        putln("jvmm-tiny: emulation failure");
        __asm__ volatile("int3");
        spin();
    } else if (streq(action, "smp")) {
        action_smp(bi->cmdline);
        run_checks();
    } else if (streq(action, "cpuhp")) {
        action_cpuhp(bi->cmdline);
    } else if (streq(action, "panic-exit")) {
        putln("jvmm-tiny: exit 7");
        exit_qemu(7);
    } else if (streq(action, "acpi") || streq(action, "poweroff") || streq(action, "powerbutton")
               || streq(action, "suspend") || acpi_wake_action(action)) {
        action_acpi(bi, action);
    } else if (streq(action, "memhp")) {
        action_memhp(bi);
    } else if (streq(action, "rtcset")) {
        action_rtcset();
        run_checks();
    } else if (streq(action, "panic")) {
        action_pvpanic(PVPANIC_PANICKED);
        /* QEMU's default panic action ends the VM; with -action panic=pause we stay here. */
        for (;;)
            __asm__ volatile("cli; hlt");
    } else if (streq(action, "crashloaded")) {
        /* Only an event: the VM keeps running, so finish like a normal run. */
        action_pvpanic(PVPANIC_CRASH_LOADED);
        run_checks();
    } else if (action[0] == 'b' && action[1] == 'l' && action[2] == 'k' && (action[3] == 0 || action[3] == '-')) {
        action_blk(bi, action);
    } else if (streq(action, "ide") || streq(action, "ide-read") || streq(action, "ide-abuse") || streq(action, "ide-irq")
               || streq(action, "cd")
               || streq(action, "cd-tray")) {
        action_ide(bi, action);
    } else if (streq(action, "wdt-ib700") || streq(action, "wdt-esb") || streq(action, "wdt-abuse")) {
        action_wdt(bi, action);
    } else if (streq(action, "vserial") || streq(action, "vserial-abuse") || streq(action, "vserial-tx")
               || streq(action, "vserial-rx")) {
        action_vserial(bi, action);
    } else if (streq(action, "balloon") || streq(action, "balloon-abuse")) {
        action_balloon(bi, action);
    } else if (streq(action, "uhci")) {
        action_uhci();
    } else if (streq(action, "pit")) {
        action_pit();
    } else if (streq(action, "i8042")) {
        action_i8042();
    } else if (streq(action, "net")) {
        action_net(bi);
    } else if (streq(action, "pcihp")) {
        action_pcihp(bi);
    } else if (streq(action, "fwcfg")) {
        action_fwcfg();
    } else if (streq(action, "memmap")) {
        print_memmap(bi);
        if (bi->initrd_size) {
            puts("initrd: ");
            put_hex(bi->initrd_addr);
            puts(" ");
            put_hex(bi->initrd_size);
            putc('\n');
        }
        run_checks();
    }
    puts("jvmm-tiny: unknown action ");
    putln(action);
    fail();
}
