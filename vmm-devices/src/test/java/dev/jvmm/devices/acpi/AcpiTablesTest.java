package dev.jvmm.devices.acpi;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AcpiTablesTest {
    private static final List<AcpiIsaDevice> ISA = List.of(AcpiIsaDevice.rtc(), AcpiIsaDevice.serial(0, 0x3f8, 4),
            AcpiIsaDevice.serial(1, 0x2f8, 3), AcpiIsaDevice.floppyController(), AcpiIsaDevice.i8042(),
            AcpiIsaDevice.pvpanic(0x505));
    private static final AcpiConfig CFG = AcpiConfig.pc(2, 128L << 20, ISA);

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void assertTable(byte[] t, String sig, int revision) {
        assertEquals(sig, new String(t, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(t.length, le(t).getInt(4));
        assertEquals(revision, t[8]);
        assertEquals(0, AcpiTables.sum(t, 0, t.length), sig + " checksum");
        assertEquals("BOCHS ", new String(t, 10, 6, StandardCharsets.US_ASCII));
    }

    @Test
    void rsdpRevisionZeroChecksum() {
        byte[] r = AcpiTables.rsdp(0xf1234);
        assertEquals(20, r.length);
        assertEquals("RSD PTR ", new String(r, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(0, AcpiTables.sum(r, 0, 20));
        assertEquals(0, r[15]);
        assertEquals(0xf1234, le(r).getInt(16));
    }

    @Test
    void rsdtListsTables() {
        byte[] t = AcpiTables.rsdt(List.of(0xf0100L, 0xf0200L));
        assertTable(t, "RSDT", 1);
        assertEquals(44, t.length);
        assertEquals(0xf0100, le(t).getInt(36));
        assertEquals(0xf0200, le(t).getInt(40));
    }

    @Test
    void fadtFieldsMatchQemuPc() {
        byte[] t = AcpiTables.fadt(CFG, 0xf0000, 0xf0040);
        assertTable(t, "FACP", 1);
        assertEquals(116, t.length);
        ByteBuffer b = le(t);
        assertEquals(0xf0000, b.getInt(36));
        assertEquals(0xf0040, b.getInt(40));
        assertEquals(1, b.get(44));
        assertEquals(9, b.getShort(46));
        assertEquals(0xb2, b.getInt(48));
        assertEquals((byte) 0xf1, b.get(52));
        assertEquals((byte) 0xf0, b.get(53));
        assertEquals(0x600, b.getInt(56));
        assertEquals(0x604, b.getInt(64));
        assertEquals(0x608, b.getInt(76));
        assertEquals(0xafe0, b.getInt(80));
        assertEquals(4, b.get(88));
        assertEquals(2, b.get(89));
        assertEquals(4, b.get(91));
        assertEquals(4, b.get(92));
        assertEquals(0xfff, b.getShort(96));
        assertEquals(0xfff, b.getShort(98));
        assertEquals(0x32, b.get(108));
        assertEquals(0x80a5, b.getInt(112));
    }

    @Test
    void fadtWithoutSmiAndManyCpus() {
        AcpiConfig cfg = new AcpiConfig(java.util.stream.IntStream.range(0, 9).boxed().toList(),
                AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0x600, false, 0, false, 0, 0);
        ByteBuffer b = le(AcpiTables.fadt(cfg, 0, 0));
        assertEquals(0, b.getInt(48));
        assertEquals(0, b.get(52));
        assertTrue((b.getInt(112) & AcpiTables.FORCE_APIC_CLUSTER_MODEL) != 0);
    }

    @Test
    void facsIsSixtyFourBytes() {
        byte[] f = AcpiTables.facs();
        assertEquals(64, f.length);
        assertEquals("FACS", new String(f, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(64, le(f).getInt(4));
        assertEquals(0, le(f).getInt(12));
    }

    @Test
    void madtEntries() {
        AcpiConfig cfg = new AcpiConfig(List.of(0, 1, 3), AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0x600, true,
                2, true, 0, 0);
        byte[] t = AcpiTables.madt(cfg);
        assertTable(t, "APIC", 1);
        ByteBuffer b = le(t);
        assertEquals(0xfee00000, b.getInt(36));
        assertEquals(1, b.getInt(40));
        int p = 44;
        for (int i = 0; i < 3; i++) {
            assertEquals(0, t[p]);
            assertEquals(8, t[p + 1]);
            assertEquals(i, t[p + 2]);
            assertEquals(List.of(0, 1, 3).get(i), (int) t[p + 3]);
            assertEquals(1, b.getInt(p + 4));
            p += 8;
        }
        assertEquals(1, t[p]);
        assertEquals(12, t[p + 1]);
        assertEquals(0, t[p + 2]);
        assertEquals(0xfec00000, b.getInt(p + 4));
        assertEquals(0, b.getInt(p + 8));
        p += 12;
        int[][] iso = {{0, 2, 0}, {5, 5, 0xd}, {9, 9, 0xd}, {10, 10, 0xd}, {11, 11, 0xd}};
        for (int[] e : iso) {
            assertEquals(2, t[p]);
            assertEquals(10, t[p + 1]);
            assertEquals(0, t[p + 2]);
            assertEquals(e[0], t[p + 3]);
            assertEquals(e[1], b.getInt(p + 4));
            assertEquals(e[2], b.getShort(p + 8));
            p += 10;
        }
        assertEquals(4, t[p]);
        assertEquals(6, t[p + 1]);
        assertEquals((byte) 0xff, t[p + 2]);
        assertEquals(0, b.getShort(p + 3));
        assertEquals(1, t[p + 5]);
        assertEquals(t.length, p + 6);
    }

    @Test
    void dsdtHeaderAndChecksum() {
        byte[] t = AcpiTables.dsdt(CFG);
        assertTable(t, "DSDT", 1);
    }

    @Test
    void prtFollowsTheSwizzle() {
        assertEquals(10, CFG.slotPinIrq(1, 0));
        assertEquals(11, CFG.slotPinIrq(1, 2));
        AcpiConfig distinct = new AcpiConfig(List.of(0), List.of(5, 9, 10, 11), List.of(), 0x600, true, 2, true,
                0, 0);
        assertEquals(5, distinct.slotPinIrq(1, 0));
        assertEquals(9, distinct.slotPinIrq(2, 0));
        assertEquals(11, distinct.slotPinIrq(1, 3));
        assertEquals(5, distinct.slotPinIrq(4, 1));
        assertEquals(10, distinct.slotPinIrq(31, 0));
    }

    @Test
    void badConfigIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AcpiConfig(List.of(), AcpiConfig.SEABIOS_PIRQ_IRQS,
                List.of(), 0x600, true, 2, true, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AcpiConfig(List.of(0), List.of(10, 10),
                List.of(), 0x600, true, 2, true, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AcpiConfig(List.of(0), AcpiConfig.SEABIOS_PIRQ_IRQS,
                List.of(), 0x601, true, 2, true, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AcpiConfig(List.of(255),
                AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0x600, true, 2, true, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AcpiIsaDevice("com1", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> CFG.withPossibleApicIds(List.of(1, 0)));
        assertThrows(IllegalArgumentException.class, () -> new AcpiConfig(List.of(0), AcpiConfig.SEABIOS_PIRQ_IRQS,
                List.of(), 0x600, true, 2, true, 0, 0, false, List.of(0), 0x80000000L, 0x100000000L));
    }

    @Test
    void installPutsTablesInTheBiosArea() {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 2 << 20)))) {
            AcpiLayout l = AcpiTables.install(mem, CFG);
            assertTrue(l.rsdp() >= 0xe0000 && l.end() <= 0x100000);
            assertEquals(0, l.rsdp() % 16);
            assertEquals(0, l.facs() % 64);
            // A BIOS-area scan on 16-byte boundaries finds the RSDP, with a valid checksum.
            long found = -1;
            for (long a = 0xe0000; a < 0x100000; a += 16) {
                byte[] sig = new byte[8];
                mem.read(a, sig, 0, 8);
                if (new String(sig, StandardCharsets.US_ASCII).equals("RSD PTR ")) {
                    found = a;
                    break;
                }
            }
            assertEquals(l.rsdp(), found);
            byte[] rsdp = read(mem, l.rsdp(), 20);
            assertEquals(0, AcpiTables.sum(rsdp, 0, 20));
            long rsdtAddr = le(rsdp).getInt(16) & 0xffffffffL;
            assertEquals(l.rsdt(), rsdtAddr);
            byte[] rsdt = readTable(mem, rsdtAddr);
            assertTable(rsdt, "RSDT", 1);
            byte[] fadt = readTable(mem, le(rsdt).getInt(36));
            assertTable(fadt, "FACP", 1);
            assertTable(readTable(mem, le(rsdt).getInt(40)), "APIC", 1);
            assertTable(readTable(mem, le(rsdt).getInt(44)), "WAET", 1);
            assertEquals(l.facs(), le(fadt).getInt(36));
            byte[] facs = read(mem, l.facs(), 64);
            assertEquals("FACS", new String(facs, 0, 4, StandardCharsets.US_ASCII));
            assertTable(readTable(mem, le(fadt).getInt(40)), "DSDT", 1);
        }
    }

    @Test
    void installRefusesRangesThatDoNotFit() {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 2 << 20)))) {
            assertThrows(IllegalArgumentException.class, () -> AcpiTables.install(mem, CFG, 0xfff00, 0x100000));
            assertThrows(IllegalArgumentException.class, () -> AcpiTables.install(mem, CFG, 0x1fff00, 0x300000));
        }
    }

    private static byte[] read(GuestMemory mem, long a, int n) {
        byte[] r = new byte[n];
        mem.read(a, r, 0, n);
        return r;
    }

    private static byte[] readTable(GuestMemory mem, long a) {
        int len = mem.readInt(a + 4);
        return read(mem, a, len);
    }

    // ---- iasl

    private static boolean iaslPresent() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, "iasl"))) {
                return true;
            }
        }
        return false;
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    private static String disassemble(Path dir, String name, byte[] table) throws Exception {
        Files.write(dir.resolve(name + ".dat"), table);
        String out = run(dir, "iasl", "-d", name + ".dat");
        assertFalse(out.contains("Error") || out.contains("error(s)") && !out.contains("0 Error"), out);
        return Files.readString(dir.resolve(name + ".dsl"));
    }

    @Test
    void iaslDisassemblesEveryTable(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(iaslPresent(), "iasl (acpica-tools) is not installed");
        String fadt = disassemble(dir, "facp", AcpiTables.fadt(CFG, 0xf0000, 0xf0040));
        assertTrue(fadt.contains("SCI Interrupt : 0009"), fadt);
        assertTrue(fadt.contains("PM1A Event Block Address : 00000600"), fadt);
        String madt = disassemble(dir, "apic", AcpiTables.madt(CFG));
        assertTrue(madt.contains("Local APIC NMI"), madt);
        assertTrue(madt.contains("Interrupt Source Override"), madt);
        disassemble(dir, "rsdt", AcpiTables.rsdt(List.of(0xf0100L, 0xf0200L)));
        disassemble(dir, "facs", AcpiTables.facs());
        for (String s : List.of(fadt, madt)) {
            assertFalse(s.contains("Invalid"), s);
            assertFalse(s.contains("Incorrect checksum"), s);
        }
    }

    @Test
    void iaslDisassemblesAndRecompilesTheDsdt(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(iaslPresent(), "iasl (acpica-tools) is not installed");
        String dsl = disassemble(dir, "dsdt", AcpiTables.dsdt(CFG));
        assertTrue(dsl.contains("Device (PCI0)"), dsl);
        assertTrue(dsl.contains("EisaId (\"PNP0A03\")"), dsl);
        assertTrue(dsl.contains("EisaId (\"PNP0501\")"), dsl);
        assertTrue(dsl.contains("\"QEMU0001\""), dsl);
        assertTrue(dsl.contains("IO (Decode16,"), dsl);
        assertTrue(dsl.contains("IRQNoFlags ()"), dsl);
        assertTrue(dsl.contains("Name (_S5, Package"), dsl);
        assertTrue(dsl.contains("Device (FDC0)"), dsl);
        assertTrue(dsl.contains("Processor (C001, 0x01"), dsl);
        assertTrue(dsl.contains("WordBusNumber"), dsl);
        // Recompile the disassembly: the AML must round-trip through the compiler without errors.
        String out = run(dir, "iasl", "-p", "recompiled", "dsdt.dsl");
        assertTrue(out.contains("0 Errors"), out);
        assertTrue(Files.size(dir.resolve("recompiled.aml")) > 36);
    }
}
