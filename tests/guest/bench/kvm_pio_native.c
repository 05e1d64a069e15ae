/*
 * kvm-pio-native: the floor for the exit benchmarks (pio-bench.pvh). A minimal KVM VMM (in-kernel irqchip,
 * one memory slot, one real-mode vCPU) runs a `store; dec %ecx; jnz` loop N times, then writes to
 * FINISH_PORT, and does nothing with each exit but count it. The store is, by mode:
 *   pio     out %al,%dx to port 0xed (KVM_EXIT_IO)
 *   mmio    a 32-bit store to 0xd0000, outside the memory slot (KVM_EXIT_MMIO)
 *   notify  a 16-bit store there, the width of a virtio queue notify (KVM_EXIT_MMIO)
 * Usage: kvm-pio-native [N [pio|mmio|notify]]. Prints one line: "native: N exits, X.XX us/exit, Y.YY cpu-us/exit"
 * (wall time, then the process's CPU time, user and system, over the loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define CODE_ADDR 0x1000
#define BENCH_PORT 0xed
#define FINISH_PORT 0xef
#define TSS_ADDR 0xfffbd000
#define BENCH_SEGMENT 0xd000 /* DS for the MMIO modes: linear 0xd0000, no memory slot there */

static void die(const char *what)
{
    fprintf(stderr, "kvm-pio-native: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* User plus system time in microseconds. */
static double cpu_us(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6
           + (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
    unsigned long n = 100000;
    const char *mode = argc > 2 ? argv[2] : "pio";
    int mmio = strcmp(mode, "mmio") == 0, notify = strcmp(mode, "notify") == 0;
    if (argc > 1) {
        char *end;
        n = strtoul(argv[1], &end, 10);
        if (*end || n == 0 || n > 0xffffffffUL || argc > 3 || (!mmio && !notify && strcmp(mode, "pio"))) {
            fprintf(stderr, "usage: kvm-pio-native [N [pio|mmio|notify]]   (1 <= N < 2^32)\n");
            return 2;
        }
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    /* Intel VMX needs a TSS region for real mode; harmless elsewhere. */
    ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR);
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
        die("KVM_CREATE_IRQCHIP");

    uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");

    uint32_t count = (uint32_t)n;
    uint8_t code[64];
    size_t len = 0;
    static const uint8_t setup[] = {
        0xb8, BENCH_SEGMENT & 0xff, BENCH_SEGMENT >> 8, /* mov $BENCH_SEGMENT, %ax */
        0x8e, 0xd8,                  /* mov %ax, %ds */
        0x31, 0xdb,                  /* xor %bx, %bx */
        0x66, 0x31, 0xc0,            /* xor %eax, %eax */
        0xba, BENCH_PORT, 0x00,      /* mov $BENCH_PORT, %dx */
        0x66, 0xb9,                  /* mov $N, %ecx (immediate follows) */
    };
    memcpy(code, setup, sizeof(setup));
    len = sizeof(setup);
    memcpy(&code[len], &count, 4);
    len += 4;
    size_t loop = len;
    if (mmio)
        code[len++] = 0x66;          /* 32-bit operand */
    if (mmio || notify) {
        code[len++] = 0x89;          /* 1: mov %ax/%eax, (%bx) */
        code[len++] = 0x07;
    } else {
        code[len++] = 0xee;          /* 1: out %al, %dx */
    }
    static const uint8_t tail[] = {
        0x66, 0x49,                  /* dec %ecx */
        0x75, 0x00,                  /* jnz 1b (offset set below) */
        0xba, FINISH_PORT, 0x00,     /* mov $FINISH_PORT, %dx */
        0xee,                        /* out %al, %dx */
        0xeb, 0xfe,                  /* jmp . (never reached: no hlt, it would block forever) */
    };
    memcpy(&code[len], tail, sizeof(tail));
    code[len + 3] = (uint8_t)(loop - (len + 4));
    len += sizeof(tail);
    memcpy(mem + CODE_ADDR, code, len);

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0)
        die("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 0x2 };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");

    unsigned long exits = 0;
    struct timespec t0, t1;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write) {
            exits++;
            continue;
        }
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "kvm-pio-native: unexpected exit reason %u\n", run->exit_reason);
            return 1;
        }
        if (run->io.port == BENCH_PORT)
            exits++;
        else if (run->io.port == FINISH_PORT)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    double cpu = cpu_us(&r1) - cpu_us(&r0);
    printf("native: %lu exits, %.2f us/exit, %.2f cpu-us/exit\n", exits, us / (double)exits, cpu / (double)exits);
    return exits == n ? 0 : 1;
}
