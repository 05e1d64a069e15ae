/*
 * kvm-pio-native: baseline for the PIO-exit benchmark. A minimal KVM VMM (in-kernel irqchip, one
 * memory slot, one real-mode vCPU) runs `out %al,%dx; dec %ecx; jnz` to port 0xed N times, then
 * writes to FINISH_PORT. Prints one line: "native: N exits, X.XX us/exit".
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
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define CODE_ADDR 0x1000
#define BENCH_PORT 0xed
#define FINISH_PORT 0xef
#define TSS_ADDR 0xfffbd000

static void die(const char *what)
{
    fprintf(stderr, "kvm-pio-native: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    unsigned long n = 100000;
    if (argc > 1) {
        char *end;
        n = strtoul(argv[1], &end, 10);
        if (*end || n == 0 || n > 0xffffffffUL) {
            fprintf(stderr, "usage: kvm-pio-native N   (1 <= N < 2^32)\n");
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
    uint8_t code[] = {
        0x66, 0xb9, 0, 0, 0, 0,      /* mov $N, %ecx */
        0xba, BENCH_PORT, 0x00,      /* mov $BENCH_PORT, %dx */
        0xee,                        /* 1: out %al, %dx */
        0x66, 0x49,                  /* dec %ecx */
        0x75, 0xfb,                  /* jnz 1b */
        0xba, FINISH_PORT, 0x00,     /* mov $FINISH_PORT, %dx */
        0xee,                        /* out %al, %dx */
        0xeb, 0xfe,                  /* jmp . (never reached: no hlt, it would block forever) */
    };
    memcpy(&code[2], &count, 4);
    memcpy(mem + CODE_ADDR, code, sizeof(code));

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
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("KVM_RUN");
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
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("native: %lu exits, %.2f us/exit\n", exits, us / (double)exits);
    return exits == n ? 0 : 1;
}
