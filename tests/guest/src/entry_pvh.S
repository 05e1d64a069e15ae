/* PVH entry: 32-bit protected mode, paging off, EBX = struct hvm_start_info. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

    .section .note.Xen, "a", @note
    .align 4
    .long 2f - 1f          /* namesz */
    .long 4f - 3f          /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
1:  .asciz "Xen"
2:  .align 4
3:  .long pvh_start
4:  .align 4

    .code32
    .section .text.entry, "ax"
    .globl pvh_start
pvh_start:
    cli
    cld
    movl $stack_top, %esp
    movl %ebx, %ebp
    call early_init
    pushl %ebp
    call pvh_entry
5:  hlt
    jmp 5b

    .section .note.GNU-stack, "", @progbits
