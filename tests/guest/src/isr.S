/* Interrupt stubs: 256 fixed-size entry stubs that report the vector, plus the timer handler. */
    .code32
    .section .text
    .align 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    cld
    call unexpected_vector   /* argument: the vector pushed by the stub; never returns */
1:  hlt
    jmp 1b

    /*
     * KVM's instruction emulator cannot execute a protected-mode IRET, so handlers return
     * with popf; ret instead. This is only valid for same-privilege interrupts (no error code,
     * CS unchanged), which is all this kernel takes.
     * Stack on entry: EIP, CS, EFLAGS. Rewritten to: EFLAGS, EIP.
     */
    .macro IRET_EMULATED
    pushl %eax
    pushl %ebx
    movl 8(%esp), %eax        /* EIP */
    movl 16(%esp), %ebx       /* EFLAGS */
    movl %eax, 16(%esp)
    movl %ebx, 12(%esp)
    popl %ebx
    popl %eax
    addl $4, %esp
    popfl
    ret
    .endm

    .globl timer_isr
timer_isr:
    pushal
    cld
    call timer_tick
    popal
    IRET_EMULATED

    /* ACPI SCI (action=powerbutton): sci_interrupt clears PM1_STS and sends the EOI. */
    .globl sci_isr
sci_isr:
    pushal
    cld
    call sci_interrupt
    popal
    IRET_EMULATED

    /* ACPI SCI for a general-purpose event (action=pcihp): pcihp_interrupt acks GPE0 and sends the EOI. */
    .globl sci_gpe_isr
sci_gpe_isr:
    pushal
    cld
    call pcihp_interrupt
    popal
    IRET_EMULATED

    /* virtio-blk MSI-X (action=blk-msix, blk-resize msix=1): blk_interrupt counts and sends the EOI. */
    .globl blk_queue_isr
blk_queue_isr:
    pushal
    cld
    pushl $0x41
    call blk_interrupt
    addl $4, %esp
    popal
    IRET_EMULATED

    .globl blk_config_isr
blk_config_isr:
    pushal
    cld
    pushl $0x42
    call blk_interrupt
    addl $4, %esp
    popal
    IRET_EMULATED

    /* IDE channel interrupts (action=ide-irq): ide_interrupt acknowledges the device and sends the EOI. */
    .globl ide_isr14
ide_isr14:
    pushal
    cld
    pushl $14
    call ide_interrupt
    addl $4, %esp
    popal
    IRET_EMULATED

    .globl ide_isr15
ide_isr15:
    pushal
    cld
    pushl $15
    call ide_interrupt
    addl $4, %esp
    popal
    IRET_EMULATED

    /* LAPIC spurious vector: no EOI (SDM Vol. 3A 11.9). */
    .globl spurious_isr
spurious_isr:
    IRET_EMULATED

    .section .note.GNU-stack, "", @progbits
