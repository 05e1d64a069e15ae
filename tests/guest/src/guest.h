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
};

/* Port I/O. */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
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

/* boot.c: the per-format entry points call guest_main. */
void guest_main(struct boot_info *bi);
u32 usable_mib(const struct boot_info *bi);

/* isr.S / trampoline.S */
extern char isr_stubs[];           /* 256 stubs, 16 bytes apart */
extern char timer_isr[];
extern char spurious_isr[];
extern char tramp_start[], tramp_end[];
extern volatile u32 ap_count;

#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11

#endif
