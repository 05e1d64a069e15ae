/* AP start-up trampoline; copied to TRAMP_BASE and entered by SIPI in real mode at TRAMP_BASE:0. */
#define TRAMP_BASE 0x8000
#define T(x) (TRAMP_BASE + (x) - tramp_start)

    .section .data
    .code16
    .globl tramp_start, tramp_end
tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    lgdtl (tramp_gdt_desc - tramp_start)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $T(tramp_pm)

    .code32
tramp_pm:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    lock incl ap_count
1:  cli
    hlt
    jmp 1b

    .align 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
tramp_gdt_desc:
    .word 3 * 8 - 1
    .long T(tramp_gdt)
tramp_end:

    .align 4
    .globl ap_count
ap_count:
    .long 0

    .section .note.GNU-stack, "", @progbits
