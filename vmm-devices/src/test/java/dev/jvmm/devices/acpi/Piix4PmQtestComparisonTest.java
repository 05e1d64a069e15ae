package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same port script against QEMU 7.2's piix4-pm (qtest, CPU stopped, so only device models answer and
 * the virtual clock stands still) and against {@link Piix4Pm} on a PioBus with a stand-in for the 0xcf8/0xcfc
 * configuration mechanism: every value read and every SCI (GSI 9) edge must match. PM timer values are
 * left out (QEMU's clock is stopped, ours runs); TMR_STS is in, since both set it at reset.
 */
class Piix4PmQtestComparisonTest {
    /** CONFIG_ADDRESS for bus 0, device 1, function 3. */
    static final int CFG = 0x80000b00;

    static String cfg(int reg) {
        return "outl 0xcf8 0x" + Integer.toHexString(CFG | reg);
    }

    static List<String> script() {
        List<String> s = new ArrayList<>();
        for (int reg : new int[] {0x00, 0x04, 0x08, 0x0c, 0x2c, 0x3c, 0x40, 0x58, 0x80, 0x90}) {
            s.add(cfg(reg));
            s.add("inl 0xcfc");
        }
        s.addAll(List.of(cfg(0x40), "outl 0xcfc 0x601", "inl 0xcfc", cfg(0x40), "outl 0xcfc 0x600", "inl 0xcfc",
                cfg(0x80), "outb 0xcfc 0x1", "inb 0xcfc",
                // PM1a event block, control, reserved and unassigned offsets
                "inw 0x600", "inw 0x602", "inw 0x604", "inw 0x606", "inl 0x60c", "inb 0x63f", "inl 0x604",
                "inl 0x610",
                "outw 0x602 0x0521", "inw 0x602", "outb 0x603 0x1", "inw 0x602", "inb 0x603", "inb 0x602",
                "outb 0x602 0x21", "inw 0x602", "inw 0x601", "inl 0x600",
                // TMR_STS is set from reset: enabling TMR_EN raises the SCI, clearing the status lowers it
                "outw 0x602 0x0000", "outw 0x602 0x0001", "inw 0x600", "outw 0x600 0x0001", "inw 0x600",
                "outl 0x600 0x01000000", "inl 0x600", "outw 0x602 0x0000",
                // PM1 control: SLP_EN reads 0, reserved SLP_TYP ignored, byte writes
                "outw 0x604 0xfc01", "inw 0x604", "outw 0x604 0x3c00", "inw 0x604", "outb 0x605 0x20", "inw 0x604",
                "inb 0x605", "inb 0x604", "outw 0x604 0x0000",
                // APM: ACPI enable/disable
                "outb 0xb2 0xf1", "inw 0x604", "inb 0xb2", "outb 0xb3 0x5a", "inb 0xb3", "inw 0xb2",
                "outb 0xb2 0x12", "inw 0x604", "outb 0xb2 0xf0", "inw 0x604",
                // GPE0
                "inl 0xafe0", "outb 0xafe2 0xff", "inl 0xafe0", "inb 0xafe4", "outw 0xafe0 0xffff", "inl 0xafe0",
                "outw 0xafe2 0x0000", "inl 0xafe0",
                // moving and disabling the PM block
                cfg(0x40), "outl 0xcfc 0xb000", "inw 0xb004", "inw 0x604", "inw 0xb000",
                cfg(0x80), "outb 0xcfc 0x0", "inw 0xb004", "inw 0x604",
                cfg(0x80), "outb 0xcfc 0x1", "inw 0xb002"));
        return s;
    }

    static List<String> runQemu(List<String> script) throws Exception {
        try (Qtest qemu = Qtest.start("-S", "-m", "128")) {
            qemu.command("irq_intercept_in ioapic");
            return qemu.runPortScript(script);
        }
    }

    static List<String> runOurs(List<String> script) {
        List<String> events = new ArrayList<>();
        PioBus bus = new PioBus();
        Piix4Pm pm = new Piix4Pm(high -> events.add("IRQ " + (high ? "raise " : "lower ") + Piix4Pm.SCI_IRQ),
                SleepRequest.NONE, System::nanoTime, null, false, Piix4Pm.DEFAULT_S4_VAL);
        pm.attach(bus);
        int[] address = {0};
        bus.register(0xcf8, 4, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return address[0] & 0xffffffffL;
            }

            @Override
            public void write(long offset, int size, long value) {
                address[0] = (int) value;
            }
        });
        bus.register(0xcfc, 4, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return pm.readConfig((address[0] & 0xfc) + (int) offset, size) & 0xffffffffL;
            }

            @Override
            public void write(long offset, int size, long value) {
                pm.writeConfig((address[0] & 0xfc) + (int) offset, size, (int) value);
            }
        });
        Qtest.runPortScript(bus, script, events);
        return events;
    }

    @Test
    void pmRegistersMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not installed");
        List<String> script = script();
        List<String> qemu = runQemu(script);
        List<String> ours = runOurs(script);
        assertEquals(String.join("\n", qemu), String.join("\n", ours));
    }
}
