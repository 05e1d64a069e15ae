package dev.jvmm.devices.isa;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.StateSupport;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ISA devices saved mid-operation and restored into fresh instances: the same guest accesses then give the
 * same reads, IRQ levels, timer interrupts and output on both.
 */
class IsaStateTest {
    static final long MS = 1_000_000L;
    static final String AT = "section '" + StateSupport.ID + "': ";

    // ---- UART

    static final class Uart {
        final Uart16550Test.CaptureChardev chr = new Uart16550Test.CaptureChardev();
        final Uart16550Test.Line irq = new Uart16550Test.Line();
        final Uart16550 dev;

        Uart(int base) {
            dev = new Uart16550(base, irq, chr);
        }

        int rd(int reg) {
            return (int) dev.read(reg, 1);
        }

        void wr(int reg, int v) {
            dev.write(reg, 1, v);
        }

        String regs() {
            return String.format("lcr=%02x mcr=%02x scr=%02x ier=%02x irq=%b rx=%d", rd(Uart16550.LCR),
                    rd(Uart16550.MCR), rd(Uart16550.SCR), rd(Uart16550.IER), irq.level, dev.canReceive());
        }
    }

    @Test
    void uartWithBytesInTheFifoAndATimeoutRunning() throws Exception {
        Uart a = new Uart(Uart16550.COM1_BASE);
        Uart b = new Uart(Uart16550.COM1_BASE);
        a.wr(Uart16550.LCR, 0x80);
        a.wr(Uart16550.DLL, 0x60);          // 1200 baud: a character timeout of about 37 ms
        a.wr(Uart16550.DLM, 0x00);
        a.wr(Uart16550.LCR, 0x1b);          // 8E1
        a.wr(Uart16550.FCR, 0x41);          // FIFO, trigger level 4
        a.wr(Uart16550.SCR, 0x5a);
        a.wr(Uart16550.MCR, 0x0b);
        a.wr(Uart16550.IER, Uart16550.IER_ERBFI | Uart16550.IER_ETBEI | Uart16550.IER_ELSI);
        a.dev.receive(new byte[] {'a', 'b', 'c'}, 0, 3);
        assertTrue(a.irq.level, "THRE pending");

        StateSupport.copy(a.dev, b.dev);
        assertEquals(a.regs(), b.regs());
        for (Uart u : List.of(a, b)) {
            assertEquals(0xc2, u.rd(Uart16550.IIR), "THRI (below the trigger level), FIFO on");
            assertEquals(0x61, u.rd(Uart16550.LSR));
            u.wr(Uart16550.THR, 'x');
        }
        assertEquals("x", b.chr.out.toString());
        for (Uart u : List.of(a, b)) {
            // the character timeout, re-armed on load, fires on both (about 37 ms; bounded wait for a busy host)
            long deadline = System.nanoTime() + 5_000_000_000L;
            int iir = u.rd(Uart16550.IIR);
            while (iir != 0xcc && System.nanoTime() < deadline) {
                Thread.sleep(10);
                iir = u.rd(Uart16550.IIR);
            }
            assertEquals(0xcc, iir, "character timeout");
            assertTrue(u.irq.level);
            assertEquals('a', u.rd(Uart16550.RBR));
            u.dev.receive(new byte[] {'d', 'e', 'f'}, 0, 3);
            assertEquals(0xc4, u.rd(Uart16550.IIR), "trigger level reached");
        }
        StringBuilder rest = new StringBuilder();
        for (Uart u : List.of(a, b)) {
            for (int i = 0; i < 5; i++) {
                rest.append((char) u.rd(Uart16550.RBR));
            }
            rest.append('|').append(u.rd(Uart16550.LSR)).append('|');
        }
        assertEquals("bcdef|96|bcdef|96|", rest.toString());
        a.dev.close();
        b.dev.close();
    }

    @Test
    void uartRefusals() {
        Uart a = new Uart(Uart16550.COM1_BASE);
        Uart b = new Uart(Uart16550.COM2_BASE);
        byte[] p = StateSupport.save(a.dev);
        assertEquals(AT + "configuration mismatch: 'iobase' is 1016 in the saved state, 760 here",
                StateSupport.refusal(b.dev, p));
        Uart c = new Uart(Uart16550.COM1_BASE);
        assertEquals(AT + "field 'rx-fifo' is invalid: 2 bytes with FCR 0x0",
                StateSupport.refusal(c.dev, StateSupport.edit(p, "rx-fifo", w -> w.bytes("rx-fifo", new byte[2]))));
        assertEquals(AT + "field 'mcr' is invalid: 255 is outside 0..31",
                StateSupport.refusal(c.dev, StateSupport.edit(p, "mcr", w -> w.u8("mcr", 0xff))));
        assertEquals(AT + "field 'char-time-ns' is invalid: 0 is outside 1..12000000000",
                StateSupport.refusal(c.dev, StateSupport.edit(p, "char-time-ns", w -> w.u64("char-time-ns", 0))));
        assertEquals(0x08, c.rd(Uart16550.MCR), "a refused section changes nothing");
        a.dev.close();
        b.dev.close();
        c.dev.close();
    }

    // ---- i8042 and port 92

    @Test
    void i8042WithAQueueAndHalfDoneCommands() throws Exception {
        List<String> log = new ArrayList<>();
        Uart16550Test.Line kbdA = new Uart16550Test.Line();
        Uart16550Test.Line mouseA = new Uart16550Test.Line();
        Uart16550Test.Line kbdB = new Uart16550Test.Line();
        Uart16550Test.Line mouseB = new Uart16550Test.Line();
        I8042 a = new I8042(() -> log.add("a reset"), kbdA, mouseA);
        I8042 b = new I8042(() -> log.add("b reset"), kbdB, mouseB);
        a.writeCommand(I8042.CCMD_WRITE_AUX_OBUF);
        a.writeData(0x77);                  // aux byte first in the queue
        a.writeData(I8042.KBD_CMD_GET_ID);  // ACK, AB, 83
        a.writeData(I8042.KBD_CMD_SCANCODE); // ACK, then waits for its argument
        a.writeCommand(I8042.CCMD_WRITE_MODE); // waits for the mode byte
        a.writeCommand(I8042.CCMD_DISABLE_A20);

        StateSupport.copy(a, b);
        assertEquals(mouseA.level, mouseB.level);
        assertTrue(mouseB.level);
        StringBuilder seqA = new StringBuilder();
        StringBuilder seqB = new StringBuilder();
        for (Object[] d : new Object[][] {{a, kbdA, mouseA, seqA}, {b, kbdB, mouseB, seqB}}) {
            I8042 k = (I8042) d[0];
            StringBuilder s = (StringBuilder) d[3];
            k.writeData(0x61 | I8042.MODE_KCC);  // the mode byte
            k.writeData(0x00);                   // scancode argument: get the set
            for (int i = 0; i < 8; i++) {
                s.append(String.format("%02x/%02x/%b/%b ", k.readStatus(), k.readData(),
                        ((Uart16550Test.Line) d[1]).level, ((Uart16550Test.Line) d[2]).level));
            }
            s.append(k.a20());
            k.writeCommand(0xfe);
        }
        assertEquals(seqA.toString(), seqB.toString());
        assertTrue(seqB.toString().startsWith("39/77/true/false "), seqB.toString());
        assertEquals(List.of("a reset", "b reset"), log);
    }

    @Test
    void i8042Refusals() {
        I8042 b = new I8042(null);
        byte[] p = StateSupport.save(new I8042(null));
        assertEquals(AT + "field 'pending-command' is invalid: 0xaa takes no data byte",
                StateSupport.refusal(b, StateSupport.edit(p, "pending-command", w -> w.u8("pending-command", 0xaa))));
        assertEquals(AT + "field 'queue' is invalid: 17 bytes, the queue holds 16",
                StateSupport.refusal(b, StateSupport.edit(p, "queue", w -> w.bytes("queue", new byte[17]))));
        assertEquals(AT + "field 'queue-aux' is invalid: 0 flags for 2 queued bytes",
                StateSupport.refusal(b, StateSupport.edit(p, "queue", w -> w.bytes("queue", new byte[2]))));
        assertEquals(0x18, b.readStatus());
    }

    @Test
    void port92KeepsA20AndTheResetBit() throws Exception {
        AtomicInteger resets = new AtomicInteger();
        Port92 a = new Port92(resets::incrementAndGet);
        Port92 b = new Port92(resets::incrementAndGet);
        a.write(0, 1, Port92.A20_ENABLE | Port92.FAST_RESET);
        StateSupport.copy(a, b);
        assertTrue(b.a20());
        b.write(0, 1, Port92.A20_ENABLE | Port92.FAST_RESET);
        assertEquals(1, resets.get(), "the bit was already set: no new edge");
        assertEquals(3, b.read(0, 1));
    }

    // ---- RTC

    final CmosRtcTest.MutableClock clock = new CmosRtcTest.MutableClock(Instant.parse("2024-02-27T21:34:56.300Z"));

    final class Rtc {
        final Uart16550Test.Line irq = new Uart16550Test.Line();
        final PioBus bus = new PioBus();
        final CmosRtc dev;

        Rtc(RtcOptions options) {
            dev = CmosRtc.withoutTimers(512L << 20, 0, 2, irq, clock, ZoneOffset.UTC, options);
            dev.attach(bus);
        }

        int get(int i) {
            return CmosPorts.read(bus, i);
        }

        void set(int i, int v) {
            CmosPorts.write(bus, i, v);
        }

        /** What one guest poll sees: time, A (UIP included), B, C (read-to-clear), IRQ level, backlog. */
        String poll() {
            dev.runTimers();
            boolean level = irq.level;
            return String.format("%02x:%02x:%02x %02x/%02x/%02x a=%02x b=%02x c=%02x irq=%b owed=%d",
                    get(4), get(2), get(0), get(7), get(8), get(9), get(0x0a), get(0x0b), get(0x0c), level,
                    dev.coalescedTicks());
        }
    }

    @Test
    void rtcWithPeriodicAlarmAndUpdateInterruptsArmed() throws Exception {
        Rtc a = new Rtc(RtcOptions.DEFAULT);
        Rtc b = new Rtc(RtcOptions.DEFAULT);
        a.set(0x0a, 0x2f);                   // 2 Hz periodic
        a.set(0x01, 0x59);                   // alarm at second 59 of any minute/hour:
        a.set(0x03, 0xc0);
        a.set(0x05, 0xc0);
        a.set(0x0b, 0x72);                   // PIE, AIE, UIE, 24h, BCD
        a.set(0x40, 0xab);                   // an NVRAM byte
        a.set(0x0d, 0);
        clock.advanceNanos(800 * MS);
        a.dev.runTimers();                   // PF and UF flagged, not yet acknowledged
        assertTrue(a.irq.level);
        a.bus.write(0x70, 1, 0x40);          // the index left pointing somewhere

        StateSupport.copy(a.dev, b.dev);
        assertEquals(a.irq.level, b.irq.level);
        assertEquals(0xab, (int) b.bus.read(0x71, 1), "index and NVRAM");
        for (int step = 0; step < 40; step++) {
            clock.advanceNanos(step % 3 == 0 ? 130 * MS : 70 * MS);
            assertEquals(a.poll(), b.poll(), "step " + step);
        }
        a.set(0x00, 0x30);                   // the guest sets the time on both
        b.set(0x00, 0x30);
        clock.advanceNanos(1_100 * MS);
        assertEquals(a.poll(), b.poll());
    }

    @Test
    void rtcClockVmGoesOnFromTheSavedTimeWithItsBacklog() throws Exception {
        RtcOptions vm = new RtcOptions(RtcOptions.Base.UTC, 0, RtcOptions.ClockSource.VM, RtcOptions.DriftFix.SLEW);
        Rtc a = new Rtc(vm);
        a.set(0x0a, 0x26);                   // 1024 Hz
        a.set(0x0b, 0x42);                   // PIE
        clock.advanceNanos(10 * MS);         // ~10 ticks missed while PF stays set: owed to the guest
        a.dev.runTimers();
        assertTrue(a.dev.coalescedTicks() > 5);
        a.dev.pause();
        clock.advanceNanos(3_600_000 * MS);  // an hour passes while the state sits on disk
        Rtc b = new Rtc(vm);
        StateSupport.copy(a.dev, b.dev);
        a.dev.resume();
        assertEquals(a.dev.coalescedTicks(), b.dev.coalescedTicks());
        for (int step = 0; step < 30; step++) {
            clock.advanceNanos(step % 2 == 0 ? 3 * MS / 10 : 17 * MS / 10);
            assertEquals(a.poll(), b.poll(), "step " + step);
        }
    }

    @Test
    void rtcRefusals() {
        Rtc a = new Rtc(RtcOptions.DEFAULT);
        byte[] p = StateSupport.save(a.dev);
        Rtc vm = new Rtc(new RtcOptions(RtcOptions.Base.UTC, 0, RtcOptions.ClockSource.VM, RtcOptions.DriftFix.NONE));
        assertEquals(AT + "configuration mismatch: 'clock' is 'HOST' in the saved state, 'VM' here",
                StateSupport.refusal(vm.dev, p));
        Rtc b = new Rtc(RtcOptions.DEFAULT);
        assertEquals(AT + "field 'coalesced' is invalid: 4 is outside 0..0",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "coalesced", w -> w.u64("coalesced", 4))));
        assertEquals(AT + "field 'phase-ns' is invalid: -1 is outside 0..999999999",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "phase-ns", w -> w.u64("phase-ns", -1))));
        assertEquals(AT + "field 'next-periodic-in-ns' is invalid: 5 is not a tick within a period of now"
                + " (and PIE is clear)", StateSupport.refusal(b.dev,
                StateSupport.edit(p, "next-periodic-in-ns", w -> w.u64("next-periodic-in-ns", 5))));
        assertEquals(AT + "expected field 'cmos' (bytes), found 'base' (string)",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "cmos", w -> w.str("base", "UTC"))));
        assertArrayEquals(new int[] {0x26, 0x02}, new int[] {b.get(0x0a), b.get(0x0b)});
    }
}
