package dev.jvmm.core.irq;

/** One interrupt input (a GSI on the IOAPIC, or an ISA IRQ routed to it). */
public interface IrqLine {
    void setLevel(boolean high);

    /** An edge: raise then lower, as ISA devices signal edge-triggered interrupts. */
    default void pulse() {
        setLevel(true);
        setLevel(false);
    }

    IrqLine NONE = high -> { };
}
