package dev.jvmm.core.irq;

/** The machine's interrupt fabric as devices see it; implemented by the in-kernel irqchip in vmm-kvm. */
public interface InterruptController {
    /** The line for global system interrupt gsi (ISA IRQs 0-15 are GSIs 0-15, with IRQ0 routed to pin 2). */
    IrqLine line(int gsi);

    /** Delivers a message-signalled interrupt (MSI/MSI-X) with the given address and data. */
    void signalMsi(long address, int data);
}
