package dev.jvmm.devices.isa;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Uart16550Test {
    /** An in-memory chardev recording output. */
    static final class CaptureChardev implements Chardev {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        Receiver receiver;

        @Override
        public String id() {
            return "cap";
        }

        @Override
        public synchronized void write(byte[] data, int offset, int length) {
            out.write(data, offset, length);
        }

        @Override
        public void setReceiver(Receiver r) {
            receiver = r;
        }

        @Override
        public String describe() {
            return "cap";
        }

        @Override
        public void close() {
        }
    }

    static final class Line implements IrqLine {
        volatile boolean level;
        final AtomicInteger changes = new AtomicInteger();

        @Override
        public void setLevel(boolean high) {
            level = high;
            changes.incrementAndGet();
        }
    }

    final CaptureChardev chr = new CaptureChardev();
    final Line irq = new Line();
    final Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, irq, chr);

    int rd(int reg) {
        return (int) uart.read(reg, 1);
    }

    void wr(int reg, int v) {
        uart.write(reg, 1, v);
    }

    @Test
    void powerOnValues() {
        assertEquals(0, rd(Uart16550.IER));
        assertEquals(0x01, rd(Uart16550.IIR));
        assertEquals(0, rd(Uart16550.LCR));
        assertEquals(0x08, rd(Uart16550.MCR));
        assertEquals(0x60, rd(Uart16550.LSR));
        assertEquals(0xb0, rd(Uart16550.MSR));
        assertEquals(0, rd(Uart16550.SCR));
        assertFalse(irq.level);
    }

    @Test
    void transmitGoesStraightToChardevInOrder() {
        for (byte b : "hello, world\n".getBytes()) {
            assertTrue((rd(Uart16550.LSR) & 0x20) != 0);
            wr(Uart16550.THR, b);
        }
        assertEquals("hello, world\n", chr.out.toString());
        assertEquals(0x60, rd(Uart16550.LSR) & 0x60);
    }

    /** chardev-change: output goes to the new backend, the old one hears nothing more, registers stay. */
    @Test
    void changedChardevTakesOverOutputAndInput() {
        wr(Uart16550.SCR, 0x5a);
        wr(Uart16550.THR, 'a');
        CaptureChardev next = new CaptureChardev();
        uart.changeChardev(next);
        wr(Uart16550.THR, 'b');
        assertEquals("a", chr.out.toString());
        assertEquals("b", next.out.toString());
        assertEquals(null, chr.receiver);
        assertSame(uart, next.receiver);
        assertEquals(0x5a, rd(Uart16550.SCR));
    }

    @Test
    void registeredOnBusAtCom1() {
        PioBus bus = new PioBus();
        uart.attach(bus);
        bus.write(0x3f8, 1, 'A');
        bus.write(0x3ff, 1, 0x5a);
        assertEquals(0x5a, bus.read(0x3ff, 1));
        assertEquals("A", chr.out.toString());
        assertFalse(bus.isAssigned(0x400));
    }

    @Test
    void dlabSwitchesToDivisorLatch() {
        wr(Uart16550.LCR, 0x80);
        assertEquals(0x0c, rd(Uart16550.DLL));
        assertEquals(0x00, rd(Uart16550.DLM));
        wr(Uart16550.DLL, 0x01);
        wr(Uart16550.DLM, 0x00);
        assertEquals(1, rd(Uart16550.DLL));
        assertEquals(0, chr.out.size(), "divisor writes are not data");
        wr(Uart16550.LCR, 0x03);
        assertEquals(0, rd(Uart16550.IER));
        wr(Uart16550.THR, 'x');
        assertEquals("x", chr.out.toString());
    }

    @Test
    void everyRegisterReadableInEveryMode() {
        int[] lcrs = {0x00, 0x03, 0x80, 0x83, 0xff};
        int[] fcrs = {0x00, 0x01, 0xc7};
        int[] mcrs = {0x00, 0x08, 0x10, 0x1f, 0xff};
        for (int l : lcrs) {
            for (int f : fcrs) {
                for (int m : mcrs) {
                    wr(Uart16550.LCR, 0);
                    wr(Uart16550.FCR, f);
                    wr(Uart16550.MCR, m);
                    wr(Uart16550.LCR, l);
                    for (int reg = 0; reg < 8; reg++) {
                        int v = rd(reg);
                        assertTrue(v >= 0 && v <= 0xff);
                    }
                    assertEquals(m & 0x1f, rd(Uart16550.MCR));
                    assertEquals(l, rd(Uart16550.LCR));
                }
            }
        }
        // wide and out-of-range accesses do not throw
        uart.read(0, 4);
        uart.read(6, 4);
        uart.write(6, 4, 0xffffffffL);
        assertEquals(0xff, uart.read(9, 1));
    }

    @Test
    void thrInterruptOnEnableAndAfterTransmit() {
        wr(Uart16550.IER, 0x02);
        assertTrue(irq.level);
        assertEquals(0x02, rd(Uart16550.IIR));   // reading IIR acknowledges THRI
        assertFalse(irq.level);
        assertEquals(0x01, rd(Uart16550.IIR));
        wr(Uart16550.THR, 'a');
        assertTrue(irq.level);
        wr(Uart16550.IER, 0);
        assertFalse(irq.level);
    }

    @Test
    void irqIgnoresOut2AsQemuDoes() {
        wr(Uart16550.MCR, 0);
        wr(Uart16550.IER, 0x02);
        assertTrue(irq.level);
    }

    @Test
    void receiveWithoutFifo() {
        wr(Uart16550.IER, 0x01);
        assertEquals(1, uart.canReceive());
        uart.receive(new byte[] {'q'}, 0, 1);
        assertTrue(irq.level);
        assertEquals(0x04, rd(Uart16550.IIR));
        assertEquals(0x61, rd(Uart16550.LSR));
        assertEquals(0, uart.canReceive());
        assertEquals('q', rd(Uart16550.RBR));
        assertFalse(irq.level);
        assertEquals(0x60, rd(Uart16550.LSR));
        // overrun: a second byte before the first is read
        uart.receive(new byte[] {'1', '2'}, 0, 2);
        int lsr = rd(Uart16550.LSR);
        assertEquals(0x02, lsr & 0x02);
        assertEquals(0, rd(Uart16550.LSR) & 0x02, "OE clears on read");
        assertEquals('2', rd(Uart16550.RBR));
    }

    @Test
    void lineStatusInterruptHasPriority() {
        wr(Uart16550.IER, 0x07);
        uart.receive(new byte[] {'1', '2'}, 0, 2);   // overrun
        assertEquals(0x06, rd(Uart16550.IIR));
        rd(Uart16550.LSR);
        assertEquals(0x04, rd(Uart16550.IIR));
        rd(Uart16550.RBR);
        assertEquals(0x02, rd(Uart16550.IIR));
    }

    @Test
    void fifoTriggerLevelsAndIirBits() {
        wr(Uart16550.FCR, 0x81);  // enable, trigger 8
        assertEquals(0xc1, rd(Uart16550.IIR));
        wr(Uart16550.IER, 0x01);
        assertEquals(8, uart.canReceive());
        uart.receive("1234567".getBytes(), 0, 7);
        assertEquals(0xc1, rd(Uart16550.IIR) & 0xcf, "below the trigger level: no RDI yet");
        uart.receive("8".getBytes(), 0, 1);
        assertEquals(0xc4, rd(Uart16550.IIR));
        assertTrue(irq.level);
        assertEquals(1, uart.canReceive());
        StringBuilder sb = new StringBuilder();
        while ((rd(Uart16550.LSR) & 1) != 0) {
            sb.append((char) rd(Uart16550.RBR));
        }
        assertEquals("12345678", sb.toString());
        assertFalse(irq.level);
        wr(Uart16550.FCR, 0x00);
        assertEquals(0x01, rd(Uart16550.IIR));
    }

    @Test
    void fifoFullRefusesAndOverrunKeepsContents() {
        wr(Uart16550.FCR, 0xc1);  // trigger 14
        byte[] data = "ABCDEFGHIJKLMNOP".getBytes();
        uart.receive(data, 0, 16);
        assertEquals(0, uart.canReceive());
        uart.receive(new byte[] {'Z'}, 0, 1);
        assertEquals(0x02, rd(Uart16550.LSR) & 0x02);
        StringBuilder sb = new StringBuilder();
        while ((rd(Uart16550.LSR) & 1) != 0) {
            sb.append((char) rd(Uart16550.RBR));
        }
        assertEquals("ABCDEFGHIJKLMNOP", sb.toString());
    }

    @Test
    void fifoClearEmptiesReceiverAndWakesBackend() {
        AtomicInteger wakes = new AtomicInteger();
        uart.setInputReadyHook(wakes::incrementAndGet);
        wr(Uart16550.FCR, 0x01);
        uart.receive("abc".getBytes(), 0, 3);
        wr(Uart16550.FCR, 0x03);
        assertEquals(0x60, rd(Uart16550.LSR));
        assertTrue(wakes.get() > 0);
        wakes.set(0);
        uart.receive("d".getBytes(), 0, 1);
        rd(Uart16550.RBR);
        assertEquals(1, wakes.get());
    }

    @Test
    void characterTimeoutInterrupt() throws Exception {
        wr(Uart16550.LCR, 0x80);
        wr(Uart16550.DLL, 1);      // 115200 baud: timeout about 350 us
        wr(Uart16550.LCR, 0x03);
        wr(Uart16550.FCR, 0xc1);   // trigger 14
        wr(Uart16550.IER, 0x01);
        uart.receive("hi".getBytes(), 0, 2);
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!irq.level && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(irq.level, "timeout interrupt");
        assertEquals(0xcc, rd(Uart16550.IIR));
        assertEquals('h', rd(Uart16550.RBR));
        assertFalse(irq.level, "reading RBR clears the timeout indication");
        assertEquals('i', rd(Uart16550.RBR));
        uart.close();
    }

    @Test
    void loopbackEchoesAndMapsModemLines() {
        wr(Uart16550.MCR, 0x10 | 0x0f);
        assertEquals(0xf0, rd(Uart16550.MSR));
        wr(Uart16550.MCR, 0x10 | 0x01);
        assertEquals(0x20, rd(Uart16550.MSR));
        assertEquals(0, uart.canReceive(), "host input waits during loopback");
        wr(Uart16550.THR, 'L');
        assertEquals(0, chr.out.size());
        assertEquals(0x61, rd(Uart16550.LSR));
        assertEquals('L', rd(Uart16550.RBR));
        AtomicBoolean woke = new AtomicBoolean();
        uart.setInputReadyHook(() -> woke.set(true));
        wr(Uart16550.MCR, 0x08);
        assertTrue(woke.get());
        assertEquals(1, uart.canReceive());
    }

    @Test
    void writesToReadOnlyRegistersIgnored() {
        wr(Uart16550.LSR, 0x00);
        wr(Uart16550.MSR, 0x00);
        assertEquals(0x60, rd(Uart16550.LSR));
        assertEquals(0xb0, rd(Uart16550.MSR));
    }

    @Test
    void noChardevDiscardsOutput() {
        Uart16550 u = new Uart16550(Uart16550.COM2_BASE, null, null);
        u.write(0, 1, 'x');
        assertEquals(0x60, u.read(Uart16550.LSR, 1));
        u.close();
    }

    @Test
    void resetRestoresPowerOnState() {
        wr(Uart16550.IER, 0x0f);
        wr(Uart16550.LCR, 0x1b);
        wr(Uart16550.SCR, 0x42);
        uart.reset();
        assertEquals(0, rd(Uart16550.IER));
        assertEquals(0, rd(Uart16550.LCR));
        assertEquals(0, rd(Uart16550.SCR));
        assertFalse(irq.level);
    }
}
