/* Common 32-bit start-up: our own flat GDT, segment reload, .bss clear. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

    .code32
    .section .text
    .globl early_init
early_init:
    lgdt gdt_desc
    ljmp $KERNEL_CS, $1f
1:  movw $KERNEL_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    /* Clear .bss with a plain loop (the stack lives outside .bss). */
    movl $__bss_start, %edi
2:  cmpl $__bss_end, %edi
    jae 3f
    movl $0, (%edi)
    addl $4, %edi
    jmp 2b
3:  ret

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff   /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff   /* 0x10: flat data */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .section .stack, "aw", @nobits
    .align 16
    .space 16384
    .globl stack_top
stack_top:

    .section .note.GNU-stack, "", @progbits
