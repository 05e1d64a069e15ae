package dev.jvmm.devices.isa;

import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmallPortsTest {
    @Test
    void port92ResetsOnRisingEdgeOnly() {
        AtomicInteger resets = new AtomicInteger();
        Port92 p = new Port92(resets::incrementAndGet);
        PioBus bus = new PioBus();
        p.attach(bus);
        assertEquals(0, bus.read(0x92, 1));
        bus.write(0x92, 1, 0x02);
        assertTrue(p.a20());
        assertEquals(0x02, bus.read(0x92, 1));
        bus.write(0x92, 1, 0x03);
        assertEquals(1, resets.get());
        bus.write(0x92, 1, 0x03);
        assertEquals(1, resets.get(), "no edge, no reset");
        p.reset();
        assertEquals(0x02, bus.read(0x92, 1));
        bus.write(0x92, 1, 0x01);
        assertEquals(2, resets.get());
        assertFalse(p.a20());
    }

    @Test
    void debugExitStatusAndDefaults() {
        List<Integer> exits = new ArrayList<>();
        IsaDebugExit d = new IsaDebugExit(exits::add);
        assertEquals(0x501, d.iobase());
        assertEquals(2, d.iosize());
        PioBus bus = new PioBus();
        IsaDebugExit f4 = new IsaDebugExit(0xf4, 4, exits::add);
        f4.attach(bus);
        assertTrue(bus.isAssigned(0xf7));
        assertFalse(bus.isAssigned(0xf8));
        assertEquals(0, bus.read(0xf4, 1));
        assertEquals(0, bus.read(0xf4, 4));
        bus.write(0xf4, 4, 0x10);
        bus.write(0xf4, 1, 0);
        bus.write(0xf4, 1, 0x1ff);     // only the access size counts
        assertEquals(List.of(0x21, 1, 0x1ff), exits);
        assertThrows(IllegalArgumentException.class, () -> new IsaDebugExit(0xffff, 4, exits::add));
    }

    @Test
    void postCodePortReadsOnesAndSwallowsWrites() {
        PostCodePort p = new PostCodePort();
        PioBus bus = new PioBus();
        p.attach(bus);
        bus.write(0x80, 1, 0x42);
        assertEquals(0x42, p.lastCode());
        assertEquals(0xff, bus.read(0x80, 1));
        assertEquals(0xffffffffL, bus.read(0x80, 4));
        assertFalse(bus.isAssigned(0xed));
    }
}
