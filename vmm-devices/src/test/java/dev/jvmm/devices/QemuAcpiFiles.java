package dev.jvmm.devices;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU 7.2's ACPI fw_cfg files for a pc command line, read over qtest before any firmware ran (-S): the
 * directory, then etc/acpi/tables, etc/acpi/rsdp and etc/table-loader through the DMA interface (an
 * FWCfgDmaAccess written into guest RAM, the transfer started at 0x514/0x518). QEMU builds the tables when
 * the file is first selected, so they describe the machine before the BIOS programmed it: PIIX4 PM's base is
 * 0, no PCI BAR is placed, and the blob's checksums are 0.
 *
 * @param tables etc/acpi/tables
 * @param rsdp   etc/acpi/rsdp
 * @param loader etc/table-loader
 */
public record QemuAcpiFiles(byte[] tables, byte[] rsdp, byte[] loader) {
    private static final int FW_CFG_FILE_DIR = 0x19;
    private static final int FILE_ENTRY = 64;
    private static final int MAX_FILES = 32;
    private static final int DMA_SELECT_READ = 0x08 | 0x02;
    private static final long ACCESS = 0x1000;
    private static final long BUFFER = 0x100000;

    /** Starts QEMU (Qtest's pc, -nodefaults) with these arguments and -S, and reads the three files. */
    public static QemuAcpiFiles read(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("-S"));
        argv.addAll(List.of(args));
        try (Qtest qemu = Qtest.start(argv.toArray(new String[0]))) {
            byte[] dir = dma(qemu, FW_CFG_FILE_DIR, 4 + MAX_FILES * FILE_ENTRY);
            Map<String, int[]> files = new LinkedHashMap<>();
            ByteBuffer d = ByteBuffer.wrap(dir);
            for (int i = 0; i < d.getInt(0); i++) {
                int at = 4 + i * FILE_ENTRY;
                int end = at + 8;
                while (dir[end] != 0) {
                    end++;
                }
                files.put(new String(dir, at + 8, end - at - 8, StandardCharsets.US_ASCII),
                        new int[] {d.getShort(at + 4) & 0xffff, d.getInt(at)});
            }
            return new QemuAcpiFiles(file(qemu, files, "etc/acpi/tables"), file(qemu, files, "etc/acpi/rsdp"),
                    file(qemu, files, "etc/table-loader"));
        }
    }

    private static byte[] file(Qtest qemu, Map<String, int[]> files, String name) throws IOException {
        int[] f = files.get(name);
        if (f == null) {
            throw new IOException("QEMU's fw_cfg has no " + name);
        }
        return dma(qemu, f[0], f[1]);
    }

    private static byte[] dma(Qtest qemu, int selector, int length) throws IOException {
        int control = selector << 16 | DMA_SELECT_READ;
        qemu.command(String.format("write 0x%x 0x10 0x%08x%08x%016x", ACCESS, control, length, BUFFER));
        qemu.command("outl 0x514 0x0");
        qemu.command("outl 0x518 0x" + Integer.toHexString(Integer.reverseBytes((int) ACCESS)));
        String hex = qemu.command(String.format("read 0x%x 0x%x", BUFFER, length));
        return HexFormat.of().parseHex(hex.substring(2));
    }

    /** The DSDT: the table right after the 64-byte FACS. */
    public byte[] dsdt() {
        int length = ByteBuffer.wrap(tables, 64 + 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        return java.util.Arrays.copyOfRange(tables, 64, 64 + length);
    }
}
