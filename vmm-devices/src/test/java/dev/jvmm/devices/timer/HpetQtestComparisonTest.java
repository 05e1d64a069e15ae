package dev.jvmm.devices.timer;

import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The HPET against QEMU 7.2's, through qtest on the pc machine (intcap 0x4 as QEMU's pc board sets, GSI
 * changes seen by irq_intercept_in ioapic).
 *
 * <p>Register scripts run with -S: QEMU's guest clock stands still there, as ours does while paused, so even
 * the main counter reads the same. Firing runs with the clock going: QEMU without -S on a firmware that is
 * one page of HLT and without its PIT (whose ticks would mix in), waiting long enough for every expiry, and
 * never reading a value that depends on how long it waited. With -S, QEMU's PIT sits behind the HPET's PIT
 * input (its output high after reset), so the rig puts one there too.
 */
class HpetQtestComparisonTest {
    private static final long B = Hpet.HPET_BASE;

    @TempDir
    static Path dir;
    private static Path haltBios;

    @BeforeAll
    static void bios() throws Exception {
        byte[] hlt = new byte[0x10000];
        Arrays.fill(hlt, (byte) 0xf4);
        haltBios = Files.write(dir.resolve("hlt.bin"), hlt);
    }

    private static String a(long off) {
        return "0x" + Long.toHexString(B + off);
    }

    private static void sameAsQemu(boolean running, List<String> script) throws Exception {
        sameAsQemu(running, List.of(), () -> new HpetRig(!running), script);
    }

    /** The script on QEMU started with extra arguments (-global hpet.X=Y) and on the rig made to match. */
    private static void sameAsQemu(boolean running, List<String> extra, java.util.function.Supplier<HpetRig> rigs,
                                   List<String> script) throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        List<String> args = new ArrayList<>(running
                ? List.of("-m", "128", "-machine", "pit=off", "-bios", haltBios.toString())
                : List.of("-S", "-m", "128"));
        args.addAll(extra);
        try (Qtest q = Qtest.start(args.toArray(String[]::new))) {
            q.command("irq_intercept_in ioapic");
            qemu = HpetRig.run(q, script);
        }
        try (HpetRig rig = rigs.get()) {
            if (running) {
                rig.clock.resume();
            }
            assertEquals(String.join("\n", qemu), String.join("\n", rig.run(script)));
        }
    }

    private static List<String> dumpAll() {
        List<String> s = new ArrayList<>();
        for (int off = 0; off < Hpet.HPET_LEN; off += 4) {
            s.add("readl " + a(off));
        }
        return s;
    }

    @Test
    void registersAfterReset() throws Exception {
        List<String> s = dumpAll();
        s.addAll(List.of("readq " + a(0), "readq " + a(0x100), "readq " + a(0x108), "readw " + a(0),
                "readb " + a(1), "readl " + a(2), "readq " + a(4), "readw " + a(0x100)));
        sameAsQemu(false, s);
    }

    /** Every pattern written to every dword, then everything read back; narrow and unaligned writes too. */
    @Test
    void garbageEverywhere() throws Exception {
        List<String> s = new ArrayList<>();
        for (String p : List.of("0xffffffff", "0x0", "0x55555555", "0xaaaaaaaa", "0x7f4e", "0xc1b5", "0x0")) {
            for (int off = 0; off < Hpet.HPET_LEN; off += 4) {
                s.add("writel " + a(off) + " " + p);
            }
            s.addAll(dumpAll());
        }
        s.addAll(List.of("writew " + a(0x10) + " 0x3", "writeb " + a(0x100) + " 0xff", "writel " + a(0x102)
                + " 0xffff", "writeq " + a(0x108) + " 0x123456789abcdef0", "writeq " + a(0xf0) + " 0xfedcba9876543210",
                "writeq " + a(0x104) + " 0xffffffffffffffff"));
        s.addAll(dumpAll());
        sameAsQemu(false, s);
    }

    /** The main counter written while stopped, read while running on a clock that stands still. */
    @Test
    void mainCounter() throws Exception {
        sameAsQemu(false, List.of("writel " + a(0xf0) + " 0x89abcdef", "writel " + a(0xf4) + " 0x1234567",
                "readq " + a(0xf0), "writel " + a(0x10) + " 0x1", "readl " + a(0xf0), "readl " + a(0xf4),
                "writel " + a(0xf0) + " 0x5", "readq " + a(0xf0), "writel " + a(0x10) + " 0x0", "readq " + a(0xf0),
                "writeq " + a(0xf0) + " 0xffffffffffffffff", "writel " + a(0x10) + " 0x1", "readq " + a(0xf0),
                "writel " + a(0x10) + " 0x0", "readq " + a(0xf0)));
    }

    /** Comparator writes in one-shot, periodic, Tn_VAL_SET_CNF and 32-bit mode, halves and switches. */
    @Test
    void comparatorAndPeriod() throws Exception {
        List<String> s = new ArrayList<>();
        int t = 0x120;
        for (String cfg : List.of("0x0", "0x8", "0x48", "0x100", "0x108", "0x148", "0x4c")) {
            s.addAll(List.of("writel " + a(t) + " " + cfg, "writel " + a(t + 8) + " 0xfedcba98",
                    "readq " + a(t), "readq " + a(t + 8), "writel " + a(t + 12) + " 0x87654321",
                    "readq " + a(t), "readq " + a(t + 8), "writel " + a(t) + " 0x148", "readq " + a(t + 8),
                    "writeq " + a(t + 8) + " 0xffffffffffffffff", "readq " + a(t + 8), "readq " + a(t)));
        }
        s.addAll(List.of("writel " + a(0x10) + " 0x1", "writel " + a(t) + " 0x4e", "writel " + a(t + 8) + " 0x0",
                "writel " + a(t + 8) + " 0x10", "readq " + a(t + 8), "readl " + a(0x20)));
        sameAsQemu(false, s);
    }

    /** A one-shot edge pulses its route; a level one raises it and sets its status bit until cleared. */
    @Test
    void oneShotEdgeAndLevel() throws Exception {
        sameAsQemu(true, List.of("writel " + a(0x100) + " 0x404", "writel " + a(0x108) + " 0x1000",
                "writel " + a(0x120) + " 0x406", "writel " + a(0x128) + " 0x2000", "writel " + a(0x10) + " 0x1",
                "sleep 200", "readl " + a(0x20), "writel " + a(0x20) + " 0x1", "readl " + a(0x20),
                "writel " + a(0x20) + " 0x2", "readl " + a(0x20), "writel " + a(0x10) + " 0x0", "readl " + a(0x20)));
    }

    /** Legacy replacement: timer 0 to GSI 0, timer 1 to GSI 8; leaving it gives GSI 8 back to the RTC. */
    @Test
    void legacyReplacementRouting() throws Exception {
        sameAsQemu(true, List.of("writel " + a(0x100) + " 0x404", "writel " + a(0x108) + " 0x1000",
                "writel " + a(0x120) + " 0x406", "writel " + a(0x128) + " 0x2000", "writel " + a(0x10) + " 0x3",
                "sleep 200", "readl " + a(0x20), "readl " + a(0x10), "writel " + a(0x10) + " 0x1",
                "readl " + a(0x20), "writel " + a(0x20) + " 0x3", "readl " + a(0x20)));
    }

    /** A periodic level timer raises once and advances its comparator by whole periods. */
    @Test
    void periodicLevel() throws Exception {
        sameAsQemu(true, List.of("writel " + a(0x100) + " 0x44e", "writel " + a(0x108) + " 0x1000",
                "writel " + a(0x108) + " 0x1000", "writel " + a(0x10) + " 0x1", "sleep 200", "readl " + a(0x20),
                "~readl " + a(0x108), "writel " + a(0x100) + " 0x44a", "readl " + a(0x20)));
    }

    /**
     * A 32-bit one-shot fires at the counter's wrap and again at the match; a past comparator at once. Wrap
     * and match are 10 ms apart, so that a thread preempted on a busy host does not pass both at once.
     */
    @Test
    void wrapAndPastComparator() throws Exception {
        sameAsQemu(true, List.of("writel " + a(0xf0) + " 0xfff00000", "writel " + a(0x100) + " 0x504",
                "writel " + a(0x108) + " 0x100000", "writel " + a(0x120) + " 0x404", "writel " + a(0x128) + " 0x10",
                "writel " + a(0x10) + " 0x1", "sleep 200", "readl " + a(0x20), "~readl " + a(0xf0),
                "writel " + a(0x10) + " 0x0"));
    }

    /** The board's settings through -global: more timers, every IOAPIC input QEMU's q35 allows, FSB capable. */
    @Test
    void globalSettings() throws Exception {
        List<String> s = dumpAll();
        for (int off = 0; off < Hpet.HPET_LEN; off += 4) {
            s.add("writel " + a(off) + " 0xffffffff");
        }
        s.addAll(dumpAll());
        sameAsQemu(false, List.of("-global", "hpet.timers=5", "-global", "hpet.msi=on", "-global",
                "hpet.hpet-intcap=0xff0104"), () -> new HpetRig(true, 5, 0xff0104, true), s);
    }

    /** Tn_FSB_EN_CNF: the expiry writes the route register's message to its address instead of an IRQ. */
    @Test
    void fsbDelivery() throws Exception {
        sameAsQemu(true, List.of("-global", "hpet.msi=on"), () -> new HpetRig(false, 3, Hpet.PC_INT_ROUTE_CAP, true),
                List.of("writel " + a(0x110) + " 0xdeadbeef", "writel " + a(0x114) + " 0x2000",
                        "writel " + a(0x100) + " 0x4404", "writel " + a(0x108) + " 0x1000",
                        "writel " + a(0x10) + " 0x1", "sleep 200", "readl 0x2000", "readl " + a(0x20),
                        "writel " + a(0x10) + " 0x0"));
    }

    /**
     * A periodic timer's comparator after running a while, for each side: a whole number of periods past its
     * start, and within four periods of the counter where it stopped (the values themselves depend on time, and
     * QEMU's timer callback may run a little late on a busy host: 2.03 periods behind has been seen).
     * The low-dword write leaves reset's all-ones high dword, so the comparator starts 2^32 ticks behind and
     * the first expiry catches up by about 65536 periods: QEMU in a loop, ours in one step.
     */
    @Test
    void periodicComparatorAdvancesByWholePeriods() throws Exception {
        List<String> script = List.of("writel " + a(0x100) + " 0x44c", "writel " + a(0x108) + " 0x10000",
                "writel " + a(0x108) + " 0x10000", "writel " + a(0x10) + " 0x1", "sleep 100",
                "writel " + a(0x10) + " 0x0", "readq " + a(0xf0), "readq " + a(0x108));
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemu;
        try (Qtest q = Qtest.start("-m", "128", "-machine", "pit=off", "-bios", haltBios.toString())) {
            q.command("irq_intercept_in ioapic");
            qemu = HpetRig.run(q, script);
        }
        List<String> ours;
        try (HpetRig rig = new HpetRig()) {
            rig.clock.resume();
            ours = rig.run(script);
        }
        for (List<String> side : List.of(qemu, ours)) {
            List<String> reads = side.stream().filter(e -> e.startsWith("readq")).toList();
            long counter = HpetRig.parse(reads.get(0).split(" = ")[1]);
            long cmp = HpetRig.parse(reads.get(1).split(" = ")[1]);
            assertEquals(0, cmp % 0x10000, side.toString());
            assertTrue(cmp > 0x10000 && Math.abs(counter - cmp) < 4 * 0x10000, side.toString());
        }
    }

    /** QEMU's pc board reads hpet-intcap as a byte: 0x100 counts as unset and becomes IRQ 2's 0x4. */
    @Test
    void intcapWithAZeroLowByteIsThePcDefault() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        String caps;
        try (Qtest q = Qtest.start("-S", "-m", "128", "-global", "hpet.hpet-intcap=0x100")) {
            caps = q.command("readl " + a(0x104));
        }
        try (dev.jvmm.devices.model.TestBoard board = new dev.jvmm.devices.model.TestBoard()) {
            Hpet h = dev.jvmm.devices.model.Realized.device(board.model.addUnattached("hpet",
                    java.util.Map.of("hpet-intcap", "0x100")).instance(), Hpet.class);
            assertEquals(HpetRig.parse(caps), h.read(Hpet.TIMER_BLOCK + 4, 4));
            h.close();
        }
    }
}
