package dev.jvmm.devices.timer;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.devices.StateSupport;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static dev.jvmm.devices.timer.Hpet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HpetTest {
    private static final long MS = 1_000_000L;

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + 5_000 * MS;
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out");
            Thread.sleep(2);
        }
    }

    @Test
    void capabilitiesAsQemuPc() {
        try (HpetRig rig = new HpetRig()) {
            Hpet h = rig.hpet;
            assertEquals(0x8086a201L, h.read(GCAP_ID, 4));
            assertEquals(COUNTER_CLK_PERIOD_FS, h.read(COUNTER_CLK_PERIOD, 4));
            assertEquals(0x8086a201, h.eventTimerBlockId());
            assertEquals(0x4_0000_0030L, h.read(TIMER_BLOCK + Tn_CONF_CAP, 8));
            assertEquals(-1L, h.read(TIMER_BLOCK + Tn_COMPARATOR, 8));
            assertEquals(0, h.read(GCAP_ID, 2), "narrow accesses read 0 as in QEMU");
        }
    }

    @Test
    void timersPropertyIsClampedAndMsiAdvertised() {
        ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
        try {
            VirtualClock clock = new VirtualClock(System::nanoTime, ex);
            Hpet few = new Hpet(clock, n -> IrqLine.NONE, 0, 0xff0104, true);
            assertEquals(MIN_TIMERS, few.numTimers());
            assertEquals(0xff0104L << 32 | Tn_FSB_INT_DEL_CAP | Tn_SIZE_CAP | Tn_PER_INT_CAP,
                    few.read(TIMER_BLOCK + 2 * TIMER_STRIDE, 8));
            Hpet many = new Hpet(clock, n -> null, 255, PC_INT_ROUTE_CAP, false);
            assertEquals(MAX_TIMERS, many.numTimers());
            assertEquals(31L << NUM_TIM_CAP_SHIFT, many.read(GCAP_ID, 4) & 0x1f00);
            // Every addressable timer exists; none beyond the window.
            assertEquals(0x30, many.read(TIMER_BLOCK + 23 * TIMER_STRIDE, 4));
            assertEquals(0, many.read(HPET_LEN, 4));
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void catchUpIsTheLoopsResult() {
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            long cmp = r.nextInt(1 << 12) - (1 << 11);
            long cur = r.nextInt(1 << 12);
            long period = 1 + r.nextInt(300);
            long loop = cmp;
            while (loop - cur < 0) {
                loop += period;
            }
            assertEquals(loop, HpetTimer.catchUp64(cmp, cur, period));
        }
        // A step back of 2^63 + 5 ends after the first wrap past -2^63, as QEMU's loop does.
        long big = Long.MIN_VALUE + 5;
        long cmp = 0;
        long cur = 100;
        long loop = cmp;
        do {
            loop += big;
        } while (loop - cur < 0);
        assertEquals(loop, HpetTimer.catchUp64(cmp, cur, big));
        // Far away counter, tiny period: one step, no years-long loop.
        assertEquals(Long.MAX_VALUE - 2, HpetTimer.catchUp64(0, Long.MAX_VALUE - 2, 1));
    }

    @Test
    void oneShotEdgeFiresOnceOnItsRoute() throws Exception {
        try (HpetRig rig = new HpetRig()) {
            rig.clock.resume();
            Hpet h = rig.hpet;
            h.write(TIMER_BLOCK + Tn_CONF_CAP, 4, Tn_INT_ENB_CNF | 2 << Tn_INT_ROUTE_SHIFT);
            h.write(TIMER_BLOCK + Tn_COMPARATOR, 8, 100);
            h.write(GEN_CONF, 4, ENABLE_CNF);
            waitFor(() -> rig.events.size() >= 2);
            Thread.sleep(20);
            assertEquals(List.of("IRQ raise 2", "IRQ lower 2"), rig.events);
            assertEquals(0, h.read(GINTR_STA, 4));
        }
    }

    @Test
    void legacyModeGatesThePitAndTheRtc() {
        try (HpetRig rig = new HpetRig()) {
            List<Boolean> pit = new ArrayList<>();
            Hpet h = rig.hpet;
            h.setLegacyRouting(pit::add);
            IrqLine rtc = h.rtcInput();
            rtc.setLevel(true);
            h.write(GEN_CONF, 4, LEG_RT_CNF);
            rtc.setLevel(false);
            rtc.setLevel(true);
            h.write(GEN_CONF, 4, 0);
            assertEquals(List.of(false, true), pit);
            assertEquals(List.of("IRQ raise 8", "IRQ lower 8", "IRQ raise 8"), rig.events);
            h.reset();
            assertEquals(List.of(false, true, true), pit);
        }
    }

    @Test
    void fsbDeliveryWritesTheMessage() throws Exception {
        try (HpetRig rig = new HpetRig()) {
            rig.clock.resume();
            List<String> writes = Collections.synchronizedList(new ArrayList<>());
            Hpet h = rig.hpet;
            h.setFsbDelivery((address, value) -> writes.add(Long.toHexString(address) + "=" + value));
            h.write(TIMER_BLOCK + Tn_FSB_INT_ROUTE, 8, 0xfee00000L << 32 | 0x41);
            h.write(TIMER_BLOCK + Tn_CONF_CAP, 4, Tn_INT_ENB_CNF | Tn_FSB_EN_CNF);
            h.write(TIMER_BLOCK + Tn_COMPARATOR, 4, 10);
            h.write(GEN_CONF, 4, ENABLE_CNF);
            waitFor(() -> !writes.isEmpty());
            assertEquals(List.of("fee00000=65"), writes);
            assertEquals(List.of(), rig.events);
        }
    }

    /** QEMU spins forever on a 32-bit period whose low half is 0; ours stops that timer and stays usable. */
    @Test
    void periodThatNeverCatchesUpStopsTheTimer() throws Exception {
        try (HpetRig rig = new HpetRig()) {
            rig.clock.resume();
            Hpet h = rig.hpet;
            h.write(TIMER_BLOCK + Tn_CONF_CAP, 4, Tn_INT_ENB_CNF | Tn_TYPE_CNF | Tn_32MODE_CNF | Tn_INT_TYPE_CNF);
            h.write(TIMER_BLOCK + Tn_COMPARATOR + 4, 4, 1);
            h.write(GEN_CONF, 4, ENABLE_CNF);
            waitFor(() -> h.read(GINTR_STA, 4) == 1);
            Thread.sleep(20);
            assertEquals(List.of("IRQ raise 0"), rig.events);
            assertEquals(ENABLE_CNF, h.read(GEN_CONF, 4));
        }
    }

    /** Random accesses of every width with the clock running: nothing throws, and the device stays usable. */
    @Test
    void garbageNeverThrowsOrHangs() throws Exception {
        try (HpetRig rig = new HpetRig()) {
            rig.clock.resume();
            Hpet h = rig.hpet;
            Random r = new Random(42);
            int[] sizes = {1, 2, 4, 8};
            for (int i = 0; i < 50_000; i++) {
                long off = r.nextInt(HPET_LEN + 16) & ~(r.nextInt(4) == 0 ? 0 : 3);
                int size = sizes[r.nextInt(4)];
                long v = switch (r.nextInt(4)) {
                    case 0 -> r.nextLong();
                    case 1 -> r.nextInt(16);
                    case 2 -> -1L;
                    default -> 1L << r.nextInt(64);
                };
                if (r.nextBoolean()) {
                    h.write(off, size, v);
                } else {
                    h.read(off, size);
                }
            }
            Thread.sleep(50);
            h.write(GEN_CONF, 4, 0);
            h.reset();
            assertEquals(0x8086a201L, h.read(GCAP_ID, 4));
        }
    }

    @Test
    void stateRoundTripKeepsRegistersCounterAndArmedTimers() throws Exception {
        try (HpetRig a = new HpetRig(); HpetRig b = new HpetRig()) {
            Hpet h = a.hpet;
            h.write(MAIN_CNT, 8, 0x1234_5678_9abcL);
            h.write(TIMER_BLOCK + TIMER_STRIDE + Tn_CONF_CAP, 4, Tn_INT_ENB_CNF | Tn_INT_TYPE_CNF | Tn_32MODE_CNF);
            h.write(TIMER_BLOCK + TIMER_STRIDE + Tn_COMPARATOR, 4, 0x9b00);
            h.write(TIMER_BLOCK + 3 * TIMER_STRIDE + Tn_COMPARATOR, 4, 77);
            h.write(GEN_CONF, 4, ENABLE_CNF | LEG_RT_CNF);
            StateSupport.copy(h, b.hpet);
            for (int off = 0; off < HPET_LEN; off += 8) {
                assertEquals(h.read(off, 8), b.hpet.read(off, 8), "register 0x" + Integer.toHexString(off));
            }
            b.clock.resume();
            waitFor(() -> b.hpet.read(GINTR_STA, 4) == 2);
            assertEquals(List.of("IRQ raise 8"), b.events);
        }
    }

    @Test
    void stateRefusesWhatTheBlockCannotHold() {
        try (HpetRig rig = new HpetRig()) {
            byte[] saved = StateSupport.save(rig.hpet);
            byte[] bad = StateSupport.edit(saved, "config", w -> w.u64("config", 0x4));
            assertTrue(StateSupport.refusal(rig.hpet, bad).contains("config"));
            byte[] badIsr = StateSupport.edit(saved, "isr", w -> w.u64("isr", 1L << 40));
            assertTrue(StateSupport.refusal(rig.hpet, badIsr).contains("isr"));
        }
    }
}
