package dev.jvmm.devices.isa;

import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CmosRtcTest {
    static final class MutableClock extends Clock {
        volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advanceNanos(long n) {
            now = now.plusNanos(n);
        }
    }

    static final long MIB = 1L << 20;
    // Tuesday 2024-02-27 21:34:56.5 UTC
    final MutableClock clock = new MutableClock(Instant.parse("2024-02-27T21:34:56.500Z"));
    final Uart16550Test.Line irq = new Uart16550Test.Line();
    final CmosRtc rtc = new CmosRtc(512 * MIB, 0, 2, irq, clock);
    final PioBus bus = new PioBus();

    {
        rtc.attach(bus);
    }

    int cmos(int index) {
        return CmosPorts.read(bus, index);
    }

    void setCmos(int index, int v) {
        CmosPorts.write(bus, index, v);
    }

    @Test
    void readsBcdTimeFromHostClock() {
        assertEquals(0x56, cmos(0x00));
        assertEquals(0x34, cmos(0x02));
        assertEquals(0x21, cmos(0x04));
        assertEquals(0x03, cmos(0x06), "Tuesday is day 3 (Sunday = 1)");
        assertEquals(0x27, cmos(0x07));
        assertEquals(0x02, cmos(0x08));
        assertEquals(0x24, cmos(0x09));
        assertEquals(0x20, cmos(0x32));
        assertEquals(0x20, cmos(0x37), "PS/2 century alias");
        clock.advanceNanos(4_000_000_000L);
        assertEquals(0x00, cmos(0x00));
        assertEquals(0x35, cmos(0x02));
    }

    @Test
    void binaryAnd12HourModes() {
        setCmos(0x0b, 0x04);   // binary, 12 h
        assertEquals(56, cmos(0x00));
        assertEquals(0x80 | 9, cmos(0x04), "21h is 9 PM");
        setCmos(0x0b, 0x00);   // BCD, 12 h
        assertEquals(0x89, cmos(0x04));
        setCmos(0x0b, 0x06);
        assertEquals(21, cmos(0x04));
    }

    @Test
    void statusRegisters() {
        assertEquals(0x26, cmos(0x0a) & 0x7f);
        assertEquals(0x02, cmos(0x0b));
        assertEquals(0x80, cmos(0x0d));
        setCmos(0x0d, 0);
        assertEquals(0x80, cmos(0x0d), "D is read-only");
        setCmos(0x0c, 0xff);
        assertEquals(0, cmos(0x0c), "C is read-only and clears on read");
        setCmos(0x0a, 0xff);
        assertEquals(0x7f, cmos(0x0a) & 0x7f, "UIP is not writable");
    }

    @Test
    void uipSetOnlyAtEndOfSecondAndPollingTerminates() {
        clock.now = Instant.parse("2024-02-27T21:34:56.999900Z");
        assertTrue((cmos(0x0a) & 0x80) != 0);
        clock.now = Instant.parse("2024-02-27T21:34:57.000100Z");
        assertFalse((cmos(0x0a) & 0x80) != 0);
        // a guest loop waiting for UIP to clear with a real clock ends quickly
        CmosRtc real = new CmosRtc(64 * MIB, 0, 1, null);
        PioBus b = new PioBus();
        real.attach(b);
        long start = System.nanoTime();
        do {
            b.write(0x70, 1, 0x0a);
        } while ((b.read(0x71, 1) & 0x80) != 0 && System.nanoTime() - start < 2_000_000_000L);
        assertTrue(System.nanoTime() - start < 1_000_000_000L);
    }

    @Test
    void indexMasksNmiBitAndIndexPortReadsOnes() {
        bus.write(0x70, 1, 0x80 | 0x0d);
        assertEquals(0x80, bus.read(0x71, 1));
        assertEquals(0xff, bus.read(0x70, 1));
        setCmos(0xff, 0x5a);     // index 0x7f
        assertEquals(0x5a, cmos(0x7f));
        for (int i = 0; i < 256; i++) {
            cmos(i);
        }
        bus.read(0x70, 4);
        bus.write(0x70, 2, 0x3f40);   // index 0x40, data 0x3f
        assertEquals(0x3f, cmos(0x40));
    }

    @Test
    void memoryBytesAsQemuPc() {
        assertEquals(0x80, cmos(0x15));
        assertEquals(0x02, cmos(0x16));
        int ext = Math.min(512 * 1024 - 1024, 65535);
        assertEquals(ext & 0xff, cmos(0x17));
        assertEquals(ext >> 8, cmos(0x18));
        assertEquals(ext & 0xff, cmos(0x30));
        assertEquals(ext >> 8, cmos(0x31));
        int high = (int) ((512 * MIB - 16 * MIB) / 65536);
        assertEquals(high & 0xff, cmos(0x34));
        assertEquals(high >> 8, cmos(0x35));
        assertEquals(1, cmos(0x5f));
        CmosRtc big = new CmosRtc(3L << 30, 5L << 30, 8, null, clock);
        assertEquals(0xff, big.cmosByte(0x17));
        assertEquals(0xff, big.cmosByte(0x18), "extended memory capped at 65535 KiB");
        long above = (5L << 30) / 65536;
        assertEquals(above & 0xff, big.cmosByte(0x5b));
        assertEquals((above >> 8) & 0xff, big.cmosByte(0x5c));
        assertEquals((above >> 16) & 0xff, big.cmosByte(0x5d));
        assertEquals(7, big.cmosByte(0x5f));
    }

    @Test
    void bootOrderAndEquipmentBytes() {
        assertEquals(0x06, cmos(0x14));
        assertEquals(0x12, cmos(0x3d));
        assertEquals(0x30, cmos(0x38));
        rtc.setBootOrder("dn", false);
        assertEquals(0x43, cmos(0x3d));
        assertEquals(0x01, cmos(0x38));
        assertEquals("Invalid boot device for PC: 'z'",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> rtc.setBootOrder("cz", true)).getMessage());
        assertEquals("Too many boot devices for PC",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> rtc.setBootOrder("cadn", true)).getMessage());
    }

    @Test
    void guestSetsTimeWithSetBit() {
        List<Long> changes = new ArrayList<>();
        rtc.setTimeChangeListener(changes::add);
        setCmos(0x0b, 0x82);           // SET, 24 h, BCD
        assertEquals(0x56, cmos(0x00), "registers latched, clock stopped");
        clock.advanceNanos(5_000_000_000L);
        assertEquals(0x56, cmos(0x00));
        assertEquals(0, cmos(0x0a) & 0x80, "no UIP while SET");
        setCmos(0x09, 0x25);           // year 2025
        setCmos(0x08, 0x03);
        setCmos(0x07, 0x01);
        setCmos(0x04, 0x10);
        setCmos(0x02, 0x00);
        setCmos(0x00, 0x00);
        assertTrue(changes.isEmpty());
        setCmos(0x0b, 0x02);
        long expected = Instant.parse("2025-03-01T10:00:00Z").getEpochSecond()
                - Instant.parse("2024-02-27T21:35:01Z").getEpochSecond();
        assertEquals(List.of(expected), changes);
        assertEquals(expected, rtc.offsetSeconds());
        assertEquals(0x00, cmos(0x00));
        clock.advanceNanos(61_000_000_000L);
        assertEquals(0x01, cmos(0x00));
        assertEquals(0x01, cmos(0x02));
        assertEquals(0x07, cmos(0x06), "2025-03-01 is a Saturday");
    }

    @Test
    void writingTimeWhileRunningMovesClock() {
        setCmos(0x09, 0x99);
        assertEquals(0x99, cmos(0x09));
        assertEquals(0x20, cmos(0x32));
        assertTrue(rtc.offsetSeconds() > 70L * 365 * 86400);
    }

    @Test
    void bcdGarbageDoesNotThrow() {
        setCmos(0x0b, 0x82);
        int[] regs = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};
        int[] junk = {0xff, 0xaa, 0x00, 0x9f, 0xc5, 0x3c};
        for (int v : junk) {
            for (int r : regs) {
                setCmos(r, v);
            }
            setCmos(0x0b, 0x02);
            for (int r : regs) {
                cmos(r);
            }
            rtc.offsetSeconds();
            setCmos(0x0b, 0x82);
            setCmos(0x0b, 0x86);
            setCmos(0x0b, 0x80);
            setCmos(0x0b, 0x00);   // running in 12 h BCD with garbage hour
            for (int r : regs) {
                setCmos(r, v);
                cmos(r);
            }
            setCmos(0x0b, 0x82);
        }
    }

    @Test
    void dividerResetStopsClock() {
        setCmos(0x0a, 0x70);
        int s = cmos(0x00);
        clock.advanceNanos(3_000_000_000L);
        assertEquals(s, cmos(0x00));
        setCmos(0x0a, 0x26);
        clock.advanceNanos(1_000_000_000L);
        assertEquals(0x57, cmos(0x00));
    }
}
