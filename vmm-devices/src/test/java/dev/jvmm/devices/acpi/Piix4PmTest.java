package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.machine.WakeupReason;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;

import static dev.jvmm.devices.acpi.Piix4Pm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Piix4PmTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<Boolean> sciEdges = new ArrayList<>();
    private final List<String> sleeps = new ArrayList<>();
    private boolean sci;
    private final IrqLine line = high -> {
        sci = high;
        sciEdges.add(high);
    };
    private final SleepRequest sleep = new SleepRequest() {
        @Override
        public void shutdown() {
            sleeps.add("S5");
        }

        @Override
        public void suspend() {
            sleeps.add("S3");
        }

        @Override
        public void hibernate() {
            sleeps.add("S4");
        }
    };
    private Piix4Pm pm;

    @BeforeEach
    void setUp() {
        pm = new Piix4Pm(line, sleep, now::get, null, false, DEFAULT_S4_VAL);
    }

    /** Advances the fake clock by a number of PM timer ticks (rounded up to whole nanoseconds). */
    private void advanceTicks(long ticks) {
        now.addAndGet((ticks * 1_000_000_000L + PM_TIMER_FREQUENCY - 1) / PM_TIMER_FREQUENCY);
    }

    @Test
    void configSpaceIdentifiesPiix4Pm() {
        assertEquals(0x71138086, pm.readConfig(0, 4));
        assertEquals(0x03, pm.readConfig(0x08, 1));
        assertEquals(0x0680, pm.readConfig(0x0a, 2));
        assertEquals(0x00, pm.readConfig(0x09, 1));
        assertEquals(0x0280, pm.readConfig(0x06, 2));
        assertEquals(0x01, pm.readConfig(0x3d, 1));
        assertEquals(0x00000001, pm.readConfig(PMBA, 4));
        assertEquals("Bridge", pm.description());
    }

    @Test
    void pmIoFollowsPmbaAndPmregmisc() {
        PioBus bus = new PioBus();
        pm.attach(bus);
        assertTrue(bus.isAssigned(GPE0_BASE));
        assertTrue(bus.isAssigned(APM_CNT));
        assertFalse(bus.isAssigned(0x600));
        assertEquals(-1, pm.pmIoBase());
        pm.writeConfig(PMBA, 4, 0x601);
        assertFalse(bus.isAssigned(0x600), "PMREGMISC still disables the block");
        pm.writeConfig(PMREGMISC, 1, 1);
        assertEquals(0x600, pm.pmIoBase());
        assertTrue(bus.isAssigned(0x600) && bus.isAssigned(0x63f));
        assertEquals(0x601, pm.readConfig(PMBA, 4));
        pm.writeConfig(PMBA, 4, 0xb000);
        assertFalse(bus.isAssigned(0x600));
        assertTrue(bus.isAssigned(0xb008));
        assertEquals(0xb000, pm.readConfig(PMBA, 4), "QEMU keeps bit 0 writable");
        // Read through the bus: the timer at +8 ticks.
        long t0 = bus.read(0xb008, 4);
        advanceTicks(1000);
        assertEquals(1000, bus.read(0xb008, 4) - t0, 1);
        pm.reset();
        assertFalse(bus.isAssigned(0xb008));
        pm.enablePmIo(0x600);
        assertTrue(bus.isAssigned(0x604));
    }

    @Test
    void pmbaOverAnotherDeviceLeavesTheBlockUnmapped() {
        PioBus bus = new PioBus();
        bus.register(0x700, 0x40, new dev.jvmm.core.io.IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        });
        pm.attach(bus);
        pm.enablePmIo(0x700); // must not throw into the config write
        pm.writeConfig(PMBA, 4, 0x600);
        assertTrue(bus.isAssigned(0x600));
    }

    @Test
    void statusIsWriteOneToClearAndEnableIsPlain() {
        pm.wakeup(WakeupReason.PMTIMER); // WAK_STS alone
        pm.write(PM1_EN, 2, PWRBTN_EN);
        pm.powerButton();
        assertEquals(WAK_STS | PWRBTN_STS, pm.read(PM1_STS, 2) & ~TMR_STS);
        pm.write(PM1_STS, 2, 0); // writing zeroes changes nothing
        assertEquals(WAK_STS | PWRBTN_STS, pm.read(PM1_STS, 2) & ~TMR_STS);
        pm.write(PM1_STS, 2, WAK_STS);
        assertEquals(PWRBTN_STS, pm.read(PM1_STS, 2) & ~TMR_STS);
        pm.write(PM1_STS, 2, 0xffff);
        assertEquals(0, pm.read(PM1_STS, 2));
        pm.write(PM1_EN, 2, TMR_EN | RTC_EN);
        assertEquals(TMR_EN | RTC_EN, pm.read(PM1_EN, 2));
        // A 32-bit write at PM1a_EVT writes status (low half) and enable (high half).
        pm.write(PM1_STS, 4, (long) PWRBTN_EN << 16);
        assertEquals(PWRBTN_EN, pm.read(PM1_EN, 2));
        assertEquals((long) PWRBTN_EN << 16, pm.read(PM1_STS, 4));
    }

    @Test
    void narrowAndUnalignedAccessesAsQemu() {
        // Values observed with qtest on QEMU 7.2: outw 0x602 0x0521; outb 0x603 1 -> 0x0521; inb 0x603 -> 0;
        // outb 0x602 0x21 -> 0x0021; inw 0x601 -> 0x2100.
        pm.write(PM1_EN, 2, 0x0521);
        pm.write(PM1_EN + 1, 1, 0x01);
        assertEquals(0x0521, pm.read(PM1_EN, 2));
        assertEquals(0, pm.read(PM1_EN + 1, 1));
        pm.write(PM1_EN, 1, 0x21);
        assertEquals(0x0021, pm.read(PM1_EN, 2));
        assertEquals(0x2100, pm.read(PM1_STS + 1, 2));
        // outw 0x604 0x0401; inb 0x605 -> 0x01; outb 0x605 0x20 -> PM1_CNT 0x0020.
        pm.write(PM1_CNT, 2, 0x0401);
        assertEquals(0x01, pm.read(PM1_CNT + 1, 1));
        pm.write(PM1_CNT + 1, 1, 0x20);
        assertEquals(0x0020, pm.read(PM1_CNT, 2));
        // inl 0x609 -> 0xff000000 | low 24 bits of the timer.
        long t = pm.read(PM_TMR, 4);
        assertEquals(0xff000000L | t, pm.read(PM_TMR + 1, 4));
    }

    @Test
    void powerButtonRaisesSciOnlyWhenEnabled() {
        pm.powerButton();
        assertEquals(0, pm.read(PM1_STS, 2) & PWRBTN_STS, "QEMU latches PWRBTN_STS only when enabled");
        assertFalse(sci);
        pm.write(PM1_EN, 2, PWRBTN_EN);
        assertFalse(sci);
        pm.powerButton();
        assertTrue(sci);
        assertTrue(pm.sciLevel());
        assertEquals(PWRBTN_STS, pm.read(PM1_STS, 2) & PWRBTN_STS);
        // Disabling the enable drops the level; status stays latched until cleared.
        pm.write(PM1_EN, 2, 0);
        assertFalse(sci);
        pm.write(PM1_EN, 2, PWRBTN_EN);
        assertTrue(sci);
        pm.write(PM1_STS, 2, PWRBTN_STS);
        assertFalse(sci);
        assertEquals(List.of(true, false, true, false), sciEdges);
    }

    @Test
    void wakeStatusDoesNotRaiseSci() {
        pm.write(PM1_EN, 2, 0xffff);
        pm.write(PM1_STS, 2, 0xffff);
        sciEdges.clear();
        for (WakeupReason r : WakeupReason.values()) {
            pm.wakeup(r);
            assertEquals(WAK_STS, pm.read(PM1_STS, 2) & WAK_STS);
            assertFalse(sci, r.name());
        }
    }

    @Test
    void sciIsNotGatedOnSciEnAsInQemu() {
        assertEquals(0, pm.read(PM1_CNT, 2) & SCI_EN);
        pm.write(PM1_EN, 2, PWRBTN_EN);
        pm.powerButton();
        assertTrue(sci);
    }

    @Test
    void timerCountsAt3579545HzAndWrapsAt24Bits() {
        long t0 = pm.read(PM_TMR, 4);
        now.addAndGet(1_000_000_000L);
        long t1 = pm.read(PM_TMR, 4);
        assertEquals(PM_TIMER_FREQUENCY, (t1 - t0) & 0xffffff, 1);
        long prev = t1;
        long total = 0;
        for (int i = 0; i < 200; i++) {
            now.addAndGet(37_000_000L); // 37 ms: the 24-bit counter wraps about every 4.7 s
            long v = pm.read(PM_TMR, 4);
            assertTrue(v >= 0 && v <= 0xffffff, "24 bits");
            total += (v - prev) & 0xffffff;
            prev = v;
        }
        assertEquals(200 * 37_000_000L * PM_TIMER_FREQUENCY / 1_000_000_000L, total, 2);
        // Narrow reads see the addressed bytes.
        long full = pm.read(PM_TMR, 4);
        assertEquals(full & 0xffff, pm.read(PM_TMR, 2));
        assertEquals(full & 0xff, pm.read(PM_TMR + 2, 1), "QEMU returns the low byte at any offset");
        // Writes to the timer are ignored.
        pm.write(PM_TMR, 4, 0);
        assertEquals(full, pm.read(PM_TMR, 4));
    }

    @Test
    void timerDoesNotOverflowAfterDaysOfUptime() {
        now.addAndGet(10L * 24 * 3600 * 1_000_000_000L);
        long t = pm.read(PM_TMR, 4);
        assertTrue(t >= 0 && t <= 0xffffff);
        now.addAndGet(1_000_000L);
        assertEquals(3580, (pm.read(PM_TMR, 4) - t) & 0xffffff, 1);
    }

    @Test
    void timerStatusSetsWhenBit23TogglesAndRaisesSciWhenEnabled() {
        assertEquals(TMR_STS, pm.read(PM1_STS, 2) & TMR_STS, "QEMU: set from reset until cleared");
        pm.write(PM1_STS, 2, TMR_STS);
        assertEquals(0, pm.read(PM1_STS, 2) & TMR_STS);
        advanceTicks(0x800000);
        assertEquals(TMR_STS, pm.read(PM1_STS, 2) & TMR_STS);
        pm.timerExpired();
        assertFalse(sci, "TMR_EN clear");
        pm.write(PM1_EN, 2, TMR_EN);
        assertTrue(sci);
        pm.write(PM1_STS, 2, TMR_STS);
        assertFalse(sci);
        assertEquals(0, pm.read(PM1_STS, 2) & TMR_STS);
        advanceTicks(0x800000);
        pm.timerExpired();
        assertTrue(sci);
    }

    @Test
    void timerAlarmFiresOnTheScheduler() throws Exception {
        ScheduledExecutorService sched = Executors.newSingleThreadScheduledExecutor();
        try {
            // Real clock, real scheduler: bit 23 toggles within 2.35 s of power-on.
            Object lock = new Object();
            boolean[] raised = {false};
            Piix4Pm real = new Piix4Pm(high -> {
                synchronized (lock) {
                    raised[0] |= high;
                    lock.notifyAll();
                }
            }, SleepRequest.NONE, sched);
            real.write(PM1_STS, 2, TMR_STS); // set from reset: clear it, then wait for bit 23 to toggle
            real.write(PM1_EN, 2, TMR_EN);
            synchronized (lock) {
                assertFalse(raised[0]);
            }
            long deadline = System.currentTimeMillis() + 5000;
            synchronized (lock) {
                while (!raised[0] && System.currentTimeMillis() < deadline) {
                    lock.wait(100);
                }
            }
            assertTrue(raised[0], "SCI from the PM timer alarm");
            assertEquals(TMR_STS, real.read(PM1_STS, 2) & TMR_STS);
        } finally {
            sched.shutdownNow();
        }
    }

    @Test
    void sleepTypesDecodeAsQemu() {
        pm.write(PM1_CNT, 2, (0 << SLP_TYP_SHIFT) | SLP_EN);
        pm.write(PM1_CNT, 2, (1 << SLP_TYP_SHIFT) | SLP_EN);
        pm.write(PM1_CNT, 2, (2 << SLP_TYP_SHIFT) | SLP_EN);
        for (int t = 3; t < 8; t++) {
            pm.write(PM1_CNT, 2, (t << SLP_TYP_SHIFT) | SLP_EN); // no sleep state behind these
        }
        assertEquals(List.of("S5", "S3", "S4"), sleeps);
    }

    @Test
    void slpTypWithoutSlpEnDoesNothingAndSlpEnReadsZero() {
        pm.write(PM1_CNT, 2, 1 << SLP_TYP_SHIFT);
        assertTrue(sleeps.isEmpty());
        assertEquals(1 << SLP_TYP_SHIFT, pm.read(PM1_CNT, 2));
        pm.write(PM1_CNT, 2, (5 << SLP_TYP_SHIFT) | SLP_EN | SCI_EN);
        assertTrue(sleeps.isEmpty());
        assertEquals((5 << SLP_TYP_SHIFT) | SCI_EN, pm.read(PM1_CNT, 2), "SLP_EN is write-only");
    }

    @Test
    void otherS4ValueIsHonoured() {
        Piix4Pm other = new Piix4Pm(line, sleep, now::get, null, false, 5);
        other.write(PM1_CNT, 2, (2 << SLP_TYP_SHIFT) | SLP_EN);
        other.write(PM1_CNT, 2, (5 << SLP_TYP_SHIFT) | SLP_EN);
        assertEquals(List.of("S4"), sleeps);
    }

    @Test
    void reservedOffsetsReadAllOnesAndIgnoreWrites() {
        assertEquals(0xffff, pm.read(0x06, 2));
        assertEquals(0xffffffffL, pm.read(0x10, 4));
        assertEquals(0xff, pm.read(0x3f, 1));
        pm.write(0x06, 2, 0xffff);
        pm.write(0x20, 4, -1);
        assertEquals(0, pm.read(PM1_EN, 2));
        assertEquals(0, pm.read(PM1_CNT, 2));
        assertTrue(sleeps.isEmpty());
        // A 4-byte read at PM1a_CNT sees the control register and all-ones above it.
        assertEquals(0xffff0000L, pm.read(PM1_CNT, 4));
    }

    @Test
    void apmCommandsToggleSciEn() {
        var apm = pm.apmHandler();
        apm.write(0, 1, ACPI_ENABLE);
        assertEquals(SCI_EN, pm.read(PM1_CNT, 2) & SCI_EN);
        assertEquals(ACPI_ENABLE, apm.read(0, 1));
        apm.write(0, 1, 0x55); // other commands leave SCI_EN
        assertEquals(SCI_EN, pm.read(PM1_CNT, 2) & SCI_EN);
        apm.write(0, 1, ACPI_DISABLE);
        assertEquals(0, pm.read(PM1_CNT, 2) & SCI_EN);
        apm.write(1, 1, 0x5a); // APM status is a scratch byte
        assertEquals(0x5a, apm.read(1, 1));
        assertEquals(0x5af0, apm.read(0, 2));
    }

    @Test
    void acpiOnlyStartsWithSciEn() {
        Piix4Pm only = new Piix4Pm(line, sleep, now::get, null, true, DEFAULT_S4_VAL);
        assertEquals(SCI_EN, only.read(PM1_CNT, 2));
        assertEquals(0x02, only.readConfig(DEVACTB_HI, 1));
        only.write(PM1_CNT, 2, 0);
        only.reset();
        assertEquals(SCI_EN, only.read(PM1_CNT, 2));
    }

    @Test
    void gpeStatusIsWriteOneToClearAndRaisesSciWithEnable() {
        var gpe = pm.gpeHandler();
        pm.raiseGpe(1);
        assertEquals(0x02, gpe.read(0, 1));
        assertFalse(sci);
        gpe.write(2, 1, 0x02);
        assertTrue(sci);
        assertEquals(0x02, gpe.read(2, 1));
        assertEquals(0x00020002L, gpe.read(0, 4));
        gpe.write(0, 1, 0x01); // clearing another bit leaves this one
        assertTrue(sci);
        gpe.write(0, 1, 0x02);
        assertFalse(sci);
        assertEquals(0, gpe.read(0, 2));
        pm.raiseGpe(9); // second status byte, enabled through the second enable byte
        gpe.write(3, 1, 0x02);
        assertTrue(sci);
        pm.raiseGpe(16); // out of range: ignored
        assertEquals(0xff, gpe.read(4, 1));
    }

    @Test
    void resetRestoresPowerOnState() {
        pm.write(PM1_EN, 2, PWRBTN_EN);
        pm.powerButton();
        pm.write(PM1_CNT, 2, SCI_EN | (3 << SLP_TYP_SHIFT));
        pm.gpeHandler().write(2, 2, 0xffff);
        pm.writeConfig(PMBA, 4, 0x600);
        pm.writeConfig(PMREGMISC, 1, 1);
        assertTrue(sci);
        pm.reset();
        assertFalse(sci);
        assertEquals(0, pm.read(PM1_EN, 2));
        assertEquals(TMR_STS, pm.read(PM1_STS, 2));
        assertEquals(0, pm.read(PM1_CNT, 2));
        assertEquals(0, pm.gpeHandler().read(0, 4));
        assertEquals(1, pm.readConfig(PMBA, 4));
        assertEquals(0, pm.readConfig(PMREGMISC, 1));
        assertEquals(-1, pm.pmIoBase());
    }
}
