package dev.jvmm.devices.pci;

import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs one port script against QEMU 7.2's pc machine (qtest protocol, CPU stopped, no firmware run) and
 * against our i440FX + PIIX3 bus, and compares every value read: the whole config space of 00:00.0 and
 * 00:01.0 before and after all-ones writes, CONFIG_ADDRESS and CONFIG_DATA edge cases, and the RCR.
 * Functions QEMU adds that are not ours (00:01.1 IDE, 00:01.3 PM) are not touched.
 */
class PciQemuQtestComparisonTest {
    static List<String> script() {
        List<String> s = new ArrayList<>();
        int[] devfns = {0, 8};
        for (int devfn : devfns) {
            for (int reg = 0; reg < 256; reg += 4) {
                s.add(String.format("outl 0xcf8 0x%x", 0x8000_0000 | devfn << 8 | reg));
                s.add("inl 0xcfc");
                s.add("inw 0xcfe");
                s.add("inb 0xcfd");
            }
        }
        s.addAll(List.of("outl 0xcf8 0x80000003", "inl 0xcf8", "outb 0xcf8 0x12", "inl 0xcf8", "inb 0xcf8",
                "inw 0xcfa", "outw 0xcf8 0x1234", "inl 0xcf8", "outl 0xcf8 0x80000000", "inb 0xcfd", "inw 0xcfe",
                "inw 0xcfd", "inl 0xcfd", "inl 0xcfe", "outl 0xcf8 0x80000002", "inw 0xcfc", "inl 0xcfc",
                "outl 0xcf8 0x00000000", "inl 0xcfc", "outl 0xcf8 0x80001000", "inl 0xcfc",
                "outl 0xcf8 0x80010000", "inl 0xcfc", "outl 0xcf8 0x800000fe", "inl 0xcfc",
                "outl 0xcf8 0x8000007c", "inl 0xcf8", "inb 0xcf9", "outb 0xcf9 0x02", "inb 0xcf9",
                "outb 0xcf9 0x0b", "inb 0xcf9", "outb 0xcf9 0x00", "inb 0xcf9", "outl 0xcf8 0x7ffffffc",
                "inl 0xcf8", "outl 0xcfc 0x12345678", "outl 0xcf8 0x80000840", "outw 0xcfd 0xbeef", "inl 0xcfc"));
        for (int devfn : devfns) {
            for (int reg = 0; reg < 256; reg += 4) {
                s.add(String.format("outl 0xcf8 0x%x", 0x8000_0000 | devfn << 8 | reg));
                s.add("outl 0xcfc 0xffffffff");
                s.add("inl 0xcfc");
                s.add("outw 0xcfe 0x0000");
                s.add("inl 0xcfc");
            }
        }
        return s;
    }

    static List<Long> runOurs(List<String> script) {
        PciMachineFixture m = new PciMachineFixture();
        List<Long> out = new ArrayList<>();
        for (String line : script) {
            String[] w = line.split(" ");
            int size = Qtest.accessSize(w[0]);
            int port = Integer.decode(w[1]);
            if (w[0].startsWith("in")) {
                long v = m.pio.read(port, size);
                out.add(size == 4 ? v & 0xffff_ffffL : v & ((1L << (8 * size)) - 1));
            } else {
                m.pio.write(port, size, Long.decode(w[2]));
            }
        }
        return out;
    }

    static List<Long> runQemu(List<String> script) throws Exception {
        List<Long> out = new ArrayList<>();
        try (Qtest qemu = Qtest.start("-S", "-m", "128")) {
            List<String> answers = qemu.commands(script);
            for (int i = 0; i < script.size(); i++) {
                if (script.get(i).startsWith("in")) {
                    out.add(Long.decode(answers.get(i)));
                }
            }
        }
        return out;
    }

    @Test
    void configSpaceMatchesQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        List<String> script = script();
        List<Long> qemu = runQemu(script);
        List<Long> ours = runOurs(script);
        assertEquals(qemu.size(), ours.size());
        int read = 0;
        for (String line : script) {
            if (line.startsWith("in")) {
                long q = qemu.get(read);
                long o = ours.get(read);
                if (q != o) {
                    // name the failing step with its preceding CONFIG_ADDRESS write
                    assertEquals(String.format("0x%x", q), String.format("0x%x", o),
                            "read #" + read + " (" + line + ") after " + lastAddress(script, line, read));
                }
                read++;
            }
        }
    }

    /**
     * QEMU with its CPU running SeaBIOS (TCG) against our firmware-less set-up: once SeaBIOS has programmed
     * the PIRQ routes, both config spaces must read the same as ours after applyFirmwareState,
     * programFirmwareRoutes and assignResources.
     */
    @Test
    void firmwareStateMatchesQemuAfterSeaBios() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        List<Long> qemu = new ArrayList<>();
        try (Qtest q = Qtest.start("-m", "128")) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            boolean done = false;
            while (!done && System.nanoTime() < deadline) {
                // SeaBIOS sets the PIRQ routes early in PCI set-up and COMMAND at its end
                List<String> a = q.commands(List.of("outl 0xcf8 0x80000804", "inl 0xcfc", "outl 0xcf8 0x80000860",
                        "inl 0xcfc"));
                long cmd = Long.decode(a.get(1));
                long routes = Long.decode(a.get(3));
                done = cmd == 0x02000103L && routes == 0x0b0b0a0aL;
                if (!done) {
                    Thread.sleep(200);
                }
            }
            assumeTrue(done, "SeaBIOS did not finish PCI set-up in QEMU within 20 s");
            Thread.sleep(500);
            List<String> reads = new ArrayList<>();
            for (int devfn : new int[] {0, 8}) {
                for (int reg = 0; reg < 256; reg += 4) {
                    reads.add(String.format("outl 0xcf8 0x%x", 0x8000_0000 | devfn << 8 | reg));
                    reads.add("inl 0xcfc");
                }
            }
            List<String> answers = q.commands(reads);
            for (int i = 1; i < answers.size(); i += 2) {
                qemu.add(Long.decode(answers.get(i)));
            }
        }
        PciMachineFixture m = new PciMachineFixture();
        m.i440fx.applyFirmwareState();
        m.piix3.programFirmwareRoutes();
        m.bus.assignResources();
        int i = 0;
        for (int slot = 0; slot < 2; slot++) {
            for (int reg = 0; reg < 256; reg += 4) {
                assertEquals(String.format("0x%08x", qemu.get(i++)),
                        String.format("0x%08x", m.read(slot, 0, reg, 4)),
                        String.format("00:%02x.0 register 0x%02x", slot, reg));
            }
        }
    }

    private static String lastAddress(List<String> script, String line, int readIndex) {
        int n = -1;
        String addr = "";
        for (String s : script) {
            if (s.startsWith("outl 0xcf8")) {
                addr = s;
            }
            if (s.startsWith("in") && ++n == readIndex) {
                return addr;
            }
        }
        return addr;
    }
}
