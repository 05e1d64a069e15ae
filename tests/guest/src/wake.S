/*
 * S3 resume trampoline (action=suspend): copied to 0x7000, whose address goes into the FACS
 * firmware_waking_vector. Firmware enters it in real mode (SeaBIOS: CS:IP = 0700:0000), so it
 * only uses relative jumps and calls: prints "resume" on COM1, then writes 0x10 (pass) to
 * isa-debug-exit. The UART was reset with the machine; its THR works without a divisor.
 */
#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_PASS 0x10

    .section .data
    .code16
    .globl wake_start, wake_end
wake_start:
    cli
    movw %cs, %ax                  /* own stack: the firmware's SS:SP is not ours to trust */
    movw %ax, %ss
    movw $0x0ff0, %sp
    movb $'r', %al
    call 1f
    movb $'e', %al
    call 1f
    movb $'s', %al
    call 1f
    movb $'u', %al
    call 1f
    movb $'m', %al
    call 1f
    movb $'e', %al
    call 1f
    movb $'\n', %al
    call 1f
    movb $EXIT_PASS, %al
    outb %al, $DEBUG_EXIT_PORT
3:  hlt
    jmp 3b
    /* putc %al: bounded wait for THRE, then write. */
1:  movb %al, %ah
    movw $COM1 + UART_LSR, %dx
    movw $0xffff, %cx
2:  inb %dx, %al
    testb $UART_LSR_THRE, %al
    loopz 2b
    movb %ah, %al
    movw $COM1, %dx
    outb %al, %dx
    ret
wake_end:

    .section .note.GNU-stack, "", @progbits
