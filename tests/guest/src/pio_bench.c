/*
 * pio-bench: N guest writes that each end in one exit to the VMM, timed by the host between the two serial
 * lines "pio-bench: <mode> N" and "pio-bench: done". Modes (mode= on the command line):
 *   pio     out %al,%dx to unassigned port 0xed (the default)
 *   mmio    a 32-bit store to unassigned MMIO address 0xd0000000 (checked first to keep no value written)
 *   notify  a 16-bit store of 0 to queue 0's notify address of the first virtio-serial or virtio-blk
 *           function (queue 0 set up, DRIVER_OK), for a device with ioeventfd=off
 */
#include "guest.h"
#include "virtio_pci.h"

#define BENCH_PORT 0xed
#define BENCH_MMIO 0xd0000000u
#define BENCH_PROBE 0x6a766d6du
#define DEFAULT_ITERATIONS 100000u

static void bench_fail(const char *what, const char *detail)
{
    puts("pio-bench: ");
    puts(what);
    putln(detail);
    exit_qemu(EXIT_FAIL);
}

/* Queue 0's notify address of the first virtio-serial or virtio-blk function, made ready for kicks. */
static u32 notify_address(void)
{
    static struct vpci_dev dev;
    if (!vpci_find(&dev, VIRTIO_ID_CONSOLE) && !vpci_find(&dev, VIRTIO_ID_BLOCK))
        bench_fail("no virtio-serial or virtio-blk function", "");
    if (!vpci_init(&dev, 0, 0) || !vpci_setup_queue(&dev, 0, 0, VPCI_AREA(0)))
        bench_fail("virtio setup refused", "");
    vpci_driver_ok(&dev);
    return dev.q[0].notify;
}

void guest_main(struct boot_info *bi)
{
    char buf[16];
    char mode[8] = "pio";
    u32 n = DEFAULT_ITERATIONS;
    if (cmdline_get(bi->cmdline, "iterations", buf, sizeof(buf)) && !parse_u32(buf, &n))
        bench_fail("bad iterations= value ", buf);
    cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
    u32 addr = 0;
    if (streq(mode, "mmio")) {
        addr = BENCH_MMIO;
        *(volatile u32 *)addr = BENCH_PROBE;
        u32 back = *(volatile u32 *)addr;
        if (back == BENCH_PROBE)
            bench_fail("MMIO address keeps what is written: not unassigned", "");
        puts("pio-bench: unassigned MMIO reads ");
        put_hex(back);
        putc('\n');
    } else if (streq(mode, "notify")) {
        addr = notify_address();
    } else if (!streq(mode, "pio")) {
        bench_fail("bad mode= value ", mode);
    }
    puts("pio-bench: ");
    puts(mode);
    putc(' ');
    put_dec(n);
    putc('\n');
    u32 cnt = n;
    if (!cnt) {
        /* nothing to time */
    } else if (streq(mode, "pio")) {
        __asm__ volatile("1:\n\toutb %%al, %%dx\n\tdecl %%ecx\n\tjnz 1b"
                         : "+c"(cnt) : "a"(0), "d"(BENCH_PORT) : "cc");
    } else if (streq(mode, "mmio")) {
        __asm__ volatile("1:\n\tmovl %%eax, (%%edx)\n\tdecl %%ecx\n\tjnz 1b"
                         : "+c"(cnt) : "a"(0), "d"(addr) : "cc", "memory");
    } else {
        __asm__ volatile("1:\n\tmovw %%ax, (%%edx)\n\tdecl %%ecx\n\tjnz 1b"
                         : "+c"(cnt) : "a"(0), "d"(addr) : "cc", "memory");
    }
    putln("pio-bench: done");
    exit_qemu(EXIT_PASS);
}
