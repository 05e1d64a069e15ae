package dev.jvmm.devices.acpi;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU hotplug block's events (docs/specs/acpi_cpu_hotplug.rst): the expected values are what QEMU 7.2
 * answered to the same accesses under qtest with -smp 1,maxcpus=4 and QMP device_add/device_del of
 * "qemu64-x86_64-cpu" (socket-id 0, core-id 2, thread-id 0, id c2) in between, which the qtest comparison
 * cannot drive; the guest-side path runs end to end in CpuHotplugSideBySideTest.
 */
class CpuHotplugEventsTest {
    private final PioBus bus = new PioBus();
    private final List<AcpiOstInfo> reports = new ArrayList<>();
    private final List<Integer> ejects = new ArrayList<>();
    private int gpes;
    private CpuHotplugRegisters regs;

    @BeforeEach
    void setUp() {
        regs = new CpuHotplugRegisters(List.of(0, 1, 2, 3), 1).attach(bus);
        regs.connect(() -> gpes++, ejects::add, reports::add);
    }

    private long in(int port, int size) {
        return bus.read(port, size);
    }

    private void out(int port, int size, long v) {
        bus.write(port, size, v);
    }

    private void ost(int event, int status) {
        out(0xaf05, 1, 1);
        out(0xaf08, 4, event);
        out(0xaf05, 1, 2);
        out(0xaf08, 4, status);
    }

    @Test
    void insertRemoveAndEjectAsQemu() {
        assertEquals(List.of(), regs.ospmStatus(), "no CPU slots before the modern layout");
        out(0xaf00, 4, 0);
        assertEquals(List.of(new AcpiOstInfo(null, "0", "CPU", 0, 0), new AcpiOstInfo(null, "1", "CPU", 0, 0),
                new AcpiOstInfo(null, "2", "CPU", 0, 0), new AcpiOstInfo(null, "3", "CPU", 0, 0)), regs.ospmStatus());
        regs.plug(2, "c2", true);
        assertEquals(1, gpes);
        out(0xaf05, 1, 0);
        assertEquals(3, in(0xaf04, 1));
        assertEquals(2, in(0xaf08, 4));
        out(0xaf00, 4, 1);
        out(0xaf05, 1, 0);
        assertEquals(2, in(0xaf08, 4), "the scan selects the CPU with the event");
        assertEquals(3, in(0xaf04, 1));
        out(0xaf05, 1, 3);
        assertEquals(2, in(0xaf08, 4), "APIC id");
        assertEquals(0, in(0xaf00, 4), "APIC id high half");
        ost(1, 0);
        assertEquals(List.of(new AcpiOstInfo("c2", "2", "CPU", 1, 0)), reports);
        out(0xaf04, 1, 2);
        assertEquals(1, in(0xaf04, 1));
        out(0xaf05, 1, 0);
        assertEquals(2, in(0xaf08, 4), "no event left: the selector stays");

        assertTrue(regs.requestUnplug(2));
        assertEquals(2, gpes);
        out(0xaf00, 4, 0);
        out(0xaf05, 1, 0);
        assertEquals(2, in(0xaf08, 4));
        assertEquals(5, in(0xaf04, 1));
        ost(3, 1);
        out(0xaf04, 1, 4);
        assertEquals(1, in(0xaf04, 1));
        assertEquals(new AcpiOstInfo("c2", "2", "CPU", 3, 1), regs.ospmStatus().get(2));
        out(0xaf04, 1, 8);
        assertEquals(List.of(2), ejects);
        regs.unplugged(2);
        assertEquals(0, in(0xaf04, 1));
        assertEquals(new AcpiOstInfo(null, "2", "CPU", 3, 1), regs.ospmStatus().get(2));
        out(0xaf00, 4, 0);
        out(0xaf04, 1, 8);
        assertEquals(List.of(2), ejects, "the boot CPU is never ejected");
    }

    @Test
    void scanWrapsAround() {
        out(0xaf00, 4, 0);
        regs.plug(1, null, true);
        regs.plug(3, null, true);
        out(0xaf00, 4, 2);
        out(0xaf05, 1, 0);
        assertEquals(3, in(0xaf08, 4));
        out(0xaf04, 1, 2);
        out(0xaf05, 1, 0);
        assertEquals(1, in(0xaf08, 4), "past the last slot the scan goes on from the first");
    }

    @Test
    void oneEventClearedPerWriteInsertFirst() {
        out(0xaf00, 4, 0);
        regs.plug(1, "c1", true);
        assertTrue(regs.requestUnplug(1));
        out(0xaf00, 4, 1);
        assertEquals(7, in(0xaf04, 1));
        out(0xaf04, 1, 0xe);
        assertEquals(5, in(0xaf04, 1), "insert cleared, remove kept, no eject");
        assertEquals(List.of(), ejects);
    }

    @Test
    void outOfRangeSelectorIgnoresWrites() {
        out(0xaf00, 4, 0);
        regs.plug(1, "c1", true);
        out(0xaf00, 4, 9);
        out(0xaf05, 1, 2);
        out(0xaf08, 4, 5);
        out(0xaf04, 1, 8);
        assertEquals(0, in(0xaf04, 1));
        assertEquals(List.of(), reports);
        assertEquals(List.of(), ejects);
    }

    @Test
    void legacyLayoutShowsPlugsButRefusesUnplug() {
        regs.plug(1, "c1", true);
        assertEquals(1, gpes);
        assertEquals(0b11, in(0xaf00, 1));
        assertFalse(regs.requestUnplug(1));
        assertEquals(1, gpes);
        regs.plug(3, "c3", false);
        assertEquals(0b1011, in(0xaf00, 1));
        assertEquals(1, gpes, "a cold plug raises no GPE");
    }
}
