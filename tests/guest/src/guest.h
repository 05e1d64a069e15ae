/* Shared declarations for jvmm's tiny guest kernels (freestanding, 32-bit). */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define MAX_MAP 64

/* E820-style memory map entry, normalised from every boot format. */
struct mem_entry {
    u64 addr;
    u64 size;
    u32 type;
};

/* What each entry stub learns from its boot protocol. */
struct boot_info {
    const char *kind;       /* "pvh", "multiboot" or "linux" */
    const char *cmdline;    /* never NULL; "" when absent */
    u32 nr_map;
    struct mem_entry map[MAX_MAP];
    u32 initrd_addr;        /* linux only; 0 when absent */
    u32 initrd_size;
    u32 rsdp_addr;          /* RSDP the boot protocol passed (PVH rsdp_paddr, boot_params acpi_rsdp_addr); 0 when none */
};

/* Port I/O. */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void mmio_write32(u32 addr, u32 v) { *(volatile u32 *)addr = v; }
static inline u32 mmio_read32(u32 addr) { return *(volatile u32 *)addr; }

/* lib.c */
void serial_init(void);
void putc(char c);
void puts(const char *s);          /* no newline added */
void putln(const char *s);         /* adds "\n" */
void put_dec(u32 v);
void put_hex(u32 v);
void *memset(void *d, int c, u32 n);
void *memcpy(void *d, const void *s, u32 n);
u32 strlen(const char *s);
/* Finds "key=" as a whole word in cmdline; copies the value into buf. Returns 1 if found. */
int cmdline_get(const char *cmdline, const char *key, char *buf, u32 buflen);
int parse_u32(const char *s, u32 *out);
int streq(const char *a, const char *b);
void exit_qemu(u8 code) __attribute__((noreturn));

void put_hex_short(u32 v);         /* 0x0 .. 0xffffffff, no leading zeros */

/* main.c helpers shared with acpi.c */
void fail(void) __attribute__((noreturn));
void run_checks(void) __attribute__((noreturn));
void set_gate(u32 vec, u32 handler);
void ioapic_write(u32 reg, u32 v);
void io_delay(u32 n);

/* acpi.c: action=acpi|poweroff|powerbutton|suspend */
void action_acpi(const struct boot_info *bi, const char *action) __attribute__((noreturn));
int acpi_wake_action(const char *action); /* action=wake-*: S3 with one wake source armed */
void sci_interrupt(void);
/* For pcihp.c: ACPI mode on, the SCI routed to handler; returns the GPE0 block's port and its length. */
u32 acpi_gpe_sci(const struct boot_info *bi, u32 handler, u32 *gpe0_len);
u32 acpi_dsdt(void);               /* after acpi_gpe_sci */

/* pcihp.c: action=pcihp */
void action_pcihp(const struct boot_info *bi) __attribute__((noreturn));
void pcihp_interrupt(void);
void acpi_gpe_setup(const struct boot_info *bi, u16 enable); /* SCI on, GPE0_EN = enable */
u16 acpi_gpe_wait(void);           /* halts until an SCI with GPE0 status bits; returns (and forgets) them */
void action_memhp(const struct boot_info *bi) __attribute__((noreturn));

/* pci.c: configuration mechanism #1 on bus 0. bdf = device << 3 | function. */
u32 pci_read32(u32 bdf, u32 off);
u16 pci_read16(u32 bdf, u32 off);
u8 pci_read8(u32 bdf, u32 off);
void pci_write32(u32 bdf, u32 off, u32 v);
void pci_write16(u32 bdf, u32 off, u16 v);
int pci_find(u16 vendor, const u16 *devices, u32 ndevices, u32 *bdf_out);

/* virtio_blk.c: action=blk|blk-read|blk-abuse|blk-msix|blk-resize|blk-bench */
void action_blk(const struct boot_info *bi, const char *action) __attribute__((noreturn));
void blk_interrupt(u32 vector);

/* virtio_serial.c: action=vserial|vserial-abuse|vserial-tx|vserial-rx */
void action_vserial(const struct boot_info *bi, const char *action) __attribute__((noreturn));
/* virtio_balloon.c: action=balloon|balloon-abuse */
void action_balloon(const struct boot_info *bi, const char *action) __attribute__((noreturn));

/* util.c: TSC time, deadlines, the disks' test pattern and checksum (shared by virtio_blk.c and ide.c). */
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}
/* A deadline `ms` from now; expired() is also bounded by a loop count in case the TSC is unusable. */
struct deadline {
    u64 end;
    u32 spins;
    u32 max_spins;
};
#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u
extern u32 tsc_khz;                /* 0 when the TSC could not be calibrated */
void calibrate_tsc(void);
u64 now_us(void);
void deadline_set(struct deadline *d, u32 ms);
int expired(struct deadline *d);
u64 udiv64(u64 n, u32 d, u32 *rem);
void put_u64(u64 v);
void pattern_fill(u32 buf, u64 disk_off, u32 len, u32 seed);
u32 checksum_add(u32 h, u32 buf, u32 len);
int mem_equal(u32 a, u32 b, u32 len);
int all_zero(u32 a, u32 len);

/* ide.c: action=ide|ide-read|ide-abuse|ide-irq|cd|cd-tray */
void action_ide(const struct boot_info *bi, const char *action) __attribute__((noreturn));
void ide_interrupt(u32 irq);

/* wdt.c: action=wdt-ib700|wdt-esb|wdt-abuse */
void action_wdt(const struct boot_info *bi, const char *action) __attribute__((noreturn));

/* uhci.c: action=uhci */
void action_uhci(void) __attribute__((noreturn));

/* legacy.c: action=pit, action=i8042 */
void action_pit(void) __attribute__((noreturn));
void action_i8042(void) __attribute__((noreturn));

/* main.c: application processors through the trampoline at TRAMP_BASE (ap_count counts them) */
void prepare_aps(void);
int start_ap(u32 apic_id);

/* cpuhp.c: action=cpuhp */
void action_cpuhp(const char *cmdline) __attribute__((noreturn));

/* fwcfg.c: action=fwcfg */
void action_fwcfg(void) __attribute__((noreturn));

/* boot.c: the per-format entry points call guest_main. */
void guest_main(struct boot_info *bi);
u32 usable_mib(const struct boot_info *bi);

/* isr.S / trampoline.S */
extern char isr_stubs[];           /* 256 stubs, 16 bytes apart */
extern char timer_isr[];
extern char spurious_isr[];
extern char tramp_start[], tramp_end[];
extern volatile u32 ap_count;
extern char sci_isr[], sci_gpe_isr[];
extern char blk_queue_isr[], blk_config_isr[];
extern char ide_isr14[], ide_isr15[];
extern char wake_start[], wake_end[];
extern char wake_report_start[], wake_report_end[], wake_report_pm1[], wake_report_sec[];

/* Local APIC (Intel SDM Vol. 3A, Table 11-1), xAPIC MMIO, and the I/O APIC (82093AA, 3.2). */
#define LAPIC_BASE 0xfee00000u
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SPURIOUS_VECTOR 0xff
#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_MASKED (1u << 16)
#define IOAPIC_LEVEL (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11

#endif
