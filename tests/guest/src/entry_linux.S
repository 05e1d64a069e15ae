/* Linux 32-bit boot protocol entry at code32_start: ESI = boot_params. */
    .code32
    .section .text.entry, "ax"
    .globl linux_start
linux_start:
    cli
    cld
    movl $stack_top, %esp
    movl %esi, %ebp
    call early_init
    pushl %ebp
    call linux_entry
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
