package dev.jvmm.devices.isa;

import dev.jvmm.core.chardev.NullChardev;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the same port script against QEMU 7.2 (through its qtest protocol, CPU stopped, so only device
 * models answer) and against our devices on a PioBus, and compares every value read. Time-of-day CMOS
 * registers are left out since the two clocks are read at different instants, and the UART receive
 * interrupt stays masked while data sits in its FIFO: QEMU's character timeout runs on the virtual clock,
 * stopped here, ours on the host clock.
 */
class QemuQtestComparisonTest {
    static List<String> script() {
        List<String> s = new ArrayList<>();
        // UART: every register in several modes
        for (int reg = 0; reg < 8; reg++) {
            s.add("inb 0x" + Integer.toHexString(0x3f8 + reg));
        }
        String[][] seq = {
            {"outb 0x3fb 0x80", "inb 0x3f8", "inb 0x3f9", "outb 0x3f8 0x01", "outb 0x3f9 0x00", "inb 0x3f8",
                "inb 0x3f9", "inb 0x3fa", "outb 0x3fb 0x03", "inb 0x3fb", "inb 0x3f9"},
            {"outb 0x3fa 0x01", "inb 0x3fa", "outb 0x3fa 0x41", "inb 0x3fa", "outb 0x3fa 0x81", "inb 0x3fa",
                "outb 0x3fa 0xc7", "inb 0x3fa", "inb 0x3fd"},
            {"outb 0x3f9 0x02", "inb 0x3fa", "inb 0x3fa", "outb 0x3f8 0x41", "inb 0x3fa", "inb 0x3fa",
                "outb 0x3f9 0x00", "inb 0x3fa", "outb 0x3f9 0x0f", "inb 0x3f9", "inb 0x3fa", "inb 0x3fa"},
            {"outb 0x3fc 0x1f", "inb 0x3fc", "inb 0x3fe", "outb 0x3fc 0x11", "inb 0x3fe", "outb 0x3fc 0x12",
                "inb 0x3fe", "outb 0x3fc 0x14", "inb 0x3fe", "outb 0x3fc 0x18", "inb 0x3fe"},
            {"outb 0x3f9 0x02", "outb 0x3fc 0x10", "outb 0x3f8 0x5a", "inb 0x3fd", "inb 0x3fa", "inb 0x3f8", "inb 0x3fd",
                "outb 0x3f8 0x01", "outb 0x3f8 0x02", "inb 0x3fd", "inb 0x3fd", "inb 0x3f8", "inb 0x3f8",
                "inb 0x3fd"},
            {"outb 0x3fa 0x00", "inb 0x3fa", "outb 0x3f8 0x33", "outb 0x3f8 0x34", "inb 0x3fd", "inb 0x3fd",
                "inb 0x3f8", "inb 0x3fd", "outb 0x3fc 0x08", "inb 0x3fc"},
            {"outb 0x3ff 0xa5", "inb 0x3ff", "outb 0x3fd 0x00", "inb 0x3fd", "outb 0x3fe 0x00", "inb 0x3fe",
                "outb 0x3fb 0xff", "inb 0x3fb", "inb 0x3f8", "outb 0x3fb 0x00", "inw 0x3f8", "inl 0x3fc"},
            // i8042
            {"inb 0x64", "outb 0x64 0x20", "inb 0x64", "inb 0x60", "inb 0x64", "outb 0x64 0xaa", "inb 0x64",
                "inb 0x60", "outb 0x64 0xab", "inb 0x60", "outb 0x64 0xd0", "inb 0x60", "outb 0x64 0x60",
                "outb 0x60 0x45", "outb 0x64 0x20", "inb 0x60", "outb 0x64 0xd1", "outb 0x60 0xcf",
                "outb 0x64 0xd0", "inb 0x60", "outb 0x64 0xdf", "outb 0x64 0xd0", "inb 0x60",
                "outb 0x64 0xdd", "outb 0x64 0xd0", "inb 0x60", "outb 0x64 0xd2", "outb 0x60 0x99",
                "inb 0x64", "inb 0x60", "inb 0x64", "inb 0x60", "outb 0x64 0xc0", "inb 0x60",
                "outb 0x64 0xa9", "inb 0x60", "outb 0x64 0x12", "inb 0x64", "outb 0x64 0xff", "inb 0x64"},
            // port 92, 0x80, debug exit, an unassigned delay port
            {"inb 0x92", "outb 0x92 0x02", "inb 0x92", "inb 0x80", "inw 0x80", "inl 0x80", "outb 0x80 0x12",
                "inb 0x80", "inb 0x501", "inw 0x501", "inb 0xed"},
            // CMOS status registers and index behaviour
            {"inb 0x70", "outb 0x70 0x0a", "inb 0x71", "outb 0x70 0x0b", "inb 0x71", "outb 0x70 0x0c",
                "inb 0x71", "outb 0x70 0x0d", "inb 0x71", "outb 0x70 0x8d", "inb 0x71", "outb 0x70 0x7e",
                "outb 0x71 0x42", "inb 0x71", "outb 0x70 0xfe", "inb 0x71", "outb 0x70 0x0d", "outb 0x71 0x00",
                "inb 0x71", "outb 0x70 0x0a", "outb 0x71 0xa6", "inb 0x71"},
        };
        for (String[] part : seq) {
            s.addAll(List.of(part));
        }
        for (int i = 0x0e; i < 0x80; i++) {   // all NVRAM bytes, time registers excluded
            s.add("outb 0x70 0x" + Integer.toHexString(i));
            s.add("inb 0x71");
        }
        // the PS/2 keyboard behind the controller
        for (String c : new String[] {"0xff", "0xf2", "0xee", "0xed", "0x02", "0xf0", "0x00", "0xf0", "0x02",
            "0xf3", "0x20", "0xf4", "0xf5", "0xf6", "0x42", "0xe6"}) {
            s.add("outb 0x60 " + c);
            for (int i = 0; i < 3; i++) {
                s.add("inb 0x64");
                s.add("inb 0x60");
            }
        }
        return s;
    }

    /** Values read (hex) and IRQ edges ("IRQ raise 4"), in the order they happened. */
    static List<String> runQemu(List<String> script, String... extraArgs) throws Exception {
        List<String> argv = new ArrayList<>(List.of("-S", "-serial", "null", "-m", "512", "-smp", "2",
                "-device", "isa-debug-exit"));
        argv.addAll(List.of(extraArgs));
        try (Qtest qemu = Qtest.start(argv.toArray(String[]::new))) {
            qemu.command("irq_intercept_in ioapic");
            return qemu.runPortScript(script);
        }
    }

    static List<String> runOurs(List<String> script) {
        // The RTC's timer thread adds IRQ edges too.
        List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.function.IntFunction<dev.jvmm.core.irq.IrqLine> gsi = n -> high ->
                events.add("IRQ " + (high ? "raise " : "lower ") + n);
        PioBus bus = new PioBus();
        Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, gsi.apply(4), new NullChardev("serial0"));
        uart.attach(bus);
        new I8042(() -> { }, gsi.apply(1), gsi.apply(12)).attach(bus);
        new Port92(() -> { }).attach(bus);
        new PostCodePort().attach(bus);
        new IsaDebugExit(status -> { }).attach(bus);
        CmosRtc rtc = new CmosRtc(512L << 20, 0, 2, gsi.apply(8));
        rtc.attach(bus);
        Qtest.runPortScript(bus, script, events);
        uart.close();
        rtc.close();
        return new ArrayList<>(events);
    }

    /** The guest sets a date (valid or garbage) in each B mode; the date QEMU then reports must be ours. */
    static List<String> timeScript() {
        List<String> s = new ArrayList<>();
        int[] modes = {0x02, 0x06, 0x00, 0x04};
        int[][] dates = {   // seconds, minutes, hours, day of week, day, month, year, century
            {0x00, 0x34, 0x12, 0x03, 0x27, 0x02, 0x24, 0x20},
            {0x00, 0x59, 0x23, 0x01, 0x31, 0x12, 0x99, 0x19},
            {0x00, 0x00, 0x00, 0x01, 0x29, 0x02, 0x00, 0x20},
            {0x99, 0xaa, 0x3f, 0x09, 0x00, 0x00, 0x00, 0x20},
            {0x00, 0x10, 0x92, 0x02, 0x45, 0x13, 0x50, 0x20},
            {0x00, 0x10, 0x8c, 0x02, 0x15, 0x99, 0x50, 0x20},
            {0xff, 0xc0, 0xff, 0xff, 0x3b, 0x0f, 0x7f, 0x21},
        };
        int[] regs = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};
        for (int mode : modes) {
            for (int[] d : dates) {
                s.add("outb 0x70 0x0b");
                s.add("outb 0x71 0x" + Integer.toHexString(0x80 | mode));
                for (int i = 0; i < regs.length; i++) {
                    s.add("outb 0x70 0x" + Integer.toHexString(regs[i]));
                    s.add("outb 0x71 0x" + Integer.toHexString(d[i]));
                }
                s.add("outb 0x70 0x0b");
                s.add("outb 0x71 0x" + Integer.toHexString(mode));
                for (int i = 1; i < regs.length; i++) {   // seconds may tick between the two runs
                    s.add("outb 0x70 0x" + Integer.toHexString(regs[i]));
                    s.add("inb 0x71");
                }
            }
        }
        return s;
    }

    /**
     * RTC interrupts in real time: margins of 200 ms or more around each expected event, so scheduling
     * jitter does not decide the outcome. Divider reset first so both clocks start in step, half a second
     * before the first update.
     */
    static List<String> rtcInterruptScript() {
        List<String> s = new ArrayList<>();
        java.util.function.BiConsumer<Integer, Integer> set = (r, v) -> {
            s.add("outb 0x70 0x" + Integer.toHexString(r));
            s.add("outb 0x71 0x" + Integer.toHexString(v));
        };
        Runnable readC = () -> {
            s.add("outb 0x70 0xc");
            s.add("inb 0x71");
        };
        set.accept(0x0a, 0x76);            // dividers in reset
        set.accept(0x0b, 0x12);            // UIE
        readC.run();
        s.add("sleep 1200");
        readC.run();                       // nothing while in reset
        set.accept(0x0a, 0x26);            // first update 500 ms later
        s.add("sleep 250");
        readC.run();
        s.add("sleep 500");                // 750 ms: UF, IRQ raised by the timer
        readC.run();
        set.accept(0x0b, 0x02);            // UIE off
        s.add("sleep 1100");
        set.accept(0x0b, 0x12);            // UF already set: raise at once
        readC.run();
        set.accept(0x0b, 0x42);            // PIE at 1024 Hz
        s.add("sleep 30");
        set.accept(0x0b, 0x02);            // PIE off first (no tick can slip in): drops IRQF and the line
        readC.run();
        set.accept(0x01, 0xc0);            // alarm: every second
        set.accept(0x03, 0xc0);
        set.accept(0x05, 0xc0);
        readC.run();
        s.add("sleep 250");                // now ~280 ms past an update
        set.accept(0x0b, 0x22);            // AIE
        s.add("sleep 1000");
        readC.run();
        set.accept(0x0b, 0x82);            // SET: updates stop, interrupts go on
        s.add("sleep 1100");
        readC.run();
        set.accept(0x0b, 0x02);
        set.accept(0x0a, 0x20);            // rate 0 with PIE: nothing
        set.accept(0x0b, 0x42);
        s.add("sleep 50");
        readC.run();
        set.accept(0x0b, 0x02);
        return s;
    }

    @Test
    void rtcInterruptsMatchQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " not installed; skipping the side-by-side comparison");
        compare(rtcInterruptScript());
    }

    /**
     * pvpanic at its default port and at a moved one (one per machine: QEMU refuses a second, whose
     * fw_cfg file "etc/pvpanic-port" would clash). No panic is written: QEMU would shut down.
     */
    @Test
    void pvpanicMatchesQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " not installed; skipping the side-by-side comparison");
        List<String> script = List.of("inb 0x505", "inw 0x505", "inl 0x505", "outb 0x505 0x2", "outb 0x505 0xfc",
                "inb 0x505", "inb 0x520", "inw 0x520", "inb 0x504", "inb 0x506");
        for (String device : List.of("pvpanic", "pvpanic,ioport=0x520,events=1")) {
            List<String> expected = runQemu(script, "-device", device);
            try (TestBoard board = new TestBoard()) {
                board.add(device);
                List<String> actual = new ArrayList<>();
                Qtest.runPortScript(board.pio, script, actual);
                assertEquals(expected, actual, device);
            }
        }
    }

    @Test
    void guestSetTimeMatchesQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " not installed; skipping the side-by-side comparison");
        compare(timeScript());
    }

    @Test
    void portScriptMatchesQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " not installed; skipping the side-by-side comparison");
        compare(script());
    }

    static void compare(List<String> script) throws Exception {
        List<String> expected = runQemu(script);
        List<String> actual = runOurs(script);
        StringBuilder diff = new StringBuilder();
        int n = Math.max(expected.size(), actual.size());
        for (int i = 0; i < n; i++) {
            String e = i < expected.size() ? expected.get(i) : "(nothing)";
            String a = i < actual.size() ? actual.get(i) : "(nothing)";
            if (!e.equals(a)) {
                diff.append(String.format("#%d qemu: %s | jvmm: %s%n", i, e, a));
                if (diff.length() > 2000) {
                    break;
                }
            }
        }
        assertEquals("", diff.toString());
    }
}
