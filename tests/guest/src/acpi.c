/*
 * ACPI actions: what an OS does with the firmware's tables and the fixed hardware.
 * Table discovery and checksums, S5 power-off, the power-button SCI, S3 suspend with a real-mode
 * resume trampoline. Offsets are from the ACPI 6.5 specification; printed lines never contain
 * addresses of tables so the output is the same under QEMU+SeaBIOS and jvmm.
 */
#include "guest.h"

/* 5.2.5.3 Root System Description Pointer. */
#define RSDP_SCAN_START 0xe0000u
#define RSDP_SCAN_END 0x100000u
#define RSDP_V1_LENGTH 20
#define RSDP_REVISION 15
#define RSDP_RSDT_ADDRESS 16
#define RSDP_LENGTH 20
#define RSDP_XSDT_ADDRESS 24

/* 5.2.6 System Description Table Header. */
#define SDT_LENGTH 4
#define SDT_HEADER_SIZE 36

/* 5.2.9 Fixed ACPI Description Table. */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_GPE0_BLK 80
#define FADT_PM1_EVT_LEN 88
#define FADT_GPE0_BLK_LEN 92
#define FADT_FLAGS 112
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_FLAG_TMR_VAL_EXT (1u << 8)

/* 4.8.3.1 PM1 event registers, 4.8.3.2 PM1 control registers. */
#define PM1_STS_PWRBTN (1u << 8)
#define PM1_EN_PWRBTN (1u << 8)
#define PM1_EN_TMR (1u << 0)
#define PM1_EN_RTC (1u << 10)
#define PM1_STS_ALL 0xffffu
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (7u << 10)
#define PM1_CNT_SLP_EN (1u << 13)
#define PM_TMR_24BIT_MASK 0x00ffffffu

/* 5.2.10 Firmware ACPI Control Structure. */
#define FACS_LENGTH 4
#define FACS_FIRMWARE_WAKING_VECTOR 12
#define FACS_X_FIRMWARE_WAKING_VECTOR 24
#define FACS_V1_MIN_LENGTH 32

/* 5.2.12 Multiple APIC Description Table and its interrupt controller structures. */
#define MADT_ENTRIES 44
#define MADT_TYPE_LOCAL_APIC 0
#define MADT_TYPE_IO_APIC 1
#define MADT_TYPE_ISO 2
#define LAPIC_FLAGS 4
#define LAPIC_ENABLED 1u
#define IO_APIC_ADDRESS 4
#define IO_APIC_GSI_BASE 8
#define ISO_SOURCE 3
#define ISO_GSI 4
#define ISO_FLAGS 8
#define MPS_INTI_POLARITY_MASK 0x3
#define MPS_INTI_ACTIVE_LOW 0x3
#define MPS_INTI_TRIGGER_MASK 0xc
#define MPS_INTI_LEVEL 0xc

/* 20.2 AML grammar: the data objects a sleep-state package holds. */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE_OP 0x12
#define AML_ONES_OP 0xff

/* MC146818A address map and register bits, for the alarm as a wake source. */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS_ALARM 0x05
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define REG_A_UIP 0x80
#define REG_B_AIE 0x20
#define REG_B_DM 0x04
#define ALARM_DONT_CARE 0xff
#define ALARM_DELAY_S 2

#define SCI_VECTOR 0x39
#define WAKE_BASE 0x7000u
#define MAX_TABLES 32
#define NO_SLP_TYP 0xffffffffu

struct acpi {
    u32 rsdp, facp, dsdt, facs, madt;
    u32 nr_tables;
    u32 sig[MAX_TABLES];
    u32 pm1a_evt, pm1a_cnt, pm_tmr, gpe0, gpe0_len, smi_cmd, pm1_evt_len, tmr_ext;
    u8 acpi_enable;
    u32 sci;
    u32 cpus, ioapic, ioapic_gsi_base;
    u32 sci_gsi, sci_level, sci_low, sci_iso;
    u32 slp_typ[6]; /* index = sleep state; NO_SLP_TYP when the DSDT has no \_Sx */
};

static struct acpi A;
static volatile u32 pwrbtn_seen, sci_other, gpe_seen;

static u8 rd8(u32 a) { return *(volatile u8 *)a; }
static u16 rd16(u32 a) { return *(volatile u16 *)a; }
static u32 rd32(u32 a) { return *(volatile u32 *)a; }

static void acpi_fail(const char *what) __attribute__((noreturn));
static void acpi_fail(const char *what)
{
    puts("acpi: ");
    putln(what);
    fail();
}

static u8 checksum(u32 a, u32 len)
{
    u8 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum = (u8)(sum + rd8(a + i));
    return sum;
}

static void put_sig(u32 sig)
{
    for (int i = 0; i < 4; i++)
        putc((char)(sig >> (8 * i)));
}

static u32 sig32(const char *s)
{
    return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

/* A table is usable when it sits below 4 GiB (paging is off), has a sane length and sums to 0. */
static void check_table(u32 a)
{
    u32 len = rd32(a + SDT_LENGTH);
    if (len < SDT_HEADER_SIZE || len > (16u << 20)) {
        puts("acpi: bad length ");
        put_sig(rd32(a));
        putc('\n');
        fail();
    }
    if (checksum(a, len) != 0) {
        puts("acpi: bad checksum ");
        put_sig(rd32(a));
        putc('\n');
        fail();
    }
}

static u32 find_rsdp(void)
{
    for (u32 a = RSDP_SCAN_START; a < RSDP_SCAN_END; a += 16)
        if (rd32(a) == sig32("RSD ") && rd32(a + 4) == sig32("PTR ") && checksum(a, RSDP_V1_LENGTH) == 0)
            return a;
    return 0;
}

/* PkgLength (20.2.4): the lead byte's top two bits count the extra bytes. */
static u32 pkg_length_size(u32 p)
{
    return 1 + (rd8(p) >> 6);
}

/* First element of Name(\_Sx_, Package() {...}): the SLP_TYPa value. */
static u32 find_slp_typ(int state)
{
    u32 len = rd32(A.dsdt + SDT_LENGTH);
    u32 name = sig32("_S0_") + ((u32)state << 16);
    for (u32 p = A.dsdt + SDT_HEADER_SIZE; p + 4 < A.dsdt + len; p++) {
        if (rd32(p) != name || rd8(p + 4) != AML_PACKAGE_OP)
            continue;
        u32 q = p + 5;
        q += pkg_length_size(q);
        q++; /* NumElements */
        switch (rd8(q)) {
        case AML_ZERO_OP: return 0;
        case AML_ONE_OP: return 1;
        case AML_ONES_OP: return 0xff;
        case AML_BYTE_PREFIX: return rd8(q + 1);
        case AML_WORD_PREFIX: return rd16(q + 1);
        case AML_DWORD_PREFIX: return rd32(q + 1);
        default: return NO_SLP_TYP;
        }
    }
    return NO_SLP_TYP;
}

static void parse_fadt(void)
{
    u32 f = A.facp, len = rd32(f + SDT_LENGTH);
    A.dsdt = rd32(f + FADT_DSDT);
    if (len >= FADT_X_DSDT + 8 && rd32(f + FADT_X_DSDT) && !rd32(f + FADT_X_DSDT + 4))
        A.dsdt = rd32(f + FADT_X_DSDT);
    A.facs = rd32(f + FADT_FIRMWARE_CTRL);
    if (len >= FADT_X_FIRMWARE_CTRL + 8 && rd32(f + FADT_X_FIRMWARE_CTRL) && !rd32(f + FADT_X_FIRMWARE_CTRL + 4))
        A.facs = rd32(f + FADT_X_FIRMWARE_CTRL);
    A.sci = rd16(f + FADT_SCI_INT);
    A.smi_cmd = rd32(f + FADT_SMI_CMD);
    A.acpi_enable = rd8(f + FADT_ACPI_ENABLE);
    A.pm1a_evt = rd32(f + FADT_PM1A_EVT_BLK);
    A.pm1a_cnt = rd32(f + FADT_PM1A_CNT_BLK);
    A.pm_tmr = rd32(f + FADT_PM_TMR_BLK);
    A.gpe0 = rd32(f + FADT_GPE0_BLK);
    A.pm1_evt_len = rd8(f + FADT_PM1_EVT_LEN);
    A.gpe0_len = rd8(f + FADT_GPE0_BLK_LEN);
    A.tmr_ext = len >= FADT_FLAGS + 4 && (rd32(f + FADT_FLAGS) & FADT_FLAG_TMR_VAL_EXT);
    if (!A.dsdt)
        acpi_fail("no DSDT");
    if (rd32(A.dsdt) != sig32("DSDT"))
        acpi_fail("bad DSDT signature");
    check_table(A.dsdt);
    if (!A.pm1a_evt || !A.pm1a_cnt)
        acpi_fail("no PM1a blocks");
    for (int s = 0; s < 6; s++)
        A.slp_typ[s] = find_slp_typ(s);
}

static void parse_madt(void)
{
    u32 m = A.madt, end = m + rd32(m + SDT_LENGTH);
    A.sci_gsi = A.sci;       /* identity mapped, ISA default (active high, edge) unless overridden */
    for (u32 e = m + MADT_ENTRIES; e + 2 <= end && rd8(e + 1) >= 2; e += rd8(e + 1)) {
        switch (rd8(e)) {
        case MADT_TYPE_LOCAL_APIC:
            if (rd32(e + LAPIC_FLAGS) & LAPIC_ENABLED)
                A.cpus++;
            break;
        case MADT_TYPE_IO_APIC:
            if (!A.ioapic) {
                A.ioapic = rd32(e + IO_APIC_ADDRESS);
                A.ioapic_gsi_base = rd32(e + IO_APIC_GSI_BASE);
            }
            break;
        case MADT_TYPE_ISO:
            if (rd8(e + ISO_SOURCE) == A.sci) {
                u16 flags = rd16(e + ISO_FLAGS);
                A.sci_iso = 1;
                A.sci_gsi = rd32(e + ISO_GSI);
                A.sci_level = (flags & MPS_INTI_TRIGGER_MASK) == MPS_INTI_LEVEL;
                A.sci_low = (flags & MPS_INTI_POLARITY_MASK) == MPS_INTI_ACTIVE_LOW;
            }
            break;
        }
    }
}

/* Finds and verifies everything; prints "acpi: rsdp ok" and whether the boot protocol's RSDP agrees. */
static void acpi_find(const struct boot_info *bi)
{
    A.rsdp = find_rsdp();
    if (!A.rsdp)
        acpi_fail("no rsdp");
    u32 rev = rd8(A.rsdp + RSDP_REVISION);
    if (rev >= 2 && checksum(A.rsdp, rd32(A.rsdp + RSDP_LENGTH)) != 0)
        acpi_fail("bad rsdp extended checksum");
    putln("acpi: rsdp ok");
    /*
     * Silent when it matches: QEMU passes the RSDP for PVH only, a VMM may pass it for every
     * protocol, and the output must not depend on which. A different address is a VMM bug.
     */
    if (bi->rsdp_addr && bi->rsdp_addr != A.rsdp)
        acpi_fail("boot rsdp differs from the one in the BIOS area");

    u32 root, entry_size;
    if (rev >= 2 && rd32(A.rsdp + RSDP_XSDT_ADDRESS) && !rd32(A.rsdp + RSDP_XSDT_ADDRESS + 4)) {
        root = rd32(A.rsdp + RSDP_XSDT_ADDRESS);
        entry_size = 8;
        if (rd32(root) != sig32("XSDT"))
            acpi_fail("bad XSDT signature");
    } else {
        root = rd32(A.rsdp + RSDP_RSDT_ADDRESS);
        entry_size = 4;
        if (rd32(root) != sig32("RSDT"))
            acpi_fail("bad RSDT signature");
    }
    check_table(root);
    u32 n = (rd32(root + SDT_LENGTH) - SDT_HEADER_SIZE) / entry_size;
    for (u32 i = 0; i < n; i++) {
        u32 e = root + SDT_HEADER_SIZE + i * entry_size;
        u32 t = rd32(e);
        if (!t || (entry_size == 8 && rd32(e + 4)))
            acpi_fail("table address not below 4 GiB");
        check_table(t);
        u32 sig = rd32(t);
        if (A.nr_tables < MAX_TABLES)
            A.sig[A.nr_tables++] = sig;
        if (sig == sig32("FACP") && !A.facp)
            A.facp = t;
        else if (sig == sig32("APIC") && !A.madt)
            A.madt = t;
    }
    if (!A.facp)
        acpi_fail("no FACP");
    if (!A.madt)
        acpi_fail("no APIC");
    parse_fadt();
    parse_madt();
}

static void print_tables(void)
{
    puts("acpi: tables");
    for (u32 i = 0; i < A.nr_tables; i++) {
        putc(' ');
        put_sig(A.sig[i]);
    }
    putc('\n');
    puts("acpi: pm1a_evt ");
    put_hex_short(A.pm1a_evt);
    puts(" pm1a_cnt ");
    put_hex_short(A.pm1a_cnt);
    puts(" pm_tmr ");
    put_hex_short(A.pm_tmr);
    puts(" gpe0 ");
    put_hex_short(A.gpe0);
    puts(" sci ");
    put_dec(A.sci);
    puts(" smi_cmd ");
    put_hex_short(A.smi_cmd);
    puts(" acpi_enable ");
    put_hex_short(A.acpi_enable);
    putc('\n');
    puts("acpi: dsdt ok facs ");
    putln(A.facs && rd32(A.facs) == sig32("FACS") ? "ok" : "missing");
    puts("acpi: madt cpus ");
    put_dec(A.cpus);
    puts(" ioapic ");
    put_hex_short(A.ioapic);
    putc('\n');
    puts("acpi: sci irq ");
    put_dec(A.sci);
    puts(" gsi ");
    put_dec(A.sci_gsi);
    puts(A.sci_iso ? (A.sci_level ? " level" : " edge") : " default");
    puts(A.sci_iso ? (A.sci_low ? " low" : " high") : "");
    putc('\n');
    for (int s = 0; s < 6; s++) {
        if (A.slp_typ[s] == NO_SLP_TYP)
            continue;
        puts("acpi: s");
        put_dec((u32)s);
        puts(" slp_typ ");
        put_dec(A.slp_typ[s]);
        putc('\n');
    }
}

static u16 pm1_en_port(void)
{
    return (u16)(A.pm1a_evt + A.pm1_evt_len / 2);
}

/* 16.3.1: the OS asks the firmware to hand over by writing ACPI_ENABLE to SMI_CMD, then waits for SCI_EN. */
static void acpi_enable(void)
{
    if (!(inw((u16)A.pm1a_cnt) & PM1_CNT_SCI_EN)) {
        if (!A.smi_cmd || !A.acpi_enable)
            acpi_fail("SCI_EN clear and no SMI_CMD");
        outb((u16)A.smi_cmd, A.acpi_enable);
        u32 i;
        for (i = 0; i < 100000; i++)
            if (inw((u16)A.pm1a_cnt) & PM1_CNT_SCI_EN)
                break;
        if (i == 100000)
            acpi_fail("SCI_EN never set");
    }
    putln("acpi: enabled");
}

static void check_pm_timer(void)
{
    if (!A.pm_tmr)
        acpi_fail("no pm timer");
    u32 mask = A.tmr_ext ? 0xffffffffu : PM_TMR_24BIT_MASK;
    u32 t0 = inl((u16)A.pm_tmr) & mask;
    io_delay(20); /* >= 100 us of port writes: a few hundred 3.58 MHz ticks */
    u32 t1 = inl((u16)A.pm_tmr) & mask;
    if (t0 == t1)
        acpi_fail("pm timer stuck");
    putln("acpi: pm timer ok");
}

static void sleep_state(int s)
{
    u16 cnt = inw((u16)A.pm1a_cnt);
    cnt = (u16)((cnt & ~PM1_CNT_SLP_TYP_MASK) | ((A.slp_typ[s] << PM1_CNT_SLP_TYP_SHIFT) & PM1_CNT_SLP_TYP_MASK));
    outw((u16)A.pm1a_cnt, cnt);
    outw((u16)A.pm1a_cnt, cnt | PM1_CNT_SLP_EN);
}

static void poweroff(void) __attribute__((noreturn));
static void poweroff(void)
{
    if (A.slp_typ[5] == NO_SLP_TYP)
        acpi_fail("no \\_S5_");
    putln("acpi: poweroff");
    sleep_state(5);
    io_delay(100000); /* about a second of port writes: the VMM should have stopped us by now */
    acpi_fail("still running after S5");
}

/* Called from sci_isr with interrupts off. Level-triggered: clear the status before the EOI. */
void sci_interrupt(void)
{
    u16 sts = inw((u16)A.pm1a_evt);
    u16 gpe = A.gpe0 ? inw((u16)A.gpe0) : 0;
    if (gpe) {
        gpe_seen |= gpe;
        outw((u16)A.gpe0, gpe); /* GPE0_STS is write-1-to-clear too */
    }
    if (sts & PM1_STS_PWRBTN)
        pwrbtn_seen = 1;
    else if (!gpe)
        sci_other = sts;
    outw((u16)A.pm1a_evt, sts); /* write-1-to-clear everything seen */
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

/* ACPI mode on, the 8259s masked, the SCI delivered to `handler` at SCI_VECTOR through the I/O APIC. */
static u32 route_sci(u32 handler)
{
    if (A.ioapic != IOAPIC_BASE)
        acpi_fail("unexpected ioapic address");
    acpi_enable();
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    set_gate(SCI_VECTOR, handler);
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    u32 pin = A.sci_gsi - A.ioapic_gsi_base;
    ioapic_write(IOAPIC_REDTBL(pin) + 1, 0u << 24); /* destination APIC ID 0 */
    ioapic_write(IOAPIC_REDTBL(pin), SCI_VECTOR | (A.sci_level ? IOAPIC_LEVEL : 0)
                 | (A.sci_low ? IOAPIC_ACTIVE_LOW : 0));
    return pin;
}

u32 acpi_gpe_sci(const struct boot_info *bi, u32 handler, u32 *gpe0_len)
{
    acpi_find(bi);
    if (!A.gpe0 || A.gpe0_len < 2)
        acpi_fail("no GPE0 block");
    *gpe0_len = A.gpe0_len;
    route_sci(handler);
    return A.gpe0;
}

u32 acpi_dsdt(void)
{
    return A.dsdt;
}

void acpi_gpe_setup(const struct boot_info *bi, u16 enable)
{
    acpi_find(bi);
    if (!A.gpe0)
        acpi_fail("no GPE0 block");
    outw((u16)A.gpe0, 0xffff);                       /* drop stale status */
    outw((u16)(A.gpe0 + 2), enable);                 /* GPE0_EN: the second half of the 4-byte block */
    route_sci((u32)sci_isr);
}

u16 acpi_gpe_wait(void)
{
    for (;;) {
        __asm__ volatile("cli");
        if (gpe_seen)
            break;
        __asm__ volatile("sti; hlt");
    }
    u16 g = (u16)gpe_seen;
    gpe_seen = 0;
    return g;
}

static void powerbutton(void) __attribute__((noreturn));
static void powerbutton(void)
{
    outw((u16)A.pm1a_evt, PM1_STS_PWRBTN);          /* drop a stale press */
    outw(pm1_en_port(), inw(pm1_en_port()) | PM1_EN_PWRBTN);
    u32 pin = route_sci((u32)sci_isr);
    putln("acpi: waiting for power button");
    for (;;) {
        __asm__ volatile("cli");
        if (pwrbtn_seen || sci_other)
            break;
        __asm__ volatile("sti; hlt"); /* sti's shadow makes the check-then-halt race free */
    }
    ioapic_write(IOAPIC_REDTBL(pin), IOAPIC_MASKED | SCI_VECTOR);
    if (!pwrbtn_seen) {
        puts("acpi: unexpected sci, pm1_sts ");
        put_hex_short(sci_other);
        putc('\n');
        fail();
    }
    putln("acpi: power button");
    poweroff();
}

static void suspend(void) __attribute__((noreturn));
static void suspend(void)
{
    if (A.slp_typ[3] == NO_SLP_TYP)
        acpi_fail("no \\_S3_");
    if (!A.facs || rd32(A.facs) != sig32("FACS"))
        acpi_fail("no FACS");
    memcpy((void *)WAKE_BASE, wake_start, (u32)(wake_end - wake_start));
    *(volatile u32 *)(A.facs + FACS_FIRMWARE_WAKING_VECTOR) = WAKE_BASE;
    /* A non-zero 64-bit vector would take precedence (and mean protected mode); we want real mode. */
    if (rd32(A.facs + FACS_LENGTH) >= FACS_V1_MIN_LENGTH) {
        *(volatile u32 *)(A.facs + FACS_X_FIRMWARE_WAKING_VECTOR) = 0;
        *(volatile u32 *)(A.facs + FACS_X_FIRMWARE_WAKING_VECTOR + 4) = 0;
    }
    acpi_enable();
    putln("acpi: suspending");
    sleep_state(3);
    io_delay(100000);
    acpi_fail("still running after S3");
}

static u8 cmos_rd(u8 reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static void cmos_wr(u8 reg, u8 v)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, v);
}

/*
 * Alarm ALARM_DELAY_S seconds from now, matching on the seconds only (minutes and hours "don't care"),
 * so it fires within that many seconds without date arithmetic. Register C is read first: a stale AF
 * would keep the alarm from being noticed, on real hardware as in QEMU.
 */
/* The RTC's seconds, binary, read outside the update cycle. */
static u32 rtc_seconds(void)
{
    u32 i;
    for (i = 0; i < 1000000 && (cmos_rd(RTC_REG_A) & REG_A_UIP); i++)
        ;
    u8 raw = cmos_rd(RTC_SECONDS);
    return (cmos_rd(RTC_REG_B) & REG_B_DM) ? raw : (u32)(raw >> 4) * 10 + (raw & 0xf);
}

static void arm_rtc_alarm(int aie)
{
    u8 b = cmos_rd(RTC_REG_B);
    int bcd = !(b & REG_B_DM);
    u32 sec = (rtc_seconds() + ALARM_DELAY_S) % 60;
    cmos_wr(RTC_SECONDS_ALARM, (u8)(bcd ? ((sec / 10) << 4 | sec % 10) : sec));
    cmos_wr(RTC_MINUTES_ALARM, ALARM_DONT_CARE);
    cmos_wr(RTC_HOURS_ALARM, ALARM_DONT_CARE);
    (void)cmos_rd(RTC_REG_C);
    cmos_wr(RTC_REG_B, (u8)(aie ? b | REG_B_AIE : b & ~REG_B_AIE));
}

/*
 * S3 with one wake source armed (ACPI 6.5 16.1.4 and 4.8.3.1): the guest leaves interrupts off and the
 * SCI masked, so only the VMM's wake logic can bring it back, through the FACS waking vector into
 * wake_report.S, which prints PM1_STS/PM1_EN and the RTC's flags as the resumed OS sees them.
 *   wake-rtc        alarm with AIE, RTC_EN set: the alarm wakes it
 *   wake-rtc-noen   alarm with AIE, RTC_EN clear: stays asleep until something else wakes it
 *   wake-rtc-noaie  alarm without AIE, RTC_EN set: no alarm interrupt, so no wake either
 *   wake-pmtimer    TMR_EN set, TMR_STS clear: the PM timer's bit-23 carry wakes it
 *   wake-button     PWRBTN_EN only: for the power button and system_wakeup while suspended
 */
static void wake_suspend(const char *action) __attribute__((noreturn));
static void wake_suspend(const char *action)
{
    u16 en;
    if (streq(action, "wake-rtc"))
        en = PM1_EN_RTC;
    else if (streq(action, "wake-rtc-noen"))
        en = 0;
    else if (streq(action, "wake-rtc-noaie"))
        en = PM1_EN_RTC;
    else if (streq(action, "wake-pmtimer"))
        en = PM1_EN_TMR;
    else if (streq(action, "wake-button"))
        en = PM1_EN_PWRBTN;
    else
        acpi_fail("unknown wake action");
    if (A.slp_typ[3] == NO_SLP_TYP)
        acpi_fail("no \\_S3_");
    if (!A.facs || rd32(A.facs) != sig32("FACS"))
        acpi_fail("no FACS");
    __asm__ volatile("cli");
    memcpy((void *)WAKE_BASE, wake_report_start, (u32)(wake_report_end - wake_report_start));
    *(volatile u16 *)(WAKE_BASE + (u32)(wake_report_pm1 - wake_report_start)) = (u16)A.pm1a_evt;
    *(volatile u32 *)(A.facs + FACS_FIRMWARE_WAKING_VECTOR) = WAKE_BASE;
    if (rd32(A.facs + FACS_LENGTH) >= FACS_V1_MIN_LENGTH) {
        *(volatile u32 *)(A.facs + FACS_X_FIRMWARE_WAKING_VECTOR) = 0;
        *(volatile u32 *)(A.facs + FACS_X_FIRMWARE_WAKING_VECTOR + 4) = 0;
    }
    acpi_enable();
    if (streq(action, "wake-rtc") || streq(action, "wake-rtc-noen") || streq(action, "wake-rtc-noaie"))
        arm_rtc_alarm(!streq(action, "wake-rtc-noaie"));
    outw(pm1_en_port(), en);
    outw((u16)A.pm1a_evt, PM1_STS_ALL); /* write-1-to-clear: TMR_STS too, so the timer is armed */
    puts("acpi: pm1_en ");
    put_hex_short(inw(pm1_en_port()));
    putc('\n');
    *(volatile u8 *)(WAKE_BASE + (u32)(wake_report_sec - wake_report_start)) = (u8)rtc_seconds();
    putln("acpi: suspending");
    sleep_state(3);
    io_delay(100000);
    acpi_fail("still running after S3");
}

int acpi_wake_action(const char *action)
{
    return action[0] == 'w' && action[1] == 'a' && action[2] == 'k' && action[3] == 'e' && action[4] == '-';
}

void action_acpi(const struct boot_info *bi, const char *action)
{
    acpi_find(bi);
    if (streq(action, "acpi")) {
        print_tables();
        run_checks();
    } else if (streq(action, "poweroff")) {
        acpi_enable();
        check_pm_timer();
        poweroff();
    } else if (streq(action, "powerbutton")) {
        powerbutton();
    } else if (streq(action, "suspend")) {
        suspend();
    } else if (acpi_wake_action(action)) {
        wake_suspend(action);
    }
    acpi_fail("unknown acpi action");
}
