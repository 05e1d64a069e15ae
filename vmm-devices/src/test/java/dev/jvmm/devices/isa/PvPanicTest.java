package dev.jvmm.devices.isa;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Register behaviour checked against QEMU 7.2 (qtest: inb 0x505 = 3, inw = 0x0303 pattern, events). */
class PvPanicTest {
    final List<String> events = new ArrayList<>();
    final PvPanic.PanicListener listener = new PvPanic.PanicListener() {
        @Override
        public void panicked() {
            events.add("panicked");
        }

        @Override
        public void crashLoaded() {
            events.add("crashloaded");
        }
    };

    PioBus bus(PvPanicOptions options) {
        PioBus bus = new PioBus();
        new PvPanic(options, listener).attach(bus);
        return bus;
    }

    @Test
    void readsSupportedEvents() {
        PioBus bus = bus(PvPanicOptions.DEFAULT);
        assertEquals(3, bus.read(0x505, 1));
        assertEquals(0x0303, bus.read(0x505, 2), "QEMU splits wide reads into byte reads");
    }

    @Test
    void writesReportEvents() {
        PioBus bus = bus(PvPanicOptions.DEFAULT);
        bus.write(0x505, 1, 2);
        bus.write(0x505, 1, 1);
        bus.write(0x505, 1, 3);
        assertEquals(List.of("crashloaded", "panicked", "panicked"), events, "bit 0 wins when both are set");
    }

    @Test
    void unknownBitsAndZeroAreIgnored() {
        PioBus bus = bus(PvPanicOptions.DEFAULT);
        bus.write(0x505, 1, 0xfc);
        bus.write(0x505, 1, 0);
        assertEquals(List.of(), events);
        bus.write(0x505, 2, 0x0102);
        assertEquals(List.of("crashloaded", "panicked"), events, "wide writes: byte by byte, low first");
    }

    @Test
    void optionsMoveThePortAndChangeTheEvents() {
        PvPanicOptions o = PvPanicOptions.parse("pvpanic,ioport=0x520,events=1,id=p0");
        assertEquals(new PvPanicOptions(0x520, 1), o);
        PioBus bus = bus(o);
        assertEquals(1, bus.read(0x520, 1));
        assertEquals(0xff, bus.read(0x505, 1) & 0xff, "nothing at the default port");
        bus.write(0x520, 1, 2);
        assertEquals(List.of("crashloaded"), events, "QEMU 7.2 does not filter writes by events");
        assertEquals(new PvPanicOptions(1280, 3), PvPanicOptions.parse("pvpanic,ioport=1280"));
        assertEquals(PvPanicOptions.DEFAULT, PvPanicOptions.parse("pvpanic"));
    }

    @Test
    void optionErrorsAsQemu() {
        assertEquals("-device pvpanic,ioport=0x10000: Parameter 'ioport' expects uint16_t", error("pvpanic,ioport=0x10000"));
        assertEquals("-device pvpanic,events=256: Parameter 'events' expects uint8_t", error("pvpanic,events=256"));
        assertEquals("-device pvpanic,events=x: Parameter 'events' expects integer", error("pvpanic,events=x"));
        assertEquals("-device pvpanic,foo=1: Property 'pvpanic.foo' not found", error("pvpanic,foo=1"));
    }

    @Test
    void noListenerIsHarmless() {
        PioBus bus = new PioBus();
        new PvPanic(null, null).attach(bus);
        bus.write(0x505, 1, 1);
        assertEquals(3, bus.read(0x505, 1));
    }

    static String error(String text) {
        return assertThrows(OptionException.class, () -> PvPanicOptions.parse(text)).formatted();
    }
}
