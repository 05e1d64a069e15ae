package dev.jvmm.devices.fwcfg;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.jvmm.devices.fwcfg.FwCfgIo.FW_CFG_DMA_CTL_ERROR;
import static dev.jvmm.devices.fwcfg.FwCfgIo.FW_CFG_DMA_CTL_READ;
import static dev.jvmm.devices.fwcfg.FwCfgIo.FW_CFG_DMA_CTL_SELECT;
import static dev.jvmm.devices.fwcfg.FwCfgIo.FW_CFG_DMA_CTL_SKIP;
import static dev.jvmm.devices.fwcfg.FwCfgIo.FW_CFG_DMA_CTL_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FwCfgIoTest {
    private static final long RAM = 1L << 20;
    private static final long ACCESS = 0x1000;
    private static final long BUFFER = 0x2000;

    private final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    private final PioBus bus = new PioBus();
    private final FwCfgItems items = new FwCfgItems();
    private FwCfgIo device;

    @AfterEach
    void close() {
        mem.close();
    }

    private void start() {
        device = new FwCfgIo(items, mem).attach(bus);
    }

    private byte[] portRead(int selector, int n) {
        bus.write(0x510, 2, selector);
        byte[] r = new byte[n];
        for (int i = 0; i < n; i++) {
            r[i] = (byte) bus.read(0x511, 1);
        }
        return r;
    }

    /** Writes an FWCfgDmaAccess at ACCESS and triggers it; returns the control word written back. */
    private int dma(int control, long length, long address) {
        return dmaAt(ACCESS, control, length, address);
    }

    private int dmaAt(long access, int control, long length, long address) {
        if (mem.contains(access, 16)) {
            mem.write(access, ByteBuffer.allocate(16).putInt(control).putInt((int) length).putLong(address)
                    .array(), 0, 16);
        }
        bus.write(0x514, 4, Integer.reverseBytes((int) (access >>> 32)));
        bus.write(0x518, 4, Integer.reverseBytes((int) access));
        return mem.contains(access, 4) ? Integer.reverseBytes(mem.readInt(access)) : -1;
    }

    private byte[] ram(long at, int n) {
        byte[] r = new byte[n];
        mem.read(at, r, 0, n);
        return r;
    }

    @Test
    void signatureIdAndResetSelection() {
        start();
        assertEquals('Q', bus.read(0x511, 1));
        assertEquals('E', bus.read(0x510, 1)); // the data byte overlaps the selector
        assertArrayEquals("QEMU\0\0".getBytes(StandardCharsets.US_ASCII), portRead(0, 6));
        assertArrayEquals(new byte[] {3, 0, 0, 0}, portRead(FwCfgItems.FW_CFG_ID, 4));
        assertArrayEquals(new byte[] {1, 0, 0, 0}, new FwCfgItems(false).item(FwCfgItems.FW_CFG_ID).data());
        device.reset();
        assertEquals('Q', bus.read(0x511, 1));
    }

    @Test
    void widerAccessesAsQemuAnswersThem() {
        start();
        bus.write(0x510, 2, 0);
        assertEquals(0, bus.read(0x510, 2));
        assertEquals(0, bus.read(0x510, 4));
        assertEquals(0xff00 | 'Q', bus.read(0x511, 2));
        assertEquals(0x51ffff00L | 'E', bus.read(0x511, 4));
        bus.write(0x510, 4, 1); // refused: selects nothing
        assertEquals('M', bus.read(0x511, 1));
        bus.write(0x510, 1, 1);
        bus.write(0x511, 2, 1);
        assertEquals('U', bus.read(0x511, 1));
        assertEquals(0xff, bus.read(0x512, 1));
        assertEquals(0x4551, bus.read(0x514, 2));
        assertEquals(0x47464320L, bus.read(0x518, 4));
        assertEquals(0xff47, bus.read(0x51b, 2));
    }

    @Test
    void selectorBitsAndUnknownSelectors() {
        items.addI32(FwCfgItems.FW_CFG_IRQ0_OVERRIDE, 1);
        start();
        assertArrayEquals(new byte[] {3, 0}, portRead(FwCfgItems.FW_CFG_WRITE_CHANNEL | FwCfgItems.FW_CFG_ID, 2));
        assertArrayEquals(new byte[] {1, 0}, portRead(0xc002, 2));
        assertArrayEquals(new byte[4], portRead(0x40, 4));
        assertEquals(FwCfgItems.FW_CFG_INVALID, device.currentSelector());
        assertArrayEquals(new byte[4], portRead(0x3fff, 4));
        assertArrayEquals(new byte[4], portRead(FwCfgItems.FW_CFG_MACHINE_ID, 4));
        assertArrayEquals(new byte[4], portRead(0x21, 4)); // a file slot with no file
    }

    @Test
    void filesSortedWithQemuSelectorsAndDirectory() {
        items.addFile("etc/table-loader", new byte[4096]);
        items.addFile("bootorder", new byte[0]);
        items.addFile("etc/acpi/tables", new byte[] {1, 2, 3});
        items.addFile("etc/acpi/rsdp", new byte[20]);
        assertEquals(List.of(new FwCfgItems.FileEntry("bootorder", 0x20, 0),
                new FwCfgItems.FileEntry("etc/acpi/rsdp", 0x21, 20),
                new FwCfgItems.FileEntry("etc/acpi/tables", 0x22, 3),
                new FwCfgItems.FileEntry("etc/table-loader", 0x23, 4096)), items.files());
        start();
        byte[] dir = portRead(FwCfgItems.FW_CFG_FILE_DIR, 4 + 64 * 32 + 4);
        ByteBuffer d = ByteBuffer.wrap(dir);
        assertEquals(4, d.getInt(0));
        assertEquals(3, d.getInt(4 + 2 * 64));
        assertEquals(0x22, d.getShort(4 + 2 * 64 + 4));
        assertEquals("etc/acpi/tables", new String(dir, 4 + 2 * 64 + 8, 15, StandardCharsets.US_ASCII));
        assertEquals(0, dir[4 + 2 * 64 + 8 + 15]);
        assertEquals(0, d.getInt(4 + 64 * 32)); // past the 32 slots
        assertArrayEquals(new byte[] {1, 2, 3, 0}, portRead(0x22, 4));
        assertThrows(IllegalArgumentException.class, () -> items.addFile("bootorder", new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> items.addFile("x".repeat(56), new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> items.add(FwCfgItems.FW_CFG_ID, new byte[1]));
    }

    @Test
    void dmaReadSelectSkipAndZeroFillPastTheEnd() {
        items.addFile("f", new byte[] {10, 11, 12, 13, 14});
        start();
        mem.write(BUFFER, new byte[] {-1, -1, -1, -1, -1, -1, -1, -1}, 0, 8);
        int sel = items.selectorOf("f");
        assertEquals(0, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 2, 0));
        assertEquals(0, dma(FW_CFG_DMA_CTL_READ, 6, BUFFER));
        assertArrayEquals(new byte[] {12, 13, 14, 0, 0, 0, -1, -1}, ram(BUFFER, 8));
        // the port sees the same offset: past the end
        assertEquals(0, bus.read(0x511, 1));
        assertEquals(0, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 1, BUFFER));
        assertEquals(10, mem.readByte(BUFFER));
        assertEquals(11, bus.read(0x511, 1));
        // no operation bit: only the selection happens
        assertEquals(0, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT, 3, BUFFER));
        assertEquals(10, bus.read(0x511, 1));
        // reading the DMA signature back
        assertEquals(0x554d4551L, bus.read(0x514, 4));
    }

    @Test
    void dmaToOrFromOutsideRamSetsError() {
        items.addFile("f", new byte[] {1, 2, 3, 4});
        start();
        int sel = items.selectorOf("f");
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
                0xfee00000L));
        // buffer crossing the end of RAM: the RAM part is written, then ERROR
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
                RAM - 2));
        assertArrayEquals(new byte[] {1, 2}, ram(RAM - 2, 2));
        // zero fill past the item's end with a huge length that runs off RAM
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
                0xffffffffL, BUFFER));
        assertEquals(0, mem.readByte(BUFFER + 4));
        // length and address that wrap around: no exception, an error
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(sel << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
                0xffffffffL, -16L));
        // the access structure itself outside RAM: nothing to write the error to, nothing thrown
        assertEquals(-1, dmaAt(0x1_0000_0000L, FW_CFG_DMA_CTL_READ, 4, BUFFER));
        // the access structure half in RAM: ERROR in its control word
        assertEquals(FW_CFG_DMA_CTL_ERROR, dmaAt(RAM - 8, 0, 0, 0));
    }

    @Test
    void writesToReadOnlyOrUnknownItemsFail() {
        items.addFile("ro", new byte[] {1, 2, 3, 4});
        items.addFile("rw", new byte[] {1, 2, 3, 4}, true);
        start();
        mem.write(BUFFER, new byte[] {9, 9, 9, 9, 9, 9}, 0, 6);
        int ro = items.selectorOf("ro");
        int rw = items.selectorOf("rw");
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(ro << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 2, BUFFER));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, portRead(ro, 4));
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(0x3000 << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 2,
                BUFFER));
        // a write that does not fit is refused as a whole
        assertEquals(FW_CFG_DMA_CTL_ERROR, dma(rw << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 6, BUFFER));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, portRead(rw, 4));
        assertEquals(0, dma(rw << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 1, 0));
        assertEquals(0, dma(FW_CFG_DMA_CTL_WRITE, 2, BUFFER));
        assertArrayEquals(new byte[] {1, 9, 9, 4}, portRead(rw, 4));
        // byte writes to the data port change nothing
        bus.write(0x511, 1, 0x55);
        assertArrayEquals(new byte[] {1, 9, 9, 4}, portRead(rw, 4));
    }

    @Test
    void dmaAddressHalvesAndOtherWidthsAreIgnored() {
        items.addFile("f", new byte[] {7});
        start();
        mem.write(ACCESS, ByteBuffer.allocate(16).putInt(items.selectorOf("f") << 16 | FW_CFG_DMA_CTL_SELECT
                | FW_CFG_DMA_CTL_READ).putInt(1).putLong(BUFFER).array(), 0, 16);
        bus.write(0x514, 2, 0);
        bus.write(0x518, 2, Integer.reverseBytes((int) ACCESS) & 0xffff);
        assertEquals(0, mem.readByte(BUFFER));
        // without a high half the address is the low half alone (reset after each transfer)
        bus.write(0x518, 4, Integer.reverseBytes((int) ACCESS));
        assertEquals(7, mem.readByte(BUFFER));
    }

    @Test
    void pcItemsAsQemu() {
        FwCfgItems pc = FwCfgItems.pc(new FwCfgItems.PcSettings(new byte[16], true, false, -1, 2, 2, 128L << 20,
                new byte[FwCfgItems.PcSettings.E820_TABLE_SIZE], new byte[FwCfgItems.PcSettings.HPET_CONFIG_SIZE]));
        assertArrayEquals(new byte[] {0, 0, 0, 8, 0, 0, 0, 0}, pc.item(FwCfgItems.FW_CFG_RAM_SIZE).data());
        assertArrayEquals(new byte[] {2, 0}, pc.item(FwCfgItems.FW_CFG_MAX_CPUS).data());
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, pc.item(pc.selectorOf("etc/boot-fail-wait")).data());
        assertEquals(24, pc.item(FwCfgItems.FW_CFG_NUMA).data().length);
    }
}
