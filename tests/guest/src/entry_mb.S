/* Multiboot v1 entry: EAX = 0x2BADB002, EBX = multiboot info. */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003  /* bit 0: page-align modules, bit 1: memory info */

    .code32
    .section .text.entry, "ax"
    .align 4
mb_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .globl mb_start
mb_start:
    cli
    cld
    movl $stack_top, %esp
    movl %eax, %esi
    movl %ebx, %ebp
    call early_init
    pushl %ebp
    pushl %esi
    call mb_entry
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
