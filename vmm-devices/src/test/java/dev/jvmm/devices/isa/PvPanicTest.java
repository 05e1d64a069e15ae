package dev.jvmm.devices.isa;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    PioBus bus() {
        PioBus bus = new PioBus();
        new PvPanic(listener).attach(bus);
        return bus;
    }

    @Test
    void readsSupportedEvents() {
        PioBus bus = bus();
        assertEquals(3, bus.read(0x505, 1));
        assertEquals(0x0303, bus.read(0x505, 2), "QEMU splits wide reads into byte reads");
    }

    @Test
    void writesReportEvents() {
        PioBus bus = bus();
        bus.write(0x505, 1, 2);
        bus.write(0x505, 1, 1);
        bus.write(0x505, 1, 3);
        assertEquals(List.of("crashloaded", "panicked", "panicked"), events, "bit 0 wins when both are set");
    }

    @Test
    void unknownBitsAndZeroAreIgnored() {
        PioBus bus = bus();
        bus.write(0x505, 1, 0xfc);
        bus.write(0x505, 1, 0);
        assertEquals(List.of(), events);
        bus.write(0x505, 2, 0x0102);
        assertEquals(List.of("crashloaded", "panicked"), events, "wide writes: byte by byte, low first");
    }

    @Test
    void propertiesMoveThePortAndChangeTheEvents() {
        try (TestBoard board = new TestBoard()) {
            board.add("pvpanic,ioport=0x520,events=1,id=p0");
            assertEquals(1, board.pio.read(0x520, 1));
            assertEquals(0xff, board.pio.read(0x505, 1) & 0xff, "nothing at the default port");
            QomNode node = board.node("/machine/peripheral/p0");
            assertEquals(0x520L, assertDoesNotThrow(() -> node.get("ioport")));
            assertEquals(List.of(AcpiIsaDevice.pvpanic(0x520)), board.acpi, "described to ACPI at its port");
        }
        try (TestBoard board = new TestBoard()) {
            board.add("pvpanic,ioport=1280");
            assertEquals(3, board.pio.read(1280, 1));
        }
    }

    /** GUEST_CRASHLOADED goes out at once; a panic goes to the machine's panic action (GUEST_PANICKED). */
    @Test
    void reportsReachTheMachine() throws Exception {
        try (TestBoard board = new TestBoard()) {
            board.add("pvpanic");
            board.pio.write(0x505, 1, 2);
            assertEquals(List.of(new VmEvent.GuestCrashloaded("run")), board.published);
            board.pio.write(0x505, 1, 1);
            board.lifecycle.drainMainLoop();
            assertTrue(board.published.stream().anyMatch(e -> e instanceof VmEvent.GuestPanicked),
                    board.published.toString());
        }
    }

    @Test
    void refusalsAsQemu() {
        try (TestBoard board = new TestBoard()) {
            assertEquals("Parameter 'ioport' expects uint16_t", board.refusal("pvpanic,ioport=0x10000"));
            assertEquals("Parameter 'events' expects uint8_t", board.refusal("pvpanic,events=256"));
            assertEquals("Parameter 'events' expects integer", board.refusal("pvpanic,events=x"));
            assertEquals("Property 'pvpanic.foo' not found", board.refusal("pvpanic,foo=1"));
            assertEquals("Property 'pvpanic.pvpanic[0]' is not writable", board.refusal("pvpanic,pvpanic[0]=x"));
            assertEquals("Device 'pvpanic' can't go on PCI bus", board.refusal("pvpanic,bus=pci.0"));
            board.add("pvpanic");
            assertEquals("duplicate fw_cfg file name: etc/pvpanic-port", board.refusal("pvpanic,ioport=0x520"));
        }
    }

    @Test
    void noListenerIsHarmless() {
        PioBus bus = new PioBus();
        new PvPanic(null).attach(bus);
        bus.write(0x505, 1, 1);
        assertEquals(3, bus.read(0x505, 1));
    }

}
