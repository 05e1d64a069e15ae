package dev.jvmm.devices.pci;

import dev.jvmm.core.irq.IrqLine;

import java.util.function.IntFunction;

/**
 * Intel 82371SB (PIIX3) datasheet, section 2.2.9 (PIRQRC[A:D]): routes the four PCI interrupt wires
 * PIRQA-PIRQD to ISA IRQs. Each slot's INTA-INTD is swizzled onto a PIRQ as QEMU's i440FX board wires it
 * ({@link #pirqFor}); the wires are level-triggered and shared, so an ISA IRQ is high while any asserted
 * INTx reaches it through any PIRQ routed to it.
 */
public final class PciInterruptRouter {
    public static final int PIRQ_COUNT = 4;
    /** PIRQRC bit 7: routing disabled (QEMU's reset value 0x80). */
    public static final int IRQ_ROUTING_DISABLE = 0x80;
    public static final int ISA_IRQS = 16;

    private final IrqLine[] isaLines = new IrqLine[ISA_IRQS];
    private final int[] route = new int[PIRQ_COUNT];
    /** Number of asserted, unmasked INTx lines on each PIRQ. */
    private final int[] asserted = new int[PIRQ_COUNT];
    private final boolean[] isaLevel = new boolean[ISA_IRQS];

    /** isaIrq gives the line of ISA IRQ n (on our IOAPIC, GSI n). */
    public PciInterruptRouter(IntFunction<IrqLine> isaIrq) {
        for (int i = 0; i < ISA_IRQS; i++) {
            IrqLine l = isaIrq.apply(i);
            isaLines[i] = l == null ? IrqLine.NONE : l;
        }
        java.util.Arrays.fill(route, IRQ_ROUTING_DISABLE);
    }

    /**
     * QEMU's pci_slot_get_pirq for the i440FX: PIRQ index (0 = PIRQA) of slot's pin (1 = INTA .. 4 = INTD),
     * i.e. (slot - 1 + pin - 1) mod 4, so slot 1 INTA is PIRQA and slot 3 INTA is PIRQC.
     */
    public static int pirqFor(int slot, int pin) {
        if (pin < 1 || pin > 4) {
            throw new IllegalArgumentException("bad interrupt pin " + pin);
        }
        return (slot - 1 + pin - 1) & 3;
    }

    /** A fresh INTx wire for slot's pin (1-4). */
    public IntxLine line(int slot, int pin) {
        return new IntxLine(this, pirqFor(slot, pin));
    }

    /** Sets PIRQ pirq's route register value (ISA IRQ 0-15, or bit 7 set / >= 16 for disabled, as QEMU). */
    public synchronized void setRoute(int pirq, int value) {
        route[pirq] = value & 0xff;
        refresh();
    }

    /** The raw route register value of pirq. */
    public synchronized int route(int pirq) {
        return route[pirq];
    }

    /** The ISA IRQ that slot's pin reaches now, or -1 when its PIRQ is disabled. */
    public synchronized int isaIrqFor(int slot, int pin) {
        int r = route[pirqFor(slot, pin)];
        return r < ISA_IRQS ? r : -1;
    }

    /** Current level of ISA IRQ irq as driven by the PCI wires. */
    public synchronized boolean isaLevel(int irq) {
        return isaLevel[irq];
    }

    /** Called with the router's lock held by IntxLine when its effective level changes. */
    void changeAsserted(int pirq, int delta) {
        asserted[pirq] += delta;
        refresh();
    }

    /** Recomputes every ISA IRQ level; 16 x 4 comparisons, no allocation. */
    private void refresh() {
        for (int irq = 0; irq < ISA_IRQS; irq++) {
            boolean level = false;
            for (int p = 0; p < PIRQ_COUNT; p++) {
                if (route[p] == irq && asserted[p] > 0) {
                    level = true;
                }
            }
            if (level != isaLevel[irq]) {
                isaLevel[irq] = level;
                isaLines[irq].setLevel(level);
            }
        }
    }
}
