package dev.jvmm.devices.acpi;

import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Reads QEMU 7.2's own ACPI tables for `-machine pc -smp 2` out of fw_cfg (etc/acpi/tables, through the
 * qtest protocol at ports 0x510/0x511, before SeaBIOS ran) and compares the FACS, FADT and MADT byte for
 * byte with ours. QEMU's blob is not yet patched by the BIOS loader, so table pointers are blob offsets
 * (FACS at 0, DSDT at 0x40), the PM base is still 0 and checksums are 0: ours are built with the same
 * values and the checksum byte is left out. With the HPET (QEMU's default) the HPET table and the DSDT's
 * Scope(_SB) { Device(HPET) } must match too, and the RSDT must list FACP APIC HPET WAET; with -machine
 * hpet=off neither exists, as in ours.
 */
class QemuAcpiTablesComparisonTest {
    private static final int FW_CFG_FILE_DIR = 0x19;

    private Qtest qemu;

    /** Reads n bytes from the fw_cfg data port, in batches small enough not to fill the pipes. */
    private byte[] read(int n) throws Exception {
        List<String> values = qemu.commands(Collections.nCopies(n, "inb 0x511"));
        byte[] r = new byte[n];
        for (int i = 0; i < n; i++) {
            r[i] = (byte) Integer.decode(values.get(i)).intValue();
        }
        return r;
    }

    private byte[] fwCfgFile(String name, int maxBytes) throws Exception {
        qemu.command("outw 0x510 0x" + Integer.toHexString(FW_CFG_FILE_DIR));
        int count = ByteBuffer.wrap(read(4)).getInt();
        Map<String, int[]> files = new HashMap<>();
        for (int i = 0; i < count; i++) {
            ByteBuffer e = ByteBuffer.wrap(read(64));
            int size = e.getInt();
            int select = e.getShort() & 0xffff;
            byte[] nm = Arrays.copyOfRange(e.array(), 8, 64);
            int end = 0;
            while (end < nm.length && nm[end] != 0) {
                end++;
            }
            files.put(new String(nm, 0, end, StandardCharsets.US_ASCII), new int[] {size, select});
        }
        int[] f = files.get(name);
        assertTrue(f != null, "fw_cfg has no " + name);
        qemu.command("outw 0x510 0x" + Integer.toHexString(f[1]));
        return read(Math.min(f[0], maxBytes));
    }

    /** The table with this signature in QEMU's blob (FACS has no checksum but a length like the others). */
    private static byte[] find(byte[] blob, String sig) {
        byte[] s = sig.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + 8 <= blob.length; i++) {
            if (Arrays.equals(blob, i, i + 4, s, 0, 4)) {
                int len = ByteBuffer.wrap(blob, i + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                boolean header = len >= 36 && i + 16 <= blob.length
                        && new String(blob, i + 10, 6, StandardCharsets.US_ASCII).equals(AcpiTables.OEM_ID);
                if (header || (sig.equals("FACS") && len == AcpiTables.FACS_LENGTH)) {
                    return Arrays.copyOfRange(blob, i, i + len);
                }
            }
        }
        throw new AssertionError("QEMU's tables have no " + sig);
    }

    private static byte[] withoutChecksum(byte[] t) {
        byte[] c = t.clone();
        c[AcpiTables.HEADER_CHECKSUM] = 0;
        return c;
    }

    @Test
    void facsFadtAndMadtMatchQemuPc() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        byte[] blob;
        try (Qtest started = Qtest.start("-S", "-m", "128", "-smp", "2")) {
            qemu = started;
            blob = fwCfgFile("etc/acpi/tables", 0x2000);
        }
        AcpiConfig cfg = new AcpiConfig(List.of(0, 1), AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0, true, 2, true,
                0, 0);
        assertArrayEquals(find(blob, "FACS"), AcpiTables.facs());
        assertArrayEquals(withoutChecksum(find(blob, "FACP")), withoutChecksum(AcpiTables.fadt(cfg, 0, 0x40)));
        assertArrayEquals(withoutChecksum(find(blob, "APIC")), withoutChecksum(AcpiTables.madt(cfg)));
    }

    private byte[] qemuTables(String... args) throws Exception {
        try (Qtest started = Qtest.start(args)) {
            qemu = started;
            return fwCfgFile("etc/acpi/tables", 0x2000);
        }
    }

    /** The signatures of the tables QEMU's RSDT lists (its entries are blob offsets before the BIOS ran). */
    private static List<String> rsdtOrder(byte[] blob) {
        byte[] rsdt = find(blob, "RSDT");
        List<String> sigs = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(rsdt).order(ByteOrder.LITTLE_ENDIAN);
        for (int off = 36; off + 4 <= rsdt.length; off += 4) {
            int at = b.getInt(off);
            sigs.add(new String(blob, at, 4, StandardCharsets.US_ASCII));
        }
        return sigs;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void hpetTableAndDsdtDeviceMatchQemuPc() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        byte[] blob = qemuTables("-S", "-m", "128", "-smp", "2");
        assertArrayEquals(withoutChecksum(find(blob, "HPET")), withoutChecksum(HpetAcpi.table()));
        assertEquals(List.of("FACP", "APIC", "HPET", "WAET"), rsdtOrder(blob));
        byte[] scope = HpetAcpi.dsdtScope();
        byte[] dsdt = find(blob, "DSDT");
        assertTrue(indexOf(dsdt, scope) > 0, "QEMU's DSDT has no Scope(_SB) { Device(HPET) } like ours");
        AcpiConfig cfg = new AcpiConfig(List.of(0, 1), AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0, true, 2, true,
                0, 0);
        byte[] ours = AcpiTables.dsdt(cfg.withHpet(true));
        int pci0 = indexOf(ours, "PCI0".getBytes(StandardCharsets.US_ASCII));
        int hpet = indexOf(ours, scope);
        assertTrue(pci0 > 0 && hpet > pci0, "ours puts the HPET after \\_SB.PCI0, as QEMU does");
        assertEquals(-1, indexOf(AcpiTables.dsdt(cfg), scope));
    }

    @Test
    void noHpetTablesWithHpetOff() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        byte[] blob = qemuTables("-S", "-m", "128", "-smp", "2", "-machine", "hpet=off");
        assertEquals(List.of("FACP", "APIC", "WAET"), rsdtOrder(blob));
        assertEquals(-1, indexOf(find(blob, "DSDT"), "HPET".getBytes(StandardCharsets.US_ASCII)));
        AcpiConfig cfg = new AcpiConfig(List.of(0, 1), AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0, true, 2, true,
                0, 0);
        assertEquals(-1, indexOf(AcpiTables.dsdt(cfg), "HPET".getBytes(StandardCharsets.US_ASCII)));
        // Without the HPET, the other tables are the same as with it.
        assertArrayEquals(withoutChecksum(find(blob, "FACP")), withoutChecksum(AcpiTables.fadt(cfg, 0, 0x40)));
        assertArrayEquals(withoutChecksum(find(blob, "APIC")), withoutChecksum(AcpiTables.madt(cfg)));
    }
}
