/*
 * direct-boot: developer check that the tiny kernels' direct entry paths (the ones jvmm uses: no
 * firmware) work. Loads tiny.pvh / tiny.mb / tiny.bzImage into a bare KVM VM, fills the boot
 * structures itself and enters in 32-bit protected mode. It emulates only COM1 output and
 * isa-debug-exit, so use it with action=panic-exit (or action=memmap up to the checks).
 * Usage: direct-boot pvh|mb|linux IMAGE CMDLINE   -> exits with the guest's isa-debug-exit status.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_SIZE (128u << 20)
#define INFO_ADDR 0x7000u      /* start_info / multiboot info / boot_params */
#define MAP_ADDR 0x9000u       /* PVH memmap / multiboot mmap */
#define CMDLINE_ADDR 0x20000u
#define KERNEL_ADDR 0x100000u

static uint8_t *mem;

static void die(const char *what)
{
    fprintf(stderr, "direct-boot: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put32(uint32_t a, uint32_t v) { memcpy(mem + a, &v, 4); }
static void put64(uint32_t a, uint64_t v) { memcpy(mem + a, &v, 8); }

/* Loads PT_LOAD segments; returns the PVH entry from a Xen PHYS32_ENTRY note, or e_entry. */
static uint32_t load_elf(const uint8_t *img, size_t len, int want_pvh)
{
    const Elf32_Ehdr *eh = (const void *)img;
    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS32) {
        fprintf(stderr, "direct-boot: not a 32-bit ELF\n");
        exit(1);
    }
    uint32_t entry = eh->e_entry, pvh = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf32_Phdr *ph = (const void *)(img + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_LOAD) {
            memcpy(mem + ph->p_paddr, img + ph->p_offset, ph->p_filesz);
            memset(mem + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
        } else if (ph->p_type == PT_NOTE) {
            uint32_t off = 0;
            while (off + 12 <= ph->p_filesz) {
                const uint32_t *n = (const void *)(img + ph->p_offset + off);
                uint32_t namesz = (n[0] + 3) & ~3u, descsz = (n[1] + 3) & ~3u;
                const char *name = (const char *)&n[3];
                if (n[2] == 18 && n[0] == 4 && !memcmp(name, "Xen", 4))
                    memcpy(&pvh, name + namesz, 4);
                off += 12 + namesz + descsz;
            }
        }
    }
    if (want_pvh && !pvh) {
        fprintf(stderr, "direct-boot: no PVH note\n");
        exit(1);
    }
    return want_pvh ? pvh : entry;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: direct-boot pvh|mb|linux IMAGE CMDLINE\n");
        return 2;
    }
    int fd = open(argv[2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        die(argv[2]);
    uint8_t *img = malloc(st.st_size);
    if (read(fd, img, st.st_size) != st.st_size)
        die("read");

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
        die("KVM_CREATE_IRQCHIP");
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap");
    struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        die("KVM_SET_USER_MEMORY_REGION");

    strcpy((char *)mem + CMDLINE_ADDR, argv[3]);
    /* Same layout QEMU's firmware reports, minus the reserved ranges above RAM. */
    uint64_t map[3][3] = { { 0, 0x9fc00, 1 }, { 0xf0000, 0x10000, 2 }, { 0x100000, MEM_SIZE - 0x100000, 1 } };
    struct kvm_regs regs = { .rflags = 2 };

    if (!strcmp(argv[1], "pvh")) {
        regs.rip = load_elf(img, st.st_size, 1);
        put32(INFO_ADDR, 0x336ec578);
        put32(INFO_ADDR + 4, 1);
        put64(INFO_ADDR + 24, CMDLINE_ADDR);
        put64(INFO_ADDR + 40, MAP_ADDR);
        put32(INFO_ADDR + 48, 3);
        for (int i = 0; i < 3; i++) {
            put64(MAP_ADDR + i * 24, map[i][0]);
            put64(MAP_ADDR + i * 24 + 8, map[i][1]);
            put32(MAP_ADDR + i * 24 + 16, (uint32_t)map[i][2]);
        }
        regs.rbx = INFO_ADDR;
    } else if (!strcmp(argv[1], "mb")) {
        regs.rip = load_elf(img, st.st_size, 0);
        /* Mirror QEMU: the command line starts with the kernel path. */
        snprintf((char *)mem + CMDLINE_ADDR, 4096, "%s %s", argv[2], argv[3]);
        put32(INFO_ADDR, (1 << 0) | (1 << 2) | (1 << 6));
        put32(INFO_ADDR + 4, 639);
        put32(INFO_ADDR + 8, (MEM_SIZE >> 10) - 1024);
        put32(INFO_ADDR + 16, CMDLINE_ADDR);
        put32(INFO_ADDR + 44, 3 * 24);
        put32(INFO_ADDR + 48, MAP_ADDR); /* points at the first entry's size field, as QEMU and GRUB do */
        for (int i = 0; i < 3; i++) {
            put32(MAP_ADDR + i * 24, 20);
            put64(MAP_ADDR + i * 24 + 4, map[i][0]);
            put64(MAP_ADDR + i * 24 + 12, map[i][1]);
            put32(MAP_ADDR + i * 24 + 20, (uint32_t)map[i][2]);
        }
        regs.rax = 0x2BADB002;
        regs.rbx = INFO_ADDR;
    } else if (!strcmp(argv[1], "linux")) {
        uint32_t setup = ((img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
        if (memcmp(img + 0x202, "HdrS", 4) || st.st_size < setup) {
            fprintf(stderr, "direct-boot: not a bzImage\n");
            return 1;
        }
        memcpy(mem + KERNEL_ADDR, img + setup, st.st_size - setup);
        /* boot_params: zero page with the image's setup header copied in (boot.rst, 32-bit protocol). */
        uint32_t hdr_end = 0x202 + img[0x201];
        memcpy(mem + INFO_ADDR + 0x1f1, img + 0x1f1, hdr_end - 0x1f1);
        mem[INFO_ADDR + 0x210] = 0xff;  /* type_of_loader: undefined */
        put32(INFO_ADDR + 0x228, CMDLINE_ADDR);
        mem[INFO_ADDR + 0x1e8] = 3;
        for (int i = 0; i < 3; i++) {
            put64(INFO_ADDR + 0x2d0 + i * 20, map[i][0]);
            put64(INFO_ADDR + 0x2d0 + i * 20 + 8, map[i][1]);
            put32(INFO_ADDR + 0x2d0 + i * 20 + 16, (uint32_t)map[i][2]);
        }
        memcpy(&regs.rip, mem + INFO_ADDR + 0x214, 4);
        regs.rsi = INFO_ADDR;
    } else {
        fprintf(stderr, "direct-boot: unknown kind %s\n", argv[1]);
        return 2;
    }

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    struct kvm_run *run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
        die("KVM_GET_SREGS");
    struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
                                .present = 1, .dpl = 0, .db = 1, .s = 1, .g = 1 };
    struct kvm_segment data = code;
    data.selector = 0x18;
    data.type = 0x3;
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.cr0 = 0x11; /* PE | ET, paging off */
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
        die("KVM_SET_SREGS");
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");

    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("KVM_RUN");
        }
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "direct-boot: exit reason %u\n", run->exit_reason);
            return 1;
        }
        uint8_t *data8 = (uint8_t *)run + run->io.data_offset;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            if (run->io.port == 0x3f8)
                fputc(data8[0], stdout);
            else if (run->io.port == 0xf4) {
                fflush(stdout);
                return (data8[0] << 1) | 1;
            }
        } else {
            data8[0] = run->io.port == 0x3fd ? 0x60 : 0xff; /* LSR: THRE|TEMT; else unassigned */
        }
    }
}
