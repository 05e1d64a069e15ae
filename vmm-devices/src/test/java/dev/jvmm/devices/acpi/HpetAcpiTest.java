package dev.jvmm.devices.acpi;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HpetAcpiTest {
    private static final AcpiConfig CFG = AcpiConfig.pc(2, 128L << 20, List.of());

    private static List<String> rsdtSignatures(GuestMemory mem, AcpiLayout l) {
        int len = mem.readInt(l.rsdt() + 4);
        List<String> sigs = new ArrayList<>();
        for (int off = 36; off < len; off += 4) {
            long at = mem.readInt(l.rsdt() + off) & 0xffffffffL;
            byte[] sig = new byte[4];
            mem.read(at, sig, 0, 4);
            int tableLen = mem.readInt(at + 4);
            byte[] table = new byte[tableLen];
            mem.read(at, table, 0, tableLen);
            assertEquals(0, AcpiTables.sum(table, 0, tableLen), "checksum of the table at 0x" + Long.toHexString(at));
            sigs.add(new String(sig, StandardCharsets.US_ASCII));
        }
        return sigs;
    }

    @Test
    void tableLayout() {
        byte[] t = HpetAcpi.table();
        ByteBuffer b = ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(56, t.length);
        assertEquals(56, b.getInt(4));
        assertEquals(0x8086a201, b.getInt(36));
        assertEquals(0xfed00000L, b.getLong(44));
        assertEquals(0, AcpiTables.sum(t, 0, t.length));
    }

    @Test
    void installListsTheHpetBetweenMadtAndWaetOnlyWhenPresent() {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 2 << 20)))) {
            assertEquals(List.of("FACP", "APIC", "WAET"), rsdtSignatures(mem, AcpiTables.install(mem, CFG)));
            assertEquals(List.of("FACP", "APIC", "HPET", "WAET"),
                    rsdtSignatures(mem, AcpiTables.install(mem, CFG.withHpet(true))));
        }
    }

    @Test
    void dsdtHasTheDeviceOnlyWithTheHpet() {
        byte[] with = AcpiTables.dsdt(CFG.withHpet(true));
        byte[] without = AcpiTables.dsdt(CFG);
        assertEquals(without.length + HpetAcpi.dsdtScope().length, with.length);
        assertFalse(new String(with, StandardCharsets.ISO_8859_1).contains("PNP0103"),
                "_HID is a compressed EISA id, not a string");
        assertTrue(new String(with, StandardCharsets.ISO_8859_1).contains("HPTM"));
        assertEquals(0, AcpiTables.sum(with, 0, with.length));
    }
}
