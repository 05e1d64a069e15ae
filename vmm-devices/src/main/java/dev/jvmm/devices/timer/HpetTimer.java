package dev.jvmm.devices.timer;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

/**
 * IA-PC HPET Specification 1.0a, sections 2.3.8 to 2.3.10: one timer's registers and the hidden state QEMU
 * 7.2 keeps beside them (HPETTimer), with the comparator arithmetic. Guarded by the owning {@link Hpet}.
 */
final class HpetTimer {
    /** Tn_CONF_CAP: capabilities in the high dword, configuration in the low. */
    long config;
    long cmp;
    /** Tn_FSB_INT_ROUTE: the message in the low dword, its address in the high. */
    long fsb;
    /** The last period written in periodic mode. */
    long period;
    /** A 32-bit one-shot fires at the counter's wrap first, then at the match. */
    boolean wrapFlag;
    final VirtualClock.Timer timer;

    HpetTimer(VirtualClock.Timer timer) {
        this.timer = timer;
    }

    boolean periodic() {
        return (config & Hpet.Tn_TYPE_CNF) != 0;
    }

    boolean mode32() {
        return (config & Hpet.Tn_32MODE_CNF) != 0;
    }

    /** Ticks from cur to the comparator, at least 1 (QEMU's hpet_calculate_diff). */
    long diff(long cur) {
        if (mode32()) {
            int d = (int) (cmp - cur);
            return d > 0 ? d : 1;
        }
        long d = cmp - cur;
        return d > 0 ? d : 1;
    }

    /**
     * Moves a periodic comparator past cur by whole periods, as QEMU's catch-up loop does, in one step: a
     * guest's tiny period and far-away counter would make that loop run for years. False where QEMU's loop
     * never ends (a 32-bit timer whose period's low half is 0); the comparator is then left alone.
     */
    boolean catchUp(long cur) {
        if (!mode32()) {
            cmp = catchUp64(cmp, cur, period);
            return true;
        }
        long p = period & 0xffff_ffffL;
        long c = cmp & 0xffff_ffffL;
        int x = (int) (c - cur);
        if (x >= 0) {
            return true;
        }
        if (p == 0) {
            return false;
        }
        long k;
        if (p <= 0x8000_0000L) {
            k = (-(long) x - 1) / p + 1;
        } else {
            // A period above 2^31 is a step back; the loop ends when the distance wraps past -2^31.
            k = ((long) x + 0x8000_0000L) / (0x1_0000_0000L - p) + 1;
        }
        cmp = (c + k * p) & 0xffff_ffffL;
        return true;
    }

    /** The comparator after adding period while cur is past it (signed 64-bit distance), in one step. */
    static long catchUp64(long cmp, long cur, long period) {
        long x = cmp - cur;
        if (x >= 0 || period == 0) {
            return cmp;
        }
        long k;
        if (Long.compareUnsigned(period, Long.MIN_VALUE) <= 0) {
            // Each step gains period; the first k with k * period >= cur - cmp ends the loop.
            k = Long.divideUnsigned(-x - 1, period) + 1;
        } else {
            // A period above 2^63 is a step back of -period; the loop ends when x wraps past -2^63.
            k = Long.divideUnsigned(x + Long.MIN_VALUE, -period) + 1;
        }
        return cmp + k * period;
    }

    /** The registers, the hidden state and the guest time left until the timer fires. */
    void save(StateWriter w, long now) {
        long deadline = timer.deadline();
        w.begin("t").u64("config", config).u64("cmp", cmp).u64("fsb", fsb).u64("period", period)
                .bool("wrap", wrapFlag).bool("armed", deadline >= 0)
                .u64("remaining-ns", deadline >= 0 ? Math.max(0, deadline - now) : 0).end();
    }

    /** One timer as loaded, checked before any of it is applied. */
    record Saved(long config, long cmp, long fsb, long period, boolean wrap, boolean armed, long remainingNanos) {
        /** Reads timer n; the bits a guest cannot write must be fixedBits. */
        static Saved read(StateReader r, int n, long fixedBits) throws StateException {
            r.begin("t");
            long c = r.u64("config");
            if ((c & ~(long) Hpet.Tn_CONF_WRITABLE) != fixedBits) {
                throw r.invalid("config", String.format("timer %d: 0x%x changes read-only bits", n, c));
            }
            long cmp = r.u64("cmp");
            long fsb = r.u64("fsb");
            long period = r.u64("period");
            boolean wrap = r.bool("wrap");
            boolean armed = r.bool("armed");
            long remaining = r.u64("remaining-ns", 0, armed ? Long.MAX_VALUE : 0);
            r.end();
            return new Saved(c, cmp, fsb, period, wrap, armed, remaining);
        }

        /** Restores the timer and re-arms it against this machine's clock. */
        void applyTo(HpetTimer t) {
            t.config = config;
            t.cmp = cmp;
            t.fsb = fsb;
            t.period = period;
            t.wrapFlag = wrap;
            if (armed) {
                t.timer.modIn(remainingNanos);
            } else {
                t.timer.cancel();
            }
        }
    }
}
