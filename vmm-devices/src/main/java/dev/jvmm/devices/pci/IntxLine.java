package dev.jvmm.devices.pci;

import dev.jvmm.core.irq.IrqLine;

/**
 * PCI Local Bus Specification 3.0, section 2.2.6: one function's INTx# wire, level-triggered and shared.
 * The function drives its level; the bus masks it while COMMAND's Interrupt Disable bit (section 6.2.2)
 * is set, as QEMU's pci_irq_disabled does.
 */
public final class IntxLine implements IrqLine {
    private final PciInterruptRouter router;
    private final int pirq;
    private boolean level;
    private boolean masked;

    IntxLine(PciInterruptRouter router, int pirq) {
        this.router = router;
        this.pirq = pirq;
    }


    /** The PIRQ (0 = PIRQA) this wire is swizzled onto. */
    public int pirq() {
        return pirq;
    }

    @Override
    public void setLevel(boolean high) {
        synchronized (router) {
            boolean before = level && !masked;
            level = high;
            update(before);
        }
    }

    /** The level the function drives (before masking). */
    public boolean level() {
        synchronized (router) {
            return level;
        }
    }

    /** COMMAND.Interrupt Disable: while set, the wire does not reach the PIRQ. */
    void setMasked(boolean m) {
        synchronized (router) {
            boolean before = level && !masked;
            masked = m;
            update(before);
        }
    }

    private void update(boolean before) {
        boolean after = level && !masked;
        if (after != before) {
            router.changeAsserted(pirq, after ? 1 : -1);
        }
    }
}
