package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CPU hotplug block at 0xaf00 against QEMU 7.2's (qtest, -smp 2,maxcpus=4): the legacy bitmap, the
 * switch to the modern layout, presence flags, commands, out-of-range selectors and what lies past the block;
 * and with a CPU cold-plugged by -device into slot 2, its presence in both layouts and its eject. The block
 * only reports an eject; the machine's handler (PcCpuHotplug) removes the CPU, which these register-level
 * runs stand in for. Hot plug events need QMP, which CpuHotplugEventsTest and CpuHotplugSideBySideTest cover.
 */
class QemuCpuHotplugComparisonTest {
    private static List<String> script() {
        return List.of("inb 0xaf00", "inb 0xaf01", "inl 0xaf00", "inb 0xaf1f", "inb 0xaf20", "outb 0xaf01 0x0",
                "inb 0xaf00", "outl 0xaf00 0x0", "inb 0xaf00", "inl 0xaf00", "inb 0xaf04", "inl 0xaf04",
                "inb 0xaf05", "inl 0xaf08", "inb 0xaf0c", "inb 0xaf1f", "outl 0xaf00 0x1", "inb 0xaf04",
                "inw 0xaf04", "outl 0xaf00 0x2", "inb 0xaf04", "inl 0xaf04", "outl 0xaf00 0x9", "inb 0xaf04",
                "outb 0xaf05 0x0", "inl 0xaf08", "inw 0xaf08", "outb 0xaf05 0x3", "inl 0xaf08", "inl 0xaf00",
                "outl 0xaf00 0x3", "inl 0xaf08", "outb 0xaf05 0x3", "inl 0xaf08", "inb 0xaf09", "outb 0xaf05 0x7",
                "inl 0xaf08", "outb 0xaf05 0x1", "inl 0xaf08", "outl 0xaf08 0x5", "outb 0xaf05 0x0", "inl 0xaf08",
                "outl 0xaf00 0x0", "inb 0xaf04", "inl 0xaf08", "outb 0xaf04 0x8", "inb 0xaf04", "outb 0xaf04 0x2",
                "inb 0xaf04");
    }

    @Test
    void portsMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128", "-smp", "2,maxcpus=4")) {
            qemu = q.runPortScript(script());
        }
        PioBus bus = new PioBus();
        CpuHotplugRegisters regs = new CpuHotplugRegisters(List.of(0, 1, 2, 3), 2).attach(bus);
        List<String> ours = new ArrayList<>();
        assertFalse(regs.modern());
        Qtest.runPortScript(bus, script(), ours);
        assertTrue(regs.modern());
        assertEquals(qemu, ours);
    }

    private static List<String> coldPlugScript() {
        return List.of("inb 0xaf00", "outl 0xaf00 0x0", "outl 0xaf00 0x0", "inb 0xaf04", "outl 0xaf00 0x1",
                "inb 0xaf04", "outl 0xaf00 0x2", "inb 0xaf04", "outb 0xaf05 0x3", "inl 0xaf08", "outb 0xaf05 0x0",
                "inl 0xaf08", "inb 0xaf04", "outb 0xaf05 0x1", "outl 0xaf08 0x3", "outb 0xaf05 0x2",
                "outl 0xaf08 0x80", "outb 0xaf04 0x8", "inb 0xaf04", "outl 0xaf00 0x0", "outb 0xaf05 0x0",
                "inl 0xaf08", "outl 0xaf00 0x2", "inb 0xaf04", "outb 0xaf04 0x8", "inb 0xaf04");
    }

    @Test
    void coldPluggedCpuAndItsEjectMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128", "-smp", "1,maxcpus=4", "-device",
                "qemu64-x86_64-cpu,socket-id=0,core-id=2,thread-id=0")) {
            qemu = q.runPortScript(coldPlugScript());
        }
        PioBus bus = new PioBus();
        CpuHotplugRegisters regs = new CpuHotplugRegisters(List.of(0, 1, 2, 3), 1).attach(bus);
        regs.plug(2, null, false);
        List<Integer> ejected = new ArrayList<>();
        // the machine's handler: a -device CPU goes when the guest ejects it
        regs.connect(() -> { }, slot -> {
            ejected.add(slot);
            regs.unplugged(slot);
        }, info -> { });
        List<String> ours = new ArrayList<>();
        Qtest.runPortScript(bus, coldPlugScript(), ours);
        assertEquals(qemu, ours);
        assertEquals(List.of(2), ejected);
    }

    /** Without a handler connected the eject is only reported: the CPU stays until the machine removes it. */
    @Test
    void ejectAloneKeepsTheCpu() {
        PioBus bus = new PioBus();
        new CpuHotplugRegisters(List.of(0, 1), 2).attach(bus);
        bus.write(0xaf00, 4, 0);
        bus.write(0xaf00, 4, 1);
        bus.write(0xaf04, 1, 0x8);
        assertEquals(1, bus.read(0xaf04, 1));
    }
}
