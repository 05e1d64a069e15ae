/* 8 KiB of a known pattern in the low guest's text, so that its image spans the 0x9000 page whatever the
   compiler makes of the C code (the entry is the tiny guest's multiboot entry, entry_mb.S). */
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
