package dev.jvmm.devices.net;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.devices.pci.IntxLine;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * 8254x manual sections 13.4.17 to 13.4.21 (ICR, ITR, ICS, IMS, IMC): {@link E1000}'s interrupt causes and
 * INTA#, with QEMU 7.2's mitigation (set_interrupt_cause, e1000_mit_timer): with mitigation=on a rising edge
 * of ICR &amp; IMS waits max(ITR, RADV with RDTR set, TADV after a descriptor with IDE), at least 500 units of
 * 256 ns, on guest time. The caller holds the device's lock; the timer takes it.
 */
final class E1000Interrupts {
    private final E1000 dev;
    private final int[] mac;
    private final boolean mitigation;
    final VirtualClock.Timer mitTimer;
    private IntxLine intx;

    // the mitigation state, saved with the device (E1000State)
    boolean mitTimerOn;
    boolean mitIrqLevel;
    int mitIde;

    E1000Interrupts(E1000 dev, int[] mac, VirtualClock clock, boolean mitigation) {
        this.dev = dev;
        this.mac = mac;
        this.mitigation = mitigation;
        this.mitTimer = clock.newTimer(this::mitExpired);
    }

    void connect(IntxLine line) {
        intx = line;
    }

    /** QEMU's e1000_reset: no timer, no pending edge; INTA# is left to the caller. */
    void reset() {
        mitTimer.cancel();
        mitTimerOn = false;
        mitIrqLevel = false;
        mitIde = 0;
    }

    /** set_interrupt_cause: ICR and ICS take val; a new pending cause may wait for the mitigation timer. */
    void setInterruptCause(int val) {
        mac[w(ICR)] = val;
        mac[w(ICS)] = val;
        int pending = mac[w(IMS)] & mac[w(ICR)];
        if (!mitIrqLevel && pending != 0) {
            if (mitTimerOn) {
                return;
            }
            if (mitigation) {
                long delay = 0;
                if (mitIde != 0 && (pending & (ICR_TXQE | ICR_TXDW)) != 0) {
                    delay = mitUpdate(delay, (mac[w(TADV)] & 0xffff_ffffL) * 4);
                }
                if (mac[w(RDTR)] != 0 && (pending & ICR_RXT0) != 0) {
                    delay = mitUpdate(delay, (mac[w(RADV)] & 0xffff_ffffL) * 4);
                }
                delay = mitUpdate(delay, mac[w(ITR)] & 0xffff_ffffL);
                delay = (delay & 0xffff_ffffL) < E1000.MIT_MIN_DELAY ? E1000.MIT_MIN_DELAY : delay & 0xffff_ffffL;
                mitTimerOn = true;
                mitTimer.modIn(delay * E1000.MIT_UNIT_NANOS);
                mitIde = 0;
            }
        }
        mitIrqLevel = pending != 0;
        setIrq(mitIrqLevel);
    }

    private static long mitUpdate(long curr, long value) {
        value &= 0xffff_ffffL;
        return value != 0 && (curr == 0 || value < curr) ? value : curr;
    }

    void setIcs(int val) {
        setInterruptCause(val | mac[w(ICR)]);
    }

    /** A transmit descriptor asked for a delayed interrupt (IDE): TADV counts for the next edge. */
    void noteTxIde(int ide) {
        mitIde |= ide;
    }

    void setIrq(boolean level) {
        IntxLine l = intx;
        if (l != null) {
            l.setLevel(level);
        }
    }

    private void mitExpired() {
        dev.lock.lock();
        try {
            if (!mitTimer.claimExpiry()) {
                return;
            }
            mitTimerOn = false;
            setInterruptCause(mac[w(ICR)]);
        } finally {
            dev.unlock();
        }
    }
}
