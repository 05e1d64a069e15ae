package dev.jvmm.devices.acpi;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The memory hotplug block at 0x0a00 against QEMU 7.2's (qtest, -m 128M,slots=3,maxmem=1G with a 64 MiB
 * DIMM cold-plugged in slot 1): every offset and width for an empty slot, the DIMM's slot and one past the
 * last slot, reserved offsets, _OST writes, event clearing, an eject of the empty slot (nothing happens) and
 * finally the eject of the DIMM, after which its slot reads empty.
 */
class QemuMemoryHotplugComparisonTest {
    private static List<String> script() {
        List<String> s = new ArrayList<>();
        for (String sel : List.of("0x0", "0x1", "0x2", "0x5")) {
            s.add("outl 0xa00 " + sel);
            for (int off = 0; off < 0x18; off += 4) {
                s.add(String.format("inl 0x%x", 0xa00 + off));
            }
            s.addAll(List.of("inb 0xa14", "inb 0xa15", "inw 0xa16", "inb 0xa01", "inw 0xa02", "inb 0xa04",
                    "inw 0xa0a", "inb 0xa10", "inl 0xa18"));
        }
        s.addAll(List.of("outl 0xa00 0x1", "outl 0xa04 0x1", "outl 0xa08 0x0", "outb 0xa14 0x2", "inb 0xa14",
                "outb 0xa14 0x4", "inb 0xa14", "outb 0xa14 0x1", "inb 0xa14", "outl 0xa0c 0x55", "inl 0xa0c",
                "outl 0xa00 0x0", "outb 0xa14 0x8", "inb 0xa14", "outl 0xa00 0x7", "outb 0xa14 0x8",
                "outl 0xa04 0x3", "outl 0xa08 0x1", "outl 0xa00 0xffffffff", "inl 0xa08",
                "outl 0xa00 0x1", "outb 0xa14 0x6", "inb 0xa14", "outb 0xa14 0x8", "inb 0xa14", "inl 0xa00",
                "inl 0xa08", "outl 0xa04 0x103", "outl 0xa08 0x0"));
        return s;
    }

    @Test
    void portsMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128M,slots=3,maxmem=1G", "-object",
                "memory-backend-ram,id=m1,size=64M", "-device", "pc-dimm,id=d1,memdev=m1,slot=1")) {
            qemu = q.runPortScript(script());
        }
        PioBus bus = new PioBus();
        EventBus events = new EventBus();
        List<AcpiOstInfo> osts = new ArrayList<>();
        events.subscribe((e, micros) -> {
            if (e instanceof VmEvent.AcpiDeviceOst o) {
                osts.add(o.info());
            }
        });
        AtomicInteger gpes = new AtomicInteger();
        MemoryHotplugRegisters regs = new MemoryHotplugRegisters(3, events, Runnable::run, gpes::incrementAndGet)
                .attach(bus);
        regs.setEjectHandler(regs::unplugged);
        regs.plug(1, new MemoryHotplugRegisters.Dimm("d1", 0x100000000L, 64L << 20, 0), false);
        List<String> ours = new ArrayList<>();
        Qtest.runPortScript(bus, script(), ours);
        assertEquals(qemu, ours);
        assertEquals(0, gpes.get(), "a cold-plugged DIMM raises no GPE");
        assertEquals(List.of(new AcpiOstInfo("d1", "1", "DIMM", 1, 0), new AcpiOstInfo(null, "1", "DIMM", 0x103, 0)),
                osts, "one ACPI_DEVICE_OST per status write to a valid slot");
    }

    @Test
    void hotplugAndUnplugRequestRaiseGpe3AndSetTheirFlags() {
        PioBus bus = new PioBus();
        AtomicInteger gpes = new AtomicInteger();
        MemoryHotplugRegisters regs = new MemoryHotplugRegisters(2, new EventBus(), Runnable::run,
                gpes::incrementAndGet).attach(bus);
        regs.plug(0, new MemoryHotplugRegisters.Dimm("d1", 0x100000000L, 128L << 20, 0), true);
        bus.write(0xa00, 4, 0);
        assertEquals(3, bus.read(0xa14, 1), "enabled and inserting");
        regs.requestUnplug(0);
        assertEquals(7, bus.read(0xa14, 1), "enabled, inserting, removing");
        assertEquals(2, gpes.get());
        bus.write(0xa14, 1, 2);
        bus.write(0xa14, 1, 4);
        assertEquals(1, bus.read(0xa14, 1));
        assertEquals(List.of(new AcpiOstInfo("d1", "0", "DIMM", 0, 0), new AcpiOstInfo(null, "1", "DIMM", 0, 0)),
                regs.ospmStatus());
    }
}
