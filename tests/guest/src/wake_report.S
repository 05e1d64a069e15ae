/*
 * S3 resume trampoline for the wake-source actions (action=wake-*): copied to 0x7000 like wake.S and
 * entered in real mode at the FACS firmware_waking_vector. It reports what an OS's resume path looks
 * at, then halts with interrupts off, so the monitor can still look at the resumed VM:
 *   "resume pm1_sts XXXX pm1_en XXXX rtc_c XX rtc_b XX cmos_0f XX rtc_ran_5s y|n"
 * PM1_STS and PM1_EN are read whole (ACPI 6.5 4.8.3.1); register C is masked to IRQF|PF|AF and register
 * B to PIE|AIE|UIE (MC146818A), leaving out UF, whose value depends on when the second boundary falls.
 * CMOS byte 0x0f is the shutdown status, where QEMU leaves 0xfe on suspend for the firmware to find.
 * rtc_ran_5s says whether the RTC's seconds moved on by 5 or more (mod 60) while the guest slept, which
 * tells a clock that ran during S3 from one that stood still without printing a time. The C code patches
 * the PM1a event block's port into wake_report_pm1 and the binary seconds at suspend into wake_report_sec.
 */
#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define REG_A_UIP 0x80
#define REG_B_DM 0x04
#define CMOS_SHUTDOWN_STATUS 0x0f
#define SLEPT_LONG_S 5
#define RTC_REG_C 0x0c
#define REG_C_STABLE 0xe0  /* IRQF | PF | AF */
#define REG_B_IRQ_ENABLES 0x70 /* PIE | AIE | UIE */
#define OFF(sym) (sym - wake_report_start)

    .section .data
    .code16
    .globl wake_report_start, wake_report_end, wake_report_pm1, wake_report_sec
wake_report_start:
    cli
    cld
    movw %cs, %ax                  /* data and stack in this segment: the firmware's are not ours */
    movw %ax, %ds
    movw %ax, %ss
    movw $0x0ff0, %sp
    movw $OFF(s_sts), %si
    call puts
    movw OFF(wake_report_pm1), %dx
    inw %dx, %ax
    call hex16
    movw $OFF(s_en), %si
    call puts
    movw OFF(wake_report_pm1), %dx
    addw $2, %dx
    inw %dx, %ax
    call hex16
    movw $OFF(s_c), %si
    call puts
    movb $RTC_REG_C, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    andb $REG_C_STABLE, %al
    call hex8
    movw $OFF(s_b), %si
    call puts
    movb $RTC_REG_B, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    andb $REG_B_IRQ_ENABLES, %al
    call hex8
    movw $OFF(s_0f), %si
    call puts
    movb $CMOS_SHUTDOWN_STATUS, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    call hex8
    movw $OFF(s_ran), %si
    call puts
    movw $0xffff, %cx              /* bounded wait for the update cycle to end */
5:  movb $RTC_REG_A, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    testb $REG_A_UIP, %al
    loopnz 5b
    movb $RTC_REG_B, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    movb %al, %dl
    movb $RTC_SECONDS, %al
    outb %al, $CMOS_INDEX
    inb $CMOS_DATA, %al
    testb $REG_B_DM, %dl
    jnz 6f
    movb %al, %bl                  /* BCD to binary */
    andb $0x0f, %bl
    shrb $4, %al
    movb $10, %cl
    mulb %cl
    addb %bl, %al
6:  subb OFF(wake_report_sec), %al
    jge 7f
    addb $60, %al
7:  movb $'n', %bl
    cmpb $SLEPT_LONG_S, %al
    jb 8f
    movb $'y', %bl
8:  movb %bl, %al
    call putc
    movb $'\n', %al
    call putc
3:  hlt
    jmp 3b

    /* hex16 %ax, hex8 %al, nibble %al: lowercase, leading zeros. */
hex16:
    pushw %ax
    movb %ah, %al
    call hex8
    popw %ax
hex8:
    pushw %ax
    shrb $4, %al
    call nibble
    popw %ax
    andb $0x0f, %al
nibble:
    cmpb $10, %al
    jb 1f
    addb $('a' - '0' - 10), %al
1:  addb $'0', %al
    jmp putc

    /* puts %ds:%si up to NUL. */
puts:
    lodsb
    testb %al, %al
    jz 2f
    call putc
    jmp puts
2:  ret

    /* putc %al: bounded wait for THRE, then write; keeps %cx and %dx. */
putc:
    pushw %cx
    pushw %dx
    movb %al, %ah
    movw $COM1 + UART_LSR, %dx
    movw $0xffff, %cx
4:  inb %dx, %al
    testb $UART_LSR_THRE, %al
    loopz 4b
    movb %ah, %al
    movw $COM1, %dx
    outb %al, %dx
    popw %dx
    popw %cx
    ret

s_sts:  .asciz "resume pm1_sts "
s_en:   .asciz " pm1_en "
s_c:    .asciz " rtc_c "
s_b:    .asciz " rtc_b "
s_0f:   .asciz " cmos_0f "
s_ran:  .asciz " rtc_ran_5s "
    .balign 2
wake_report_pm1:
    .word 0
wake_report_sec:
    .byte 0
wake_report_end:

    .section .note.GNU-stack, "", @progbits
