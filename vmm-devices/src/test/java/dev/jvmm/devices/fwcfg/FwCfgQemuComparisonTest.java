package dev.jvmm.devices.fwcfg;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.acpi.AcpiConfig;
import dev.jvmm.devices.acpi.AcpiFirmwareFiles;
import dev.jvmm.devices.acpi.AcpiTables;
import dev.jvmm.devices.fwcfg.FwCfgItems.FileEntry;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compares the fw_cfg device with QEMU 7.2's (qtest, `-machine pc -m 128 -smp 2 -nodefaults`, CPU stopped
 * before SeaBIOS ran): the port interface (a script of selector writes and reads of every width, run on
 * both), the legacy items of the pc machine, the file directory (selectors and layout for QEMU's own set
 * of files), and QEMU's ACPI files read through the DMA interface from qtest (an FWCfgDmaAccess written
 * into guest RAM, the transfer started at 0x514/0x518).
 *
 * <p>For ACPI, QEMU runs with hpet=off and its DSDT is taken from its own blob, so that this test checks the
 * layout and the loader commands around any DSDT; the blob, the RSDP and the loader commands are compared
 * byte for byte; the FADT's PM addresses are 0 and the blob's checksums are 0 on both sides, since the
 * BIOS programs the one and computes the others. The board's own DSDT (with its ISA devices) is compared
 * with QEMU's in QemuPcAcpiComparisonTest.
 */
class FwCfgQemuComparisonTest {
    private static final long ACCESS = 0x1000;
    private static final long BUFFER = 0x100000;
    /** QEMU's hpet_cfg for the pc machine's one HPET: id 0x8086a201 at 0xfed00000, min_tick 0. */
    private static final byte[] QEMU_HPET_CFG = hpetConfig();

    private static byte[] hpetConfig() {
        ByteBuffer b = ByteBuffer.allocate(FwCfgItems.PcSettings.HPET_CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 1).putInt(0x8086a201).putLong(0xfed00000L);
        return b.array();
    }

    private static FwCfgItems jvmmPcItems() {
        return FwCfgItems.pc(new FwCfgItems.PcSettings(new byte[16], true, false, -1, 2, 2, 128L << 20,
                new byte[FwCfgItems.PcSettings.E820_TABLE_SIZE], QEMU_HPET_CFG));
    }

    /** Reads one item through QEMU's DMA interface (select + read). */
    private static byte[] dmaRead(Qtest qemu, int selector, int length) throws Exception {
        int control = selector << 16 | FwCfgIo.FW_CFG_DMA_CTL_SELECT | FwCfgIo.FW_CFG_DMA_CTL_READ;
        qemu.command(String.format("write 0x%x 0x10 0x%08x%08x%016x", ACCESS, control, length, BUFFER));
        qemu.command("outl 0x514 0x0");
        qemu.command("outl 0x518 0x" + Integer.toHexString(Integer.reverseBytes((int) ACCESS)));
        assertEquals("0x00000000", qemu.command(String.format("read 0x%x 0x4", ACCESS)), "DMA control word");
        if (length == 0) {
            return new byte[0];
        }
        String hex = qemu.command(String.format("read 0x%x 0x%x", BUFFER, length));
        return HexFormat.of().parseHex(hex.substring(2));
    }

    private static Map<String, FileEntry> directory(byte[] dir) {
        ByteBuffer d = ByteBuffer.wrap(dir);
        Map<String, FileEntry> files = new LinkedHashMap<>();
        for (int i = 0; i < d.getInt(0); i++) {
            int at = 4 + i * FwCfgItems.FW_CFG_FILE_SIZE;
            int end = at + 8;
            while (dir[end] != 0) {
                end++;
            }
            String name = new String(dir, at + 8, end - at - 8, StandardCharsets.US_ASCII);
            files.put(name, new FileEntry(name, d.getShort(at + 4) & 0xffff, d.getInt(at)));
        }
        return files;
    }

    static List<String> portScript() {
        List<String> s = new ArrayList<>(List.of("inb 0x511", "inb 0x510", "inw 0x510", "inb 0x511", "inl 0x510",
                "inb 0x511", "inw 0x511", "inl 0x511", "inb 0x511", "outw 0x510 0x1", "inl 0x510", "inb 0x511",
                "outl 0x510 0x0", "inb 0x511", "outb 0x510 0x1", "inb 0x511", "outw 0x511 0x1", "inb 0x511",
                "outb 0x511 0x33", "inb 0x511", "inb 0x512", "inb 0x513", "inb 0x514", "inw 0x514", "inw 0x515",
                "inl 0x514", "inl 0x516", "inl 0x518", "inb 0x51b", "inw 0x51b", "inl 0x519", "inw 0x51a",
                "outw 0x514 0x0", "outb 0x518 0x0", "inl 0x514"));
        for (int key : new int[] {0x4000, 0x4001, 0xc002, 0x8004, 0x8000, 0x0040, 0x3fff, 0xffff, 0x0005,
                0x000f, 0x000e, 0x0003, 0x0019, 0x8003, 0x803f, 0x0001}) {
            s.add("outw 0x510 0x" + Integer.toHexString(key));
            for (int i = 0; i < 9; i++) {
                s.add("inb 0x511");
            }
        }
        return s;
    }

    @Test
    void portsLegacyItemsAndDirectoryMatchQemuPc() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        List<String> qemuValues;
        Map<Integer, byte[]> qemuItems = new LinkedHashMap<>();
        byte[] qemuDir;
        try (Qtest qemu = Qtest.start("-S", "-m", "128", "-smp", "2")) {
            qemuValues = qemu.runPortScript(portScript());
            for (int key = 0; key < FwCfgItems.FW_CFG_FILE_FIRST; key++) {
                if (key != FwCfgItems.FW_CFG_FILE_DIR) {
                    qemuItems.put(key, dmaRead(qemu, key, 0x200));
                }
            }
            for (int key = FwCfgItems.FW_CFG_ACPI_TABLES; key <= FwCfgItems.FW_CFG_HPET; key++) {
                qemuItems.put(key, dmaRead(qemu, key, 0x200));
            }
            qemuDir = dmaRead(qemu, FwCfgItems.FW_CFG_FILE_DIR, 4 + 32 * FwCfgItems.FW_CFG_FILE_SIZE + 16);
        }

        // the same files as QEMU's under the same names and sizes: the same selectors and directory
        FwCfgItems ours = jvmmPcItems();
        for (FileEntry f : directory(qemuDir).values()) {
            if (ours.selectorOf(f.name()) < 0) {
                ours.addFile(f.name(), new byte[f.size()]);
            }
        }
        assertEquals(List.copyOf(directory(qemuDir).values()), ours.files());

        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 2L << 20)))) {
            PioBus bus = new PioBus();
            FwCfgIo device = new FwCfgIo(ours, mem).attach(bus);
            List<String> jvmmValues = new ArrayList<>();
            Qtest.runPortScript(bus, portScript(), jvmmValues);
            assertEquals(qemuValues, jvmmValues);

            device.reset();
            for (Map.Entry<Integer, byte[]> e : qemuItems.entrySet()) {
                assertArrayEquals(e.getValue(), jvmmDmaRead(mem, bus, e.getKey(), 0x200),
                        String.format("fw_cfg item 0x%x", e.getKey()));
            }
            assertArrayEquals(qemuDir, jvmmDmaRead(mem, bus, FwCfgItems.FW_CFG_FILE_DIR, qemuDir.length));
        }
    }

    private static byte[] jvmmDmaRead(GuestMemory mem, PioBus bus, int selector, int length) {
        int control = selector << 16 | FwCfgIo.FW_CFG_DMA_CTL_SELECT | FwCfgIo.FW_CFG_DMA_CTL_READ;
        mem.write(ACCESS, ByteBuffer.allocate(16).putInt(control).putInt(length).putLong(BUFFER).array(), 0, 16);
        bus.write(0x514, 4, 0);
        bus.write(0x518, 4, Integer.reverseBytes((int) ACCESS));
        assertEquals(0, mem.readInt(ACCESS), "DMA control word");
        byte[] r = new byte[length];
        mem.read(BUFFER, r, 0, length);
        return r;
    }

    @Test
    void acpiFilesMatchQemuPcWithoutHpet() throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        byte[] tables;
        byte[] rsdp;
        byte[] loader;
        try (Qtest qemu = Qtest.start("-S", "-m", "128", "-smp", "2", "-machine", "hpet=off")) {
            Map<String, FileEntry> dir = directory(dmaRead(qemu, FwCfgItems.FW_CFG_FILE_DIR,
                    4 + 32 * FwCfgItems.FW_CFG_FILE_SIZE));
            tables = read(qemu, dir.get(AcpiFirmwareFiles.TABLE_FILE));
            rsdp = read(qemu, dir.get(AcpiFirmwareFiles.RSDP_FILE));
            loader = read(qemu, dir.get(BiosLinkerLoader.LOADER_FILE));
        }
        int dsdtLength = ByteBuffer.wrap(tables, AcpiTables.FACS_LENGTH + 4, 4).order(ByteOrder.LITTLE_ENDIAN)
                .getInt();
        byte[] qemuDsdt = Arrays.copyOfRange(tables, AcpiTables.FACS_LENGTH, AcpiTables.FACS_LENGTH + dsdtLength);
        // before SeaBIOS, QEMU's PIIX4 PM base is still 0; the FADT's SMI command port is there (TCG has SMM)
        AcpiConfig cfg = new AcpiConfig(List.of(0, 1), AcpiConfig.SEABIOS_PIRQ_IRQS, List.of(), 0, true, 2, true,
                0, 0);
        AcpiFirmwareFiles ours = AcpiFirmwareFiles.build(qemuDsdt, AcpiTables.fadt(cfg, 0, AcpiTables.FACS_LENGTH),
                List.of(AcpiTables.madt(cfg), AcpiTables.waet()));
        assertArrayEquals(rsdp, ours.rsdp(), "etc/acpi/rsdp");
        assertArrayEquals(loader, ours.loader(), "etc/table-loader");
        assertArrayEquals(tables, ours.tables(), "etc/acpi/tables");

        // with jvmm's own DSDT the commands are the same but for the offsets after the DSDT
        AcpiFirmwareFiles own = AcpiTables.firmwareFiles(cfg);
        assertEquals(loader.length, own.loader().length);
        assertEquals(tables.length, own.tables().length);
        for (int i = 0; i < loader.length; i += BiosLinkerLoader.ENTRY_SIZE) {
            assertEquals(loader[i], own.loader()[i], "command " + i / BiosLinkerLoader.ENTRY_SIZE);
        }
    }

    private static byte[] read(Qtest qemu, FileEntry f) throws Exception {
        return dmaRead(qemu, f.select(), f.size());
    }
}
