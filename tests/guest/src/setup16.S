/*
 * Real-mode setup sectors of tiny.bzImage (Linux x86 boot protocol 2.06).
 * Loaded at some segment S (offset 0 = boot sector); entered at S+0x20:0 with DS=ES=SS=S.
 * Fills boot_params.e820_table via INT 15h E820, enters protected mode with its own GDT and
 * jumps to code32_start with ESI = S << 4. Everything is addressed relative to S, so any S works.
 */
#define SETUP_SECTS 8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define E820_MAX 128
#define SMAP 0x534d4150
#define BOOT_CS 0x10
#define BOOT_DS 0x18

    .code16
    .section .text
    .globl _start
_start:
    .org 0x1f1
    .byte SETUP_SECTS          /* setup_sects */
    .word 0                    /* root_flags */
    .long 0                    /* syssize, patched by mkbzimage.py */
    .word 0                    /* ram_size */
    .word 0xffff               /* vid_mode: normal */
    .word 0                    /* root_dev */
    .word 0xaa55               /* boot_flag */
    /* 0x200 */
    .byte 0xeb, start16 - 0x202  /* jump: short jmp */
    .ascii "HdrS"              /* header */
    .word 0x0206               /* version */
    .long 0                    /* realmode_swtch */
    .word 0                    /* start_sys_seg */
    .word kernel_version_str - 0x200 /* kernel_version */
    .byte 0                    /* type_of_loader */
    .byte 0x01                 /* loadflags: LOADED_HIGH */
    .word 0                    /* setup_move_size */
    .long 0x100000             /* code32_start */
    .long 0                    /* ramdisk_image */
    .long 0                    /* ramdisk_size */
    .long 0                    /* bootsect_kludge */
    .word 0                    /* heap_end_ptr */
    .byte 0                    /* ext_loader_ver */
    .byte 0                    /* ext_loader_type */
    .long 0                    /* cmd_line_ptr */
    .long 0x37ffffff           /* initrd_addr_max */
    .long 0x200000             /* kernel_alignment */
    .byte 0                    /* relocatable_kernel */
    .byte 0                    /* min_alignment */
    .word 0                    /* xloadflags */
    .long 2047                 /* cmdline_size */

    .org 0x240
start16:
    jmp setup_main             /* the E820 table (0x2d0..0xcd0) is data, so code lives past it */
kernel_version_str:
    .asciz "jvmm-tiny"

    .org 0x1000
setup_main:
    cli
    cld
    movw %cs, %ax
    subw $0x20, %ax
    movw %ax, %ds
    movw %ax, %es

    /* INT 15h AX=E820 into boot_params.e820_table. */
    xorl %ebx, %ebx
    xorw %bp, %bp
    movw $BP_E820_TABLE, %di
1:  movl $0xe820, %eax
    movl $SMAP, %edx
    movl $20, %ecx
    int $0x15
    jc 2f
    cmpl $SMAP, %eax
    jne 2f
    incw %bp
    addw $20, %di
    cmpw $E820_MAX, %bp
    jae 2f
    testl %ebx, %ebx
    jnz 1b
2:  movw %bp, %ax
    movb %al, BP_E820_ENTRIES

    cli
    /* Fast A20 (bit 1 of port 0x92); never touch bit 0 (reset). */
    inb $0x92, %al
    orb $0x02, %al
    andb $0xfe, %al
    outb %al, $0x92

    xorl %esi, %esi
    movw %ds, %si
    shll $4, %esi                  /* linear address of boot_params */
    movl %esi, %eax
    addl $gdt, %eax
    movl %eax, gdt_desc + 2
    movl %esi, %eax
    addl $pm32, %eax
    movl %eax, pm32_ptr
    lgdtl gdt_desc
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl *pm32_ptr

    .code32
pm32:
    movw $BOOT_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl 0x214(%esi), %eax         /* code32_start */
    jmp *%eax

    .align 8
gdt:
    .quad 0
    .quad 0
    .quad 0x00cf9a000000ffff       /* 0x10: __BOOT_CS */
    .quad 0x00cf92000000ffff       /* 0x18: __BOOT_DS */
gdt_desc:
    .word 4 * 8 - 1
    .long 0
pm32_ptr:
    .long 0
    .word BOOT_CS

    .org SETUP_SECTS * 512 + 512 - 1
    .byte 0

    .section .note.GNU-stack, "", @progbits
