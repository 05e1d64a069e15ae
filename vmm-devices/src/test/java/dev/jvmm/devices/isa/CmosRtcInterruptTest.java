package dev.jvmm.devices.isa;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interrupts, SET/divider behaviour, -rtc options and RTC_CHANGE offsets, with a fake clock and timers
 * driven by hand. The expected register C values were checked against QEMU 7.2 (qtest, real time).
 */
class CmosRtcInterruptTest {
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long MIB = 1L << 20;

    // Tuesday 2024-02-27 21:34:56.5 UTC
    final CmosRtcTest.MutableClock clock = new CmosRtcTest.MutableClock(Instant.parse("2024-02-27T21:34:56.500Z"));
    final Uart16550Test.Line irq = new Uart16550Test.Line();
    final List<Long> changes = new ArrayList<>();
    final PioBus bus = new PioBus();
    CmosRtc rtc = make(RtcOptions.DEFAULT, ZoneOffset.UTC);

    CmosRtc make(RtcOptions options, ZoneId zone) {
        CmosRtc r = CmosRtc.withoutTimers(512 * MIB, 0, 1, irq, clock, zone, options);
        PioBus b = new PioBus();
        r.attach(b);
        r.setTimeChangeListener(changes::add);
        busFor = b;
        return r;
    }

    PioBus busFor;

    int cmos(int index) {
        return CmosPorts.read(busFor, index);
    }

    void setCmos(int index, int v) {
        CmosPorts.write(busFor, index, v);
    }

    void advance(long nanos) {
        clock.advanceNanos(nanos);
        rtc.runTimers();
    }

    @Test
    void periodTable() {
        assertEquals(0, CmosRtc.periodForRate(0));
        assertEquals(128, CmosRtc.periodForRate(1), "rate 1 aliases rate 8: 256 Hz");
        assertEquals(256, CmosRtc.periodForRate(2), "rate 2 aliases rate 9: 128 Hz");
        assertEquals(4, CmosRtc.periodForRate(3), "8192 Hz");
        assertEquals(32, CmosRtc.periodForRate(6), "1024 Hz");
        assertEquals(16384, CmosRtc.periodForRate(15), "2 Hz");
    }

    @Test
    void periodicInterruptRaisesIrqAndClearsOnRead() {
        assertEquals(0, cmos(0x0c));
        setCmos(0x0b, 0x42); // PIE, 24h
        advance(500_000);
        assertFalse(irq.level, "1024 Hz: no tick within 0.5 ms");
        advance(500_000);
        assertTrue(irq.level);
        assertEquals(0xc0, cmos(0x0c));
        assertFalse(irq.level, "reading C lowers IRQ 8");
        assertEquals(0, cmos(0x0c));
    }

    @Test
    void periodicTicksCoalesceWhileFlagged() {
        setCmos(0x0a, 0x23); // 8192 Hz
        setCmos(0x0b, 0x42);
        int before = irq.changes.get();
        for (int i = 0; i < 100; i++) {
            advance(122_071); // one period each
        }
        assertEquals(before + 1, irq.changes.get(), "one raise until the guest reads C");
        assertEquals(0, rtc.coalescedTicks(), "driftfix=none owes nothing");
        assertEquals(0xc0, cmos(0x0c));
        assertFalse(irq.level);
        assertEquals(0, cmos(0x0c));
        rtc.resetReinjection();
    }

    @Test
    void slewReinjectsMissedTicksOnAcknowledge() {
        rtc = make(RtcOptions.parse("driftfix=slew"), ZoneOffset.UTC);
        setCmos(0x0a, 0x2f); // 2 Hz: a tick every 500 ms
        setCmos(0x0b, 0x42);
        advance(500 * MS);    // first tick, delivered
        assertTrue(irq.level);
        advance(1000 * MS);   // two more while PF is still set
        assertEquals(2, rtc.coalescedTicks());
        assertEquals(0xc0, cmos(0x0c) & 0xc0); // UF comes and goes too
        assertTrue(irq.level, "the acknowledgement re-injects one missed tick");
        assertEquals(1, rtc.coalescedTicks());
        assertEquals(0xc0, cmos(0x0c) & 0xc0); // UF comes and goes too
        assertEquals(0, rtc.coalescedTicks());
        assertTrue(irq.level);
        assertEquals(0xc0, cmos(0x0c) & 0xc0); // UF comes and goes too
        assertFalse(irq.level, "backlog paid off");
        advance(1000 * MS);
        rtc.resetReinjection();
        assertEquals(0, rtc.coalescedTicks(), "rtc-reset-reinjection forgets the backlog");
        assertEquals(0xc0, cmos(0x0c) & 0xc0); // UF comes and goes too
        assertFalse(irq.level);
    }

    @Test
    void noPeriodicFlagWithoutPieOrWithRateZero() {
        advance(50 * MS);
        assertEquals(0, cmos(0x0c) & 0x40, "PF needs PIE (QEMU 7.2)");
        setCmos(0x0a, 0x20); // rate 0
        setCmos(0x0b, 0x42);
        advance(50 * MS);
        assertEquals(0, cmos(0x0c));
        assertFalse(irq.level);
    }

    @Test
    void updateEndedFlagWithoutAndWithUie() {
        advance(600 * MS); // crosses :57
        assertEquals(0x10, cmos(0x0c), "UF is set every second even with UIE clear");
        assertFalse(irq.level);
        setCmos(0x0b, 0x12); // UIE
        advance(400 * MS);
        assertFalse(irq.level);
        advance(600 * MS);
        assertTrue(irq.level);
        assertEquals(0x90, cmos(0x0c));
        assertFalse(irq.level);
    }

    @Test
    void enablingAnAlreadyFlaggedInterruptFiresAtOnce() {
        advance(600 * MS);
        setCmos(0x0b, 0x12);
        assertTrue(irq.level, "UF was pending when UIE got set");
        assertEquals(0x90, cmos(0x0c));
    }

    @Test
    void alarmMatchesAndDontCare() {
        setCmos(0x01, 0x58); // 21:34:58 (BCD)
        setCmos(0x03, 0x34);
        setCmos(0x05, 0x21);
        setCmos(0x0b, 0x22); // AIE
        advance(1 * S); // 21:34:57.5
        assertFalse(irq.level);
        advance(1 * S); // 21:34:58.5
        assertTrue(irq.level);
        assertEquals(0xb0, cmos(0x0c), "AF, UF and IRQF");
        // Don't-care in all three: every second.
        setCmos(0x01, 0xc0);
        setCmos(0x03, 0xff);
        setCmos(0x05, 0xc5);
        advance(1 * S);
        assertTrue(irq.level);
        assertEquals(0xb0, cmos(0x0c));
    }

    @Test
    void alarmRewriteRearmsTheTimer() throws Exception {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try {
            CountDownLatch raised = new CountDownLatch(1);
            CmosRtc real = new CmosRtc(512 * MIB, 0, 1, high -> {
                if (high) {
                    raised.countDown();
                }
            }, java.time.Clock.systemUTC(), ZoneOffset.UTC, RtcOptions.DEFAULT, timers);
            PioBus b = new PioBus();
            real.attach(b);
            int[][] writes = {{0x0b, 0x22}, {0x01, 0xc0}, {0x03, 0xc0}, {0x05, 0xc0}};
            for (int[] w : writes) {  // AIE first, armed for midnight; then "every second"
                b.write(0x70, 1, w[0]);
                b.write(0x71, 1, w[1]);
            }
            assertTrue(raised.await(3, TimeUnit.SECONDS), "the new alarm fires within a second or two");
        } finally {
            timers.shutdownNow();
        }
    }

    @Test
    void alarmOutOfRangeNeverFires() {
        setCmos(0x01, 0x61); // second 61
        setCmos(0x03, 0xc0);
        setCmos(0x05, 0xc0);
        setCmos(0x0b, 0x22);
        advance(5 * S);
        assertFalse(irq.level);
        assertEquals(0x10, cmos(0x0c));
        setCmos(0x01, 0x00);
        setCmos(0x05, 0x25); // hour 25
        advance(90000 * S);
        assertEquals(0x10, cmos(0x0c));
    }

    @Test
    void alarmIn12HourMode() {
        setCmos(0x0b, 0x00); // 12h, BCD
        setCmos(0x01, 0x00);
        setCmos(0x03, 0x35);
        setCmos(0x05, 0x89); // 9 PM
        setCmos(0x0b, 0x20);
        advance(3 * S);
        assertFalse(irq.level, "21:34:59.5");
        advance(1 * S);
        assertTrue(irq.level);
        assertEquals(0xb0, cmos(0x0c));
    }

    @Test
    void setBitStopsTimeButNotInterrupts() {
        setCmos(0x0b, 0x82 | 0x10); // SET drops UIE as QEMU does
        assertEquals(0x82, cmos(0x0b));
        advance(3 * S);
        assertEquals(0x56, cmos(0x00), "time registers frozen under SET");
        assertEquals(0x10, cmos(0x0c), "UF still occurs under SET (the alarm, 00:00:00, does not match)");
    }

    @Test
    void dividerResetStopsEverythingAndRestartsHalfASecondLater() {
        setCmos(0x0a, 0x76);
        setCmos(0x0b, 0x12);
        advance(3 * S);
        assertEquals(0, cmos(0x0c));
        assertEquals(0x56, cmos(0x00));
        setCmos(0x0a, 0x26);
        assertEquals(1, changes.size(), "leaving reset sets the time: RTC_CHANGE");
        advance(300 * MS);
        assertFalse(irq.level);
        advance(300 * MS);
        assertTrue(irq.level, "first update half a second after the reset is removed");
        assertEquals(0x57, cmos(0x00));
    }

    @Test
    void uipOnlyWhileRunning() {
        clock.advanceNanos(S / 2 - 100_000); // 244 us window before the next second
        assertEquals(0x80, cmos(0x0a) & 0x80);
        setCmos(0x0b, 0x82);
        assertEquals(0, cmos(0x0a) & 0x80);
    }

    @Test
    void changeOffsetBcdBinaryAnd12h() {
        // BCD, 24h: set 2030-02-27 21:34:56 -> offset 6 years in seconds.
        setCmos(0x0b, 0x82);
        setCmos(0x09, 0x30);
        setCmos(0x0b, 0x02);
        long sixYears = Instant.parse("2030-02-27T21:34:56Z").getEpochSecond()
                - Instant.parse("2024-02-27T21:34:56Z").getEpochSecond();
        assertEquals(List.of(sixYears), changes);
        changes.clear();
        // Binary, 24h, written while running: seconds=0 moves 56 s back from the 2030 time.
        setCmos(0x0b, 0x06);
        setCmos(0x00, 0);
        assertEquals(List.of(sixYears - 56), changes);
        changes.clear();
        // 12h BCD: 9 AM instead of 21h = 12 hours back. The registers still hold binary values after the
        // mode change (as in QEMU), so the guest writes them all.
        setCmos(0x0b, 0x80);
        int[][] regs = {{0x00, 0x56}, {0x02, 0x34}, {0x04, 0x09}, {0x07, 0x27}, {0x08, 0x02}, {0x09, 0x30},
            {0x32, 0x20}};
        for (int[] r : regs) {
            setCmos(r[0], r[1]);
        }
        setCmos(0x0b, 0x00);
        assertEquals(List.of(sixYears - 12 * 3600), changes);
        changes.clear();
        // Register writes under SET report nothing; neither do NVRAM writes.
        setCmos(0x0b, 0x80);
        setCmos(0x04, 0x12);
        setCmos(0x40, 0x12);
        assertEquals(List.of(), changes);
    }

    @Test
    void bcdGarbageNormalisesAndKeepsRunning() {
        setCmos(0x0b, 0x82);
        setCmos(0x08, 0x13); // month 13 -> January next year
        setCmos(0x07, 0xaa); // "day 110"
        setCmos(0x0b, 0x02);
        assertEquals(1, changes.size());
        assertEquals(0x20, cmos(0x32));
        // Index beyond 0x7f wraps (bit 7 is NMI disable), reading stays in range.
        busFor.write(0x70, 1, 0xff);
        busFor.write(0x71, 1, 0x5a);
        assertEquals(0x5a, cmos(0x7f));
        setCmos(0x0c, 0xff); // read-only
        setCmos(0x0d, 0x00);
        assertEquals(0x80, cmos(0x0d));
    }

    @Test
    void resetKeepsTimeAndOffsetClearsEnables() {
        setCmos(0x0b, 0x82);
        setCmos(0x09, 0x30);
        setCmos(0x0b, 0x72); // PIE|AIE|UIE
        setCmos(0x0f, 0x05);
        long before = rtc.offsetSeconds();
        advance(2 * S);
        assertTrue(irq.level);
        rtc.reset();
        assertFalse(irq.level);
        assertEquals(before, rtc.offsetSeconds());
        assertEquals(0x12, cmos(0x0b), "PIE/AIE cleared, UIE kept (as QEMU)");
        assertEquals(0, cmos(0x0c));
        assertEquals(0x30, cmos(0x09));
        assertEquals(0, cmos(0x0f));
        setCmos(0x0f, 0xfe);
        rtc.reset();
        assertEquals(0xfe, cmos(0x0f), "the S3 resume marker survives reset");
    }

    @Test
    void clockVmStopsWhilePaused() {
        rtc = make(new RtcOptions(RtcOptions.Base.UTC, 0, RtcOptions.ClockSource.VM, RtcOptions.DriftFix.NONE),
                ZoneOffset.UTC);
        rtc.pause();
        clock.advanceNanos(10 * S);
        assertEquals(0x56, cmos(0x00));
        rtc.resume();
        clock.advanceNanos(1 * S);
        assertEquals(0x57, cmos(0x00));
        assertEquals(-10, rtc.offsetSeconds());
    }

    @Test
    void clockHostIgnoresPause() {
        rtc.pause();
        clock.advanceNanos(10 * S);
        rtc.resume();
        assertEquals(0x06, cmos(0x00));
    }

    @Test
    void baseDatetimeAndItsChangeOffset() {
        rtc = make(RtcOptions.parse("base=2006-06-17T16:01:21"), ZoneOffset.UTC);
        assertEquals(0x21, cmos(0x00));
        assertEquals(0x16, cmos(0x04));
        assertEquals(0x06, cmos(0x09));
        clock.advanceNanos(5 * S);
        // Setting the time to what it already is reports 0: QEMU measures from the base, not the host.
        setCmos(0x0b, 0x82);
        setCmos(0x0b, 0x02);
        assertEquals(List.of(5L - 5L), changes);
    }

    @Test
    void baseLocaltime() {
        ZoneId tokyo = ZoneId.of("Asia/Tokyo");
        rtc = make(RtcOptions.parse("base=localtime"), tokyo);
        assertEquals(0x06, cmos(0x04), "21:34 UTC is 06:34 in Tokyo");
        setCmos(0x0b, 0x82);
        setCmos(0x0b, 0x02);
        assertEquals(List.of(0L), changes, "local registers read back in the host zone: no offset");
    }

    @Test
    void realTimersFireWithoutPolling() throws Exception {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try {
            CountDownLatch raised = new CountDownLatch(1);
            CmosRtc real = new CmosRtc(512 * MIB, 0, 1, high -> {
                if (high) {
                    raised.countDown();
                }
            }, java.time.Clock.systemUTC(), ZoneOffset.UTC, RtcOptions.DEFAULT, timers);
            PioBus b = new PioBus();
            real.attach(b);
            b.write(0x70, 1, 0x0b);
            b.write(0x71, 1, 0x42);
            assertTrue(raised.await(2, TimeUnit.SECONDS));
        } finally {
            timers.shutdownNow();
        }
    }

    @Test
    void ownTimerThreadWhenNoneIsGiven() throws Exception {
        CountDownLatch raised = new CountDownLatch(1);
        CmosRtc real = new CmosRtc(512 * MIB, 0, 1, high -> {
            if (high) {
                raised.countDown();
            }
        }, java.time.Clock.systemUTC(), ZoneOffset.UTC, RtcOptions.DEFAULT, null);
        try {
            PioBus b = new PioBus();
            real.attach(b);
            b.write(0x70, 1, 0x0b);
            b.write(0x71, 1, 0x42);
            assertTrue(raised.await(2, TimeUnit.SECONDS));
        } finally {
            real.close();
        }
    }

    @Test
    void shutDownTimersDoNotBreakTheGuest() {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        timers.shutdownNow();
        CmosRtc r = new CmosRtc(512 * MIB, 0, 1, irq, clock, ZoneOffset.UTC, RtcOptions.DEFAULT, timers);
        PioBus b = new PioBus();
        r.attach(b);
        b.write(0x70, 1, 0x0b);
        b.write(0x71, 1, 0x52); // PIE|UIE: scheduling is refused, quietly
        clock.advanceNanos(2 * S);
        b.write(0x70, 1, 0x0c);
        assertEquals(0xd0, b.read(0x71, 1) & 0xd0, "flags still computed on read");
    }

    @Test
    void rtcOptionParsing() {
        assertEquals(RtcOptions.DEFAULT, RtcOptions.parse("base=utc"));
        RtcOptions o = RtcOptions.parse("base=2020-1-1T1:2,clock=vm,driftfix=slew,clock=rt");
        assertEquals(RtcOptions.Base.DATETIME, o.base());
        assertEquals(Instant.parse("2020-01-01T00:00:00Z").getEpochSecond(), o.baseEpochSeconds(),
                "a partial time falls back to the date only, as QEMU's sscanf");
        assertEquals(RtcOptions.ClockSource.RT, o.clock());
        assertEquals(RtcOptions.DriftFix.SLEW, o.driftFix());
        assertEquals(Instant.parse("2021-01-01T00:00:00Z").getEpochSecond(),
                RtcOptions.parse("base=2020-13-01").baseEpochSeconds(), "month 13 normalises");
        assertEquals(Instant.parse("2020-01-01T00:00:00Z").getEpochSecond(),
                RtcOptions.parse("base=2020-01-01xyz").baseEpochSeconds());
    }

    @Test
    void rtcOptionErrorsAsQemu() {
        assertEquals(RtcOptions.BAD_DATETIME, error("base=foo"));
        assertEquals(RtcOptions.BAD_DATETIME, error("base="));
        assertEquals(RtcOptions.BAD_DATETIME, error("base=1969-12-31T23:59:59"));
        assertEquals("invalid option value 'foo'", error("clock=foo"));
        assertEquals("invalid option value 'fast'", error("driftfix=fast"));
        assertEquals("-rtc foo=bar: Invalid parameter 'foo'", error("foo=bar"));
        assertEquals("-rtc utc: Invalid parameter 'utc'", error("utc"), "QEMU also warns about the short form first");
    }

    static String error(String text) {
        return assertThrows(OptionException.class, () -> RtcOptions.parse(text)).formatted();
    }
}
