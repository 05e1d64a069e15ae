package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The PCI hotplug block at 0xae00 against QEMU 7.2's (qtest, -nodefaults: no hotplugged device). */
class QemuPciHotplugComparisonTest {
    private static List<String> script() {
        return List.of("inl 0xae00", "inl 0xae04", "inl 0xae08", "inl 0xae0c", "inl 0xae10", "inl 0xae14",
                "inb 0xae00", "inb 0xae0d", "inw 0xae0e", "inb 0xae17", "inb 0xae18", "inw 0xae10",
                "outl 0xae10 0x1", "inl 0xae10", "inl 0xae0c", "outl 0xae10 0x0", "outl 0xae14 0x4", "inl 0xae14",
                "inl 0xae10", "outl 0xae10 0x5", "inl 0xae10", "inl 0xae00", "outb 0xae11 0x1", "inl 0xae10",
                "outl 0xae10 0x100", "inl 0xae0c", "outl 0xae10 0xff", "inl 0xae0c", "outw 0xae10 0x0",
                "inb 0xae11", "outl 0xae10 0x0", "outl 0xae08 0x4", "inl 0xae08", "inl 0xae0c", "inb 0xae01",
                "inb 0xae0c", "inw 0xae0c", "inl 0xae0d", "outl 0xae10 0x1000", "inl 0xae10", "inl 0xae0c",
                "outl 0xae10 0x100", "inl 0xae10", "outw 0xae10 0x2", "inl 0xae10", "outl 0xae10 0x0");
    }

    @Test
    void portsMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128")) {
            qemu = q.runPortScript(script());
        }
        PioBus bus = new PioBus();
        new PciHotplugRegisters().attach(bus);
        List<String> ours = new ArrayList<>();
        Qtest.runPortScript(bus, script(), ours);
        assertEquals(qemu, ours);
    }
}
