package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ATA disk driven through the PIIX3 ports as a guest driver would: PIO, multiple, DMA, errors. */
class AtaDriveTest {
    static final long SIZE = 64L << 20;
    final IdeGuest g = new IdeGuest();
    final FakeBackend disk = new FakeBackend("ide0-hd0", SIZE);
    final AtaDrive drive = new AtaDrive(disk, IdeDevice.defaultSerial(0, 0), null, true);

    AtaDriveTest() {
        g.ide.bus(0).attach(0, drive);
    }

    @AfterEach
    void close() {
        g.close();
    }

    private byte[] expected(long firstSector, int count) {
        byte[] e = new byte[count * 512];
        for (int i = 0; i < count; i++) {
            System.arraycopy(disk.sector(firstSector + i), 0, e, i * 512, 512);
        }
        return e;
    }

    @Test
    void registersAfterResetMatchQemu() {
        assertArrayEquals(new int[]{0, 1, 1, 0, 0, 0xa0, 0x50}, g.regs(0));
        g.out(0x1f6, 0xb0);
        // absent slave: its own shadow registers, but zero error and status
        assertArrayEquals(new int[]{0, 1, 1, 0xff, 0xff, 0xb0, 0}, g.regs(0));
        assertEquals(0, g.altStatus(0));
        assertEquals(0, g.inw(0x1f0));
        // an empty channel reads all zero
        assertArrayEquals(new int[]{0, 0, 0, 0, 0, 0, 0}, g.regs(1));
    }

    @Test
    void identifyDeviceHasQemuContents() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f7, IdeDevice.CMD_IDENTIFY_DEVICE);
        assertEquals(0x58, g.altStatus(0));
        assertTrue(g.level[14]);
        int[] w = g.words(g.readPio(0, 512));
        assertEquals(0x50, g.status(0));
        assertFalse(g.level[14]);
        assertEquals(0x0040, w[0]);
        assertEquals(130, w[1]);
        assertEquals(16, w[3]);
        assertEquals(63, w[6]);
        assertEquals("QM00001", ataString(w, 10, 20).trim());
        assertEquals("2.5+", ataString(w, 23, 8).trim());
        assertEquals("QEMU HARDDISK", ataString(w, 27, 40).trim());
        assertEquals(0x8010, w[47]);
        assertEquals(0x0b00, w[49]);
        assertEquals(0x0110, w[59]);
        assertEquals(0x20000, w[60] | w[61] << 16);
        assertEquals(0x20000, w[100] | w[101] << 16);
        assertEquals(0x4021, w[82]);
        assertEquals(0x7400, w[83]);
        assertEquals(0x4021, w[85]);
        assertEquals(0x203f, w[88]);
        assertEquals(0x6001, w[93]);
    }

    @Test
    void identifyCapsLba28CapacityOnLargeDisks() {
        FakeBackend big = new FakeBackend("big", 200L << 30);
        assertEquals("QM00003", IdeDevice.defaultSerial(1, 0));
        g.ide.bus(1).attach(0, new AtaDrive(big, "QM00003", null, true));
        g.out(0x176, 0xa0);
        g.out(0x177, IdeDevice.CMD_IDENTIFY_DEVICE);
        int[] w = g.words(g.readPio(1, 512));
        assertEquals(0x3fff, w[1]);
        assertEquals(0x0fffffff, w[60] | w[61] << 16);
        assertEquals(0x19000000L, (w[100] | (long) w[101] << 16 | (long) w[102] << 32));
        big.resizeTo(300L << 30);
        g.out(0x177, IdeDevice.CMD_IDENTIFY_DEVICE);
        w = g.words(g.readPio(1, 512));
        assertEquals(0x25800000L, (w[100] | (long) w[101] << 16 | (long) w[102] << 32));
    }

    static String ataString(int[] w, int first, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i += 2) {
            b[i] = (byte) (w[first + i / 2] >>> 8);
            b[i + 1] = (byte) w[first + i / 2];
        }
        return new String(b, StandardCharsets.US_ASCII);
    }

    @Test
    void pioReadSectorsLba28() {
        for (int s = 10; s < 13; s++) {
            disk.pattern(s, 3);
        }
        g.lba28(0, 0, 10, 3, AtaDrive.CMD_READ_SECTORS);
        byte[] got = new byte[3 * 512];
        for (int i = 0; i < 3; i++) {
            // one interrupt per sector: the status read acknowledges it
            assertTrue(g.level[14]);
            assertEquals(0x58, g.status(0));
            System.arraycopy(g.readPio(0, 512), 0, got, i * 512, 512);
        }
        assertArrayEquals(expected(10, 3), got);
        assertEquals(0x50, g.status(0));
        // the task file points past the transfer and the count is 0
        assertArrayEquals(new int[]{0, 0, 13, 0, 0, 0xe0, 0x50}, g.regs(0));
    }

    @Test
    void pioWriteThenReadMultipleLba48() {
        long lba = 0x1_0000L + 5; // above 16 bits to check the high bytes
        byte[] data = new byte[4 * 512];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 13 + 1);
        }
        g.lba48(0, 0, lba, 4, AtaDrive.CMD_WRITE_SECTORS_EXT);
        for (int i = 0; i < 4; i++) {
            assertEquals(0x58, g.altStatus(0));
            g.writePio(0, Arrays.copyOfRange(data, i * 512, i * 512 + 512));
        }
        assertEquals(0x50, g.status(0));
        assertArrayEquals(data, expected(lba, 4));

        g.out(0x1f2, 2);
        g.out(0x1f7, AtaDrive.CMD_SET_MULTIPLE_MODE);
        assertEquals(0x50, g.status(0));
        g.lba48(0, 0, lba, 4, AtaDrive.CMD_READ_MULTIPLE_EXT);
        assertEquals(0x58, g.status(0));
        byte[] first = g.readPio(0, 1024);
        assertEquals(0x58, g.status(0));
        byte[] second = g.readPio(0, 1024);
        assertEquals(0x50, g.status(0));
        byte[] got = new byte[2048];
        System.arraycopy(first, 0, got, 0, 1024);
        System.arraycopy(second, 0, got, 1024, 1024);
        assertArrayEquals(data, got);
        // HOB reads show the high address bytes
        g.out(0x3f6, IdeBus.CONTROL_HOB);
        assertEquals((int) ((lba + 4) >>> 24) & 0xff, g.in(0x1f3));
        g.out(0x3f6, 0);
        assertEquals((int) (lba + 4) & 0xff, g.in(0x1f3));
        assertEquals((int) ((lba + 4) >>> 8) & 0xff, g.in(0x1f4));
    }

    @Test
    void writeMultipleAndChsAddressing() {
        byte[] data = new byte[2 * 512];
        Arrays.fill(data, (byte) 0x5a);
        // CHS: cylinder 1, head 2, sector 3 -> (1 * 16 + 2) * 63 + 2
        long lba = (16 + 2) * 63 + 2;
        g.out(0x1f6, 0xa0 | 2);
        g.out(0x1f2, 2);
        g.out(0x1f3, 3);
        g.out(0x1f4, 1);
        g.out(0x1f5, 0);
        g.out(0x1f7, AtaDrive.CMD_WRITE_MULTIPLE);
        g.writePio(0, data);
        assertEquals(0x50, g.status(0));
        assertArrayEquals(data, expected(lba, 2));
        // the CHS address advanced to sector 5
        assertEquals(5, g.in(0x1f3));
    }

    @Test
    void outOfRangeLbaAbortsWithoutTouchingTheImage() {
        long sectors = SIZE / 512;
        g.lba28(0, 0, sectors, 1, AtaDrive.CMD_READ_SECTORS);
        assertEquals(0x41, g.status(0));
        assertEquals(IdeDevice.ERROR_ABRT, g.error(0));
        assertEquals(0, disk.reads);
        assertEquals(List.of(BlockBackend.Operation.READ), disk.invalid);
        g.lba48(0, 0, 1L << 40, 1, AtaDrive.CMD_READ_SECTORS_EXT);
        assertEquals(0x41, g.status(0));
        // CHS sector 0 does not exist
        g.out(0x1f6, 0xa0);
        g.out(0x1f2, 1);
        g.out(0x1f3, 0);
        g.out(0x1f7, AtaDrive.CMD_READ_SECTORS);
        assertEquals(0x41, g.status(0));
        assertEquals(0, disk.reads);
        // PIO goes sector by sector (as QEMU): the last sector is read, the one after it aborts
        g.lba28(0, 0, sectors - 1, 2, AtaDrive.CMD_READ_SECTORS);
        assertEquals(0x58, g.status(0));
        g.readPio(0, 512);
        assertEquals(0x41, g.status(0));
        assertEquals(1, disk.reads);
        // a PIO write past the end aborts after the data block, nothing is written
        g.lba28(0, 0, sectors, 1, AtaDrive.CMD_WRITE_SECTORS);
        g.writePio(0, new byte[512]);
        assertEquals(0x41, g.status(0));
        assertEquals(0, disk.writes);
    }

    @Test
    void unknownCommandAborts() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f7, 0xff);
        assertTrue(g.level[14]);
        assertEquals(0x41, g.status(0));
        assertEquals(IdeDevice.ERROR_ABRT, g.error(0));
        // a packet command to a disk too
        g.out(0x1f7, IdeDevice.CMD_PACKET);
        assertEquals(0x41, g.status(0));
        // SMART is listed but not emulated
        g.out(0x1f7, AtaDrive.CMD_SMART);
        assertEquals(0x41, g.status(0));
    }

    @Test
    void commandsToAbsentSlaveAreIgnored() {
        g.out(0x1f6, 0xb0);
        g.out(0x1f7, IdeDevice.CMD_IDENTIFY_DEVICE);
        assertFalse(g.level[14]);
        assertEquals(0, g.status(0));
        g.out(0x1f6, 0xa0);
        assertEquals(0x50, g.status(0));
    }

    @Test
    void noOpsCheckPowerModeAndVerify() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f7, 0xe1); // IDLE IMMEDIATE
        assertEquals(0x40, g.status(0)); // QEMU does not set DSC for the power no-ops
        g.out(0x1f7, AtaDrive.CMD_CHECK_POWER_MODE);
        assertEquals(0x50, g.status(0));
        assertEquals(0xff, g.in(0x1f2));
        g.lba28(0, 0, 5, 4, AtaDrive.CMD_READ_VERIFY_SECTORS);
        assertEquals(0x50, g.status(0));
        assertEquals(0, disk.reads);
        g.lba28(0, 0, 0, 0, AtaDrive.CMD_READ_NATIVE_MAX_ADDRESS);
        assertArrayEquals(new int[]{0, 0, 0xff, 0xff, 0x01, 0xe0, 0x50}, g.regs(0));
    }

    /** QEMU 7.2: the new heads and sectors drive CHS translation and the IDENTIFY words built afterwards. */
    @Test
    void initializeDeviceParametersChangesTranslation() {
        disk.pattern(17, 1);
        g.out(0x1f6, 0xa3); // 4 heads
        g.out(0x1f2, 17);
        g.out(0x1f7, AtaDrive.CMD_INITIALIZE_DEVICE_PARAMETERS);
        assertEquals(0x50, g.status(0));
        assertEquals(new AtaGeometry(130, 4, 17), drive.geometry());
        g.out(0x1f6, 0xa1); // cylinder 0, head 1, sector 1 = LBA 17
        g.out(0x1f2, 1);
        g.out(0x1f3, 1);
        g.out(0x1f4, 0);
        g.out(0x1f5, 0);
        g.out(0x1f7, AtaDrive.CMD_READ_SECTORS);
        assertArrayEquals(disk.sector(17), g.readPio(0, 512));
        g.out(0x1f7, IdeDevice.CMD_IDENTIFY_DEVICE);
        int[] w = g.words(g.readPio(0, 512));
        assertArrayEquals(new int[]{130, 4, 17}, new int[]{w[54], w[55], w[56]});
        // a zero sector count would make every CHS address divide by zero: refused
        g.out(0x1f2, 0);
        g.out(0x1f7, AtaDrive.CMD_INITIALIZE_DEVICE_PARAMETERS);
        assertEquals(0x41, g.status(0));
        assertEquals(new AtaGeometry(130, 4, 17), drive.geometry());
    }

    @Test
    void setFeaturesEditsIdentify() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f1, IdeDevice.SF_DISABLE_WRITE_CACHE);
        g.out(0x1f7, IdeDevice.CMD_SET_FEATURES);
        assertEquals(0x50, g.status(0));
        assertFalse(drive.writeCacheEnabled());
        g.out(0x1f1, IdeDevice.SF_SET_TRANSFER_MODE);
        g.out(0x1f2, 0x40 | 2); // UDMA 2
        g.out(0x1f7, IdeDevice.CMD_SET_FEATURES);
        assertEquals(0x50, g.status(0));
        g.out(0x1f7, IdeDevice.CMD_IDENTIFY_DEVICE);
        int[] w = g.words(g.readPio(0, 512));
        assertEquals(0x4001, w[85]);
        assertEquals(0x3f | 1 << 10, w[88]);
        assertEquals(0x07, w[63]);
        // without the write cache every write is flushed
        g.lba28(0, 0, 0, 1, AtaDrive.CMD_WRITE_SECTORS);
        g.writePio(0, new byte[512]);
        assertEquals(1, disk.flushes);
        g.out(0x1f1, 0x77); // unknown subcommand
        g.out(0x1f7, IdeDevice.CMD_SET_FEATURES);
        assertEquals(0x41, g.status(0));
    }

    @Test
    void setMultipleModeRules() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f2, 3); // not a power of two
        g.out(0x1f7, AtaDrive.CMD_SET_MULTIPLE_MODE);
        assertEquals(0x41, g.status(0));
        g.out(0x1f2, 32); // too large
        g.out(0x1f7, AtaDrive.CMD_SET_MULTIPLE_MODE);
        assertEquals(0x41, g.status(0));
        g.out(0x1f2, 0); // disables the multiple commands
        g.out(0x1f7, AtaDrive.CMD_SET_MULTIPLE_MODE);
        assertEquals(0x50, g.status(0));
        g.lba28(0, 0, 0, 1, AtaDrive.CMD_READ_MULTIPLE);
        assertEquals(0x41, g.status(0));
    }

    @Test
    void nIenMasksTheInterrupt() {
        g.out(0x3f6, IdeBus.CONTROL_NIEN);
        g.out(0x1f6, 0xa0);
        g.out(0x1f7, 0xe1);
        assertFalse(g.level[14]);
        assertEquals(0, g.bmStatus(0) & BusMasterDma.STATUS_INTERRUPT);
        g.out(0x3f6, 0);
        g.out(0x1f7, 0xe1);
        assertTrue(g.level[14]);
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(0) & BusMasterDma.STATUS_INTERRUPT);
    }

    @Test
    void softResetRunsDiagnostics() {
        g.lba28(0, 0, 0, 1, AtaDrive.CMD_READ_SECTORS); // leave a DRQ phase open
        g.status(0);
        g.out(0x3f6, IdeBus.CONTROL_SRST);
        g.out(0x3f6, 0);
        assertTrue(g.level[14]);
        assertArrayEquals(new int[]{1, 1, 1, 0, 0, 0xa0, 0x50}, g.regs(0));
        assertEquals(0, g.inw(0x1f0)); // the data phase is gone
    }

    @Test
    void flushCache() {
        g.out(0x1f6, 0xa0);
        g.out(0x1f7, AtaDrive.CMD_FLUSH_CACHE_EXT);
        assertEquals(0x50, g.status(0));
        assertEquals(1, disk.flushes);
        disk.failNext = 1;
        g.out(0x1f7, IdeDevice.CMD_FLUSH_CACHE);
        assertEquals(0x41, g.status(0));
        assertEquals(List.of(false), disk.errors);
    }

    // ---- DMA ------------------------------------------------------------------------------------

    @Test
    void dmaReadThroughTwoPrds() {
        for (int s = 0; s < 8; s++) {
            disk.pattern(100 + s, 9);
        }
        g.prds(0x1000, true, 0x20000, 1024, 0x30000, 3072);
        g.bmSetup(0, 0x1000, true);
        g.lba28(0, 0, 100, 8, AtaDrive.CMD_READ_DMA);
        assertEquals(0x58, g.altStatus(0)); // waits for Start
        assertFalse(g.level[14]);
        g.bmStart(0, true);
        assertTrue(g.level[14]);
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(0)); // Active cleared, Interrupt set
        assertEquals(0x50, g.status(0));
        g.out(g.bm(0), 0); // stop
        g.out(g.bm(0) + 2, BusMasterDma.STATUS_INTERRUPT); // write one to clear
        assertEquals(0, g.bmStatus(0));
        byte[] got = new byte[4096];
        g.mem.read(0x20000, got, 0, 1024);
        g.mem.read(0x30000, got, 1024, 3072);
        assertArrayEquals(expected(100, 8), got);
        assertEquals(108, g.in(0x1f3));
    }

    @Test
    void dmaWriteExtWithStartBeforeCommandAnd64KiBPrd() {
        byte[] data = new byte[0x10000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i ^ i >>> 8);
        }
        g.mem.write(0x40000, data, 0, data.length);
        g.prds(0x1000, true, 0x40000, 0); // byte count 0 means 64 KiB
        g.bmSetup(0, 0x1000, false);
        g.bmStart(0, false);
        g.lba48(0, 0, 1000, 128, AtaDrive.CMD_WRITE_DMA_EXT);
        assertEquals(0x50, g.status(0));
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(0));
        assertArrayEquals(data, expected(1000, 128));
    }

    @Test
    void prdOutsideRamIsADmaError() {
        g.prds(0x1000, true, IdeGuest.RAM - 512, 1024); // runs past the end of RAM
        g.bmSetup(0, 0x1000, true);
        g.lba28(0, 0, 0, 2, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertTrue(g.level[14]);
        assertEquals(BusMasterDma.STATUS_INTERRUPT | BusMasterDma.STATUS_ERROR, g.bmStatus(0));
        assertEquals(0x41, g.status(0));
        assertEquals(IdeDevice.ERROR_ABRT, g.error(0));
        assertEquals(0, disk.reads);
        // the table itself outside RAM
        g.out(g.bm(0), 0);
        g.out(g.bm(0) + 2, 0x06);
        g.bmSetup(0, 0xfff0_0000L, true);
        g.lba28(0, 0, 0, 2, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertEquals(BusMasterDma.STATUS_INTERRUPT | BusMasterDma.STATUS_ERROR, g.bmStatus(0));
        assertEquals(0x41, g.status(0));
    }

    @Test
    void shortPrdTableEndsWithoutInterruptAsQemu() {
        g.prds(0x1000, true, 0x20000, 512);
        g.bmSetup(0, 0x1000, true);
        g.lba28(0, 0, 0, 4, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertFalse(g.level[14]);
        assertEquals(0, g.bmStatus(0));
        assertEquals(0x50, g.status(0));
        assertEquals(0, disk.reads);
    }

    @Test
    void tableWithoutEotStopsAtOnePage() {
        // 512 descriptors of 2 bytes and no EOT: 1 KiB described, fewer than the 2 sectors asked
        for (int i = 0; i < 600; i++) {
            g.mem.writeInt(0x2000 + 8L * i, 0x50000 + 2 * i);
            g.mem.writeInt(0x2000 + 8L * i + 4, 2);
        }
        g.bmSetup(0, 0x2000, true);
        g.lba28(0, 0, 0, 4, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertEquals(0, g.bmStatus(0));
        assertFalse(g.level[14]);
        // with a smaller request the same table works and Active stays set (more was described)
        g.out(g.bm(0), 0);
        disk.pattern(7, 1);
        g.lba28(0, 0, 7, 1, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertEquals(BusMasterDma.STATUS_INTERRUPT | BusMasterDma.STATUS_ACTIVE, g.bmStatus(0));
        assertEquals(0x50, g.status(0));
        byte[] got = new byte[512];
        g.mem.read(0x50000, got, 0, 512);
        assertArrayEquals(disk.sector(7), got);
    }

    @Test
    void dmaOutOfRangeAborts() {
        g.prds(0x1000, true, 0x20000, 1024);
        g.bmSetup(0, 0x1000, true);
        g.lba28(0, 0, SIZE / 512 - 1, 2, AtaDrive.CMD_READ_DMA);
        g.bmStart(0, true);
        assertEquals(0x41, g.status(0));
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(0));
        assertEquals(List.of(BlockBackend.Operation.READ), disk.invalid);
    }

    // ---- host I/O errors through the policy ----------------------------------------------------

    @Test
    void readErrorReportIgnoreAndStop() {
        disk.pattern(3, 4);
        disk.failNext = 1;
        g.lba28(0, 0, 3, 1, AtaDrive.CMD_READ_SECTORS);
        assertEquals(0x41, g.status(0));
        assertEquals(List.of(true), disk.errors);

        disk.action = BlockBackend.ErrorAction.IGNORE;
        disk.failNext = 1;
        g.lba28(0, 0, 3, 1, AtaDrive.CMD_READ_SECTORS);
        assertEquals(0x58, g.status(0));
        g.readPio(0, 512);
        assertEquals(0x50, g.status(0));

        disk.action = BlockBackend.ErrorAction.STOP;
        disk.failNext = 1;
        g.lba28(0, 0, 3, 1, AtaDrive.CMD_READ_SECTORS);
        assertEquals(IdeDevice.STATUS_BSY, g.altStatus(0) & IdeDevice.STATUS_BSY);
        disk.retry.run(); // the VM resumed
        assertEquals(0x58, g.status(0));
        assertArrayEquals(disk.sector(3), g.readPio(0, 512));
    }

    @Test
    void dmaWriteErrorStopThenRetry() {
        byte[] data = new byte[1024];
        Arrays.fill(data, (byte) 0x77);
        g.mem.write(0x20000, data, 0, 1024);
        g.prds(0x1000, true, 0x20000, 1024);
        g.bmSetup(0, 0x1000, false);
        disk.action = BlockBackend.ErrorAction.STOP;
        disk.failNext = 1;
        g.lba28(0, 0, 50, 2, AtaDrive.CMD_WRITE_DMA);
        g.bmStart(0, false);
        assertEquals(List.of(false), disk.errors);
        assertFalse(g.level[14]);
        disk.retry.run();
        assertTrue(g.level[14]);
        assertEquals(0x50, g.status(0));
        assertArrayEquals(data, expected(50, 2));

        disk.action = BlockBackend.ErrorAction.REPORT;
        disk.failNext = 1;
        g.out(g.bm(0), 0);
        g.lba28(0, 0, 50, 2, AtaDrive.CMD_WRITE_DMA);
        g.bmStart(0, false);
        assertEquals(0x41, g.status(0));
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(0));
    }

    @Test
    void dataSetManagementTrimDiscardsRanges() {
        // one 512-byte block of range entries: (LBA 100, 8 sectors), an empty entry, (LBA 0x10000, 1)
        g.mem.writeLong(0x20000, 100L | 8L << 48);
        g.mem.writeLong(0x20010, 0x10000L | 1L << 48);
        g.prds(0x1000, true, 0x20000, 512);
        g.bmSetup(0, 0x1000, false);
        g.out(0x1f6, 0xe0);
        g.out(0x1f1, AtaDrive.DSM_TRIM);
        g.out(0x1f2, 1);
        g.out(0x1f7, AtaDrive.CMD_DATA_SET_MANAGEMENT);
        g.bmStart(0, false);
        assertEquals(0x50, g.status(0));
        assertEquals(2, disk.discards.size());
        assertArrayEquals(new long[]{100 * 512, 8 * 512}, disk.discards.get(0));
        assertArrayEquals(new long[]{0x10000L * 512, 512}, disk.discards.get(1));
        // a range past the end aborts
        g.out(g.bm(0), 0);
        g.mem.writeLong(0x20000, SIZE / 512 | 1L << 48);
        g.out(0x1f1, AtaDrive.DSM_TRIM);
        g.out(0x1f2, 1);
        g.out(0x1f7, AtaDrive.CMD_DATA_SET_MANAGEMENT);
        g.bmStart(0, false);
        assertEquals(0x41, g.status(0));
        assertEquals(List.of(BlockBackend.Operation.UNMAP), disk.invalid);
        // only TRIM is a known feature
        g.out(0x1f1, 0x02);
        g.out(0x1f7, AtaDrive.CMD_DATA_SET_MANAGEMENT);
        assertEquals(0x41, g.status(0));
    }

    @Test
    void busMasterRegisterAccessWidths() {
        g.pio.write(g.bm(1) + 4, 4, 0x12345677L);
        assertEquals(0x12345674L, g.pio.read(g.bm(1) + 4, 4));
        assertEquals(0x5674, g.pio.read(g.bm(1) + 4, 2));
        assertEquals(0xffff, g.pio.read(g.bm(1), 2)); // command/status are byte registers
        g.out(g.bm(1) + 2, 0xff);
        assertEquals(0x60, g.bmStatus(1)); // only the drive-capable bits are writable
        assertEquals(0xff, g.in(g.bm(1) + 1));
        g.ide.reset();
        assertEquals(0, g.bmStatus(1));
        assertEquals(0, g.pio.read(g.bm(1) + 4, 4));
    }
}
