package dev.jvmm.devices.acpi;

import dev.jvmm.devices.fwcfg.BiosLinkerLoader;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The three fw_cfg files QEMU 7.2's acpi_build (hw/i386/acpi-build.c) hands the firmware for the pc
 * machine: "etc/acpi/tables" (FACS, DSDT, FADT, then the other RSDT tables, then the RSDT, back to back
 * with pointer fields holding offsets into the blob and checksums zero; padded with zeros to
 * {@link #ACPI_BUILD_TABLE_SIZE}), "etc/acpi/rsdp" (the 20-byte revision 0 RSDP) and "etc/table-loader"
 * (the commands that place and fix them up; padded to {@link #ACPI_BUILD_ALIGN_SIZE}).
 *
 * @param tables the content of {@link #TABLE_FILE}
 * @param rsdp   the content of {@link #RSDP_FILE}
 * @param loader the content of {@link BiosLinkerLoader#LOADER_FILE}
 */
public record AcpiFirmwareFiles(byte[] tables, byte[] rsdp, byte[] loader) {
    public static final String TABLE_FILE = "etc/acpi/tables";
    public static final String RSDP_FILE = "etc/acpi/rsdp";
    /** The tables blob is padded to 128 KiB so its size stays the same across migrations. */
    public static final int ACPI_BUILD_TABLE_SIZE = 0x20000;
    public static final int ACPI_BUILD_ALIGN_SIZE = 0x1000;
    /** The FACS needs 64-byte alignment and sits first, so the whole blob is allocated 64-aligned. */
    public static final int TABLES_ALIGN = 64;
    public static final int RSDP_ALIGN = 16;

    /**
     * Lays the tables out as acpi_build does and records the loader commands in QEMU's order.
     *
     * @param dsdt   the DSDT (its checksum is cleared here)
     * @param fadt   the FADT built with FIRMWARE_CTRL 0 (the FACS offset) and DSDT {@link AcpiTables#FACS_LENGTH}
     * @param others the tables after the FADT in RSDT order (MADT, [HPET], WAET on pc)
     */
    public static AcpiFirmwareFiles build(byte[] dsdt, byte[] fadt, List<byte[]> others) {
        List<byte[]> order = new ArrayList<>();
        order.add(AcpiTables.facs());
        order.add(dsdt);
        order.add(fadt);
        order.addAll(others);
        int dsdtOffset = AcpiTables.FACS_LENGTH;
        List<Long> rsdtEntries = new ArrayList<>();
        int offset = 0;
        for (int i = 0; i < order.size(); i++) {
            // the FACS and the DSDT are reached through the FADT, not the RSDT
            if (i >= 2) {
                rsdtEntries.add((long) offset);
            }
            offset += order.get(i).length;
        }
        int rsdtOffset = offset;
        order.add(AcpiTables.rsdt(rsdtEntries));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        order.forEach(out::writeBytes);
        byte[] tables = Arrays.copyOf(out.toByteArray(), align(out.size(), ACPI_BUILD_TABLE_SIZE));
        byte[] rsdp = AcpiTables.rsdp(rsdtOffset);

        BiosLinkerLoader linker = new BiosLinkerLoader();
        linker.allocate(TABLE_FILE, tables, TABLES_ALIGN, false);
        checksum(linker, dsdtOffset, dsdt.length);
        int fadtOffset = dsdtOffset + dsdt.length;
        linker.addPointer(TABLE_FILE, fadtOffset + AcpiTables.FADT_FIRMWARE_CTRL, 4, TABLE_FILE, 0);
        linker.addPointer(TABLE_FILE, fadtOffset + AcpiTables.FADT_DSDT, 4, TABLE_FILE, dsdtOffset);
        int at = fadtOffset;
        for (int i = 2; i < order.size() - 1; i++) {
            checksum(linker, at, order.get(i).length);
            at += order.get(i).length;
        }
        for (int i = 0; i < rsdtEntries.size(); i++) {
            linker.addPointer(TABLE_FILE, rsdtOffset + AcpiTables.HEADER_LENGTH + 4 * i, 4, TABLE_FILE,
                    (int) (long) rsdtEntries.get(i));
        }
        checksum(linker, rsdtOffset, AcpiTables.HEADER_LENGTH + 4 * rsdtEntries.size());
        linker.allocate(RSDP_FILE, rsdp, RSDP_ALIGN, true);
        linker.addPointer(RSDP_FILE, AcpiTables.RSDP_RSDT_ADDRESS, 4, TABLE_FILE, rsdtOffset);
        linker.addChecksum(RSDP_FILE, 0, AcpiTables.RSDP_LENGTH, AcpiTables.RSDP_CHECKSUM);
        byte[] commands = linker.commands();
        return new AcpiFirmwareFiles(tables, rsdp, Arrays.copyOf(commands, align(commands.length,
                ACPI_BUILD_ALIGN_SIZE)));
    }

    private static void checksum(BiosLinkerLoader linker, int start, int length) {
        linker.addChecksum(TABLE_FILE, start, length, start + AcpiTables.HEADER_CHECKSUM);
    }

    private static int align(int v, int a) {
        return (v + a - 1) / a * a;
    }
}
