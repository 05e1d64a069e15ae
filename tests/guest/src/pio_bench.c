/* pio-bench: N port writes to unassigned port 0xed, one PIO exit each. */
#include "guest.h"

#define BENCH_PORT 0xed
#define DEFAULT_ITERATIONS 100000u

void guest_main(struct boot_info *bi)
{
    char buf[16];
    u32 n = DEFAULT_ITERATIONS;
    if (cmdline_get(bi->cmdline, "iterations", buf, sizeof(buf)) && !parse_u32(buf, &n)) {
        puts("pio-bench: bad iterations= value ");
        putln(buf);
        exit_qemu(EXIT_FAIL);
    }
    puts("pio-bench: ");
    put_dec(n);
    putc('\n');
    if (n) {
        u32 cnt = n;
        __asm__ volatile("1:\n\toutb %%al, %%dx\n\tdecl %%ecx\n\tjnz 1b"
                         : "+c"(cnt) : "a"(0), "d"(BENCH_PORT) : "cc");
    }
    putln("pio-bench: done");
    exit_qemu(EXIT_PASS);
}
