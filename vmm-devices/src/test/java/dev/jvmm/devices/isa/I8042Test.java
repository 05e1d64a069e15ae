package dev.jvmm.devices.isa;

import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class I8042Test {
    final AtomicInteger resets = new AtomicInteger();
    final Uart16550Test.Line kbdIrq = new Uart16550Test.Line();
    final I8042 kbc = new I8042(resets::incrementAndGet, kbdIrq, null);
    final PioBus bus = new PioBus();

    {
        kbc.attach(bus);
    }

    int status() {
        return (int) bus.read(0x64, 1);
    }

    int data() {
        return (int) bus.read(0x60, 1);
    }

    void cmd(int c) {
        bus.write(0x64, 1, c);
    }

    void out(int d) {
        bus.write(0x60, 1, d);
    }

    @Test
    void portsAreExactly60And64() {
        assertTrue(bus.isAssigned(0x60));
        assertTrue(bus.isAssigned(0x64));
        assertFalse(bus.isAssigned(0x61));
        assertFalse(bus.isAssigned(0x62));
    }

    @Test
    void statusAfterPowerOn() {
        assertEquals(0x18, status());
    }

    @Test
    void selfTestAndInterfaceTest() {
        cmd(0xaa);
        assertEquals(0x01, status() & 0x01);
        assertEquals(0x04, status() & 0x04, "system flag set by self test");
        assertEquals(0x55, data());
        assertEquals(0, status() & 0x01);
        cmd(0xab);
        assertEquals(0x00, data());
    }

    @Test
    void commandByteReadWrite() {
        cmd(0x20);
        assertEquals(0x03, data());
        cmd(0x60);
        out(0x45);
        cmd(0x20);
        assertEquals(0x45, data());
        assertEquals(0, resets.get());
    }

    @Test
    void keyboardIrqFollowsOutputBuffer() {
        cmd(0xab);
        assertTrue(kbdIrq.level);
        data();
        assertFalse(kbdIrq.level);
        cmd(0x60);
        out(0x00);      // interrupts off
        cmd(0xab);
        assertFalse(kbdIrq.level);
    }

    @Test
    void outputPortReadAndResetViaWrite() {
        cmd(0xd0);
        assertEquals(0xcf, data());
        cmd(0xd1);
        out(0xcf);     // bit 0 set: no reset
        assertEquals(0, resets.get());
        cmd(0xd1);
        out(0xce);
        assertEquals(1, resets.get());
    }

    @Test
    void pulseCommands() {
        cmd(0xff);     // bit 0 set: no pulse of reset
        cmd(0xfd);
        assertEquals(0, resets.get());
        cmd(0xfe);
        assertEquals(1, resets.get());
        cmd(0xf0);
        assertEquals(2, resets.get());
    }

    @Test
    void a20Commands() {
        cmd(0xdd);     // HP Vectra-style A20 commands: 0xdd disables, 0xdf enables
        assertFalse(kbc.a20());
        cmd(0xdf);
        assertTrue(kbc.a20());
    }

    @Test
    void unexpectedCommandsAreIgnored() {
        for (int c = 0; c < 0xf0; c++) {
            if (c == 0x60 || c == 0xd1 || c == 0xd2 || c == 0xd3 || c == 0xd4) {
                continue;
            }
            cmd(c);
        }
        // drain whatever the probes queued; nothing may have reset
        for (int i = 0; i < 32; i++) {
            data();
        }
        assertEquals(0, resets.get());
        assertEquals(0, status() & 0x01);
        // reading with an empty buffer repeats the last byte and does not fail
        data();
        bus.read(0x60, 4);
        bus.write(0x64, 4, 0x12345678);
    }

    @Test
    void keyboardProbes() {
        out(0xff);
        assertEquals(0xfa, data());
        assertEquals(0xaa, data());
        out(0xf2);
        assertEquals(0xfa, data());
        assertEquals(0xab, data());
        assertEquals(0x83, data());
        out(0xed);
        assertEquals(0xfa, data());
        out(0x07);
        assertEquals(0xfa, data());
        out(0xee);
        assertEquals(0xee, data());
        out(0x42);     // not a keyboard command
        assertEquals(0xfe, data());
    }

    @Test
    void writeOutputBufferCommands() {
        cmd(0xd2);
        out(0x99);
        assertEquals(0x01, status() & 0x21);
        assertEquals(0x99, data());
        cmd(0xd3);
        out(0x77);
        assertEquals(0x21, status() & 0x21);
        assertEquals(0x77, data());
    }

    @Test
    void queueOverflowDropsWithoutError() {
        for (int i = 0; i < 100; i++) {
            cmd(0xaa);
        }
        int n = 0;
        while ((status() & 1) != 0) {
            assertEquals(0x55, data());
            n++;
        }
        assertTrue(n > 0 && n <= 16);
    }
}
