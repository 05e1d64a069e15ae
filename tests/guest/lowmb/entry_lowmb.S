/* Multiboot v1 entry of the low guest (Multiboot Specification 0.6.96, section 3.1): EAX = 0x2BADB002,
   EBX = multiboot info. The text then carries 8 KiB of a known pattern, so that the image spans the
   0x9000 page whatever the compiler makes of the C code. */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003  /* bit 0: page-align modules, bit 1: memory info */

    .code32
    .section .text.entry, "ax"
    .align 4
mb_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .globl lowmb_start
lowmb_start:
    cli
    cld
    movl $stack_top, %esp
    movl %eax, %esi
    movl %ebx, %ebp
    call early_init
    pushl %ebp
    pushl %esi
    call lowmb_main
1:  hlt
    jmp 1b

    .section .text.pad, "ax"
    .align 4
    .globl text_pattern
text_pattern:
    .set i, 1
    .rept 2048
    .long (i * 0x9e3779b1) & 0xffffffff
    .set i, i + 1
    .endr

    .section .note.GNU-stack, "", @progbits
