package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.BlockBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.jvmm.devices.virtio.VirtioBlk.*;
import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static dev.jvmm.devices.virtio.VirtQueue.*;
import static org.junit.jupiter.api.Assertions.*;

/** virtio-blk requests driven through the PCI transport by a scripted driver, against an in-memory disk. */
class VirtioBlkTest {
    static final long DISK = 64L << 20;
    VirtioGuest g;

    @AfterEach
    void close() {
        if (g != null) {
            g.close();
        }
    }

    @Test
    void offersQemuFeaturesAndConfig() {
        g = new VirtioGuest(DISK);
        // QEMU 7.2 virtio-blk-pci,disable-legacy=on: 0x30006e54 low, 0x101 high (VERSION_1, RING_RESET)
        assertEquals(0x0000_0101_3000_6e54L, g.deviceFeatures());
        assertEquals(DISK / 512, g.deviceCfg(CFG_CAPACITY, 8));
        assertEquals(0, g.deviceCfg(CFG_SIZE_MAX, 4));
        assertEquals(254, g.deviceCfg(CFG_SEG_MAX, 4));
        assertEquals(0x3f100082L, g.deviceCfg(CFG_GEOMETRY_CYLINDERS, 4)); // 130 cylinders, 16 heads, 63 sectors
        assertEquals(512, g.deviceCfg(CFG_BLK_SIZE, 4));
        assertEquals(0, g.deviceCfg(CFG_PHYSICAL_BLOCK_EXP, 4));
        assertEquals(0x00010001L, g.deviceCfg(CFG_WRITEBACK, 4));
        assertEquals(0x3fffff, g.deviceCfg(CFG_MAX_DISCARD_SECTORS, 4));
        assertEquals(1, g.deviceCfg(CFG_MAX_DISCARD_SEG, 4));
        assertEquals(1, g.deviceCfg(CFG_DISCARD_SECTOR_ALIGNMENT, 4));
        assertEquals(0x3fffff, g.deviceCfg(CFG_MAX_WRITE_ZEROES_SECTORS, 4));
        assertEquals(1, g.deviceCfg(CFG_MAX_WRITE_ZEROES_SEG, 4));
        assertEquals(1, g.deviceCfg(CFG_WRITE_ZEROES_MAY_UNMAP, 1));
        // past the 0x39 bytes QEMU exposes: all ones
        assertEquals(0xffff_ffffL, g.deviceCfg(CFG_WRITE_ZEROES_MAY_UNMAP, 4));
        assertEquals(0xff, g.deviceCfg(0x39, 1));
        // common configuration at power-on
        assertEquals(0xffff, g.common(CONFIG_MSIX_VECTOR, 2));
        assertEquals(1, g.common(NUM_QUEUES, 2));
        assertEquals(256, g.common(QUEUE_SIZE, 2));
        assertEquals(0xffff, g.common(QUEUE_MSIX_VECTOR, 2));
        g.common(QUEUE_SELECT, 2, 1);
        assertEquals(0, g.common(QUEUE_SIZE, 2));
    }

    @Test
    void readOnlyMultiQueueFeatures() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        d.readOnly = true;
        g = new VirtioGuest(d, new VirtioBlkOptions("vd1", "", 4, 128, true), null);
        long f = g.deviceFeatures();
        assertTrue((f & 1L << VIRTIO_BLK_F_RO) != 0);
        assertTrue((f & 1L << VIRTIO_BLK_F_MQ) != 0);
        assertEquals(4, g.common(NUM_QUEUES, 2));
        assertEquals(4, g.deviceCfg(CFG_NUM_QUEUES, 2));
        assertEquals(126, g.deviceCfg(CFG_SEG_MAX, 4));
        // 4 queues + config: MSI-X table size 5
        assertEquals(4, g.t.readConfig(CAP_MSIX + 2, 2) & 0x7ff);
        g.start(VirtioGuest.defaultFeatures());
        long buf = g.alloc(512);
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_OUT, 0, buf, 512, false));
        assertEquals(List.of("write Operation not permitted -> REPORT"), d.errors);
        assertTrue(d.log.isEmpty(), "nothing reached a read-only disk: " + d.log);
    }

    @Test
    void featuresOkNeedsVersion1AndFreezesFeatures() {
        g = new VirtioGuest(DISK);
        assertFalse(g.negotiate(1L << VIRTIO_BLK_F_FLUSH), "a legacy driver is refused");
        assertTrue(g.negotiate(1L << VIRTIO_F_VERSION_1 | 1L << 63 | 1L << VIRTIO_BLK_F_FLUSH));
        assertEquals(1L << VIRTIO_F_VERSION_1 | 1L << VIRTIO_BLK_F_FLUSH, g.t.negotiatedFeatures(),
                "bits the device does not offer are dropped");
        g.common(DRIVER_FEATURE_SELECT, 4, 0);
        g.common(DRIVER_FEATURE, 4, 0);
        assertEquals(1L << VIRTIO_F_VERSION_1 | 1L << VIRTIO_BLK_F_FLUSH, g.t.negotiatedFeatures(),
                "features are frozen after FEATURES_OK");
    }

    @Test
    void writeReadFlushGetId() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, new VirtioBlkOptions("vd0", "SN-1234", 1, 256, true), null);
        g.start(VirtioGuest.defaultFeatures());
        long buf = g.alloc(4096);
        for (int i = 0; i < 4096; i++) {
            g.mem.writeByte(buf + i, (byte) (i * 7 + 3));
        }
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_OUT, 10, buf, 4096, false));
        assertEquals((byte) 3, d.disk[10 * 512]);
        assertEquals((byte) (4095 * 7 + 3), d.disk[10 * 512 + 4095]);
        assertEquals(1, g.usedLen(0, 0), "QEMU reports the writable bytes (the status byte)");
        long rd = g.alloc(4096);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_IN, 10, rd, 4096, true));
        for (int i = 0; i < 4096; i++) {
            assertEquals((byte) (i * 7 + 3), g.mem.readByte(rd + i));
        }
        assertEquals(4097, g.usedLen(0, 1));
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        assertEquals("flush", d.log.get(d.log.size() - 1));
        long id = g.alloc(20);
        g.mem.zero(id, 20);
        g.mem.writeByte(id + 8, (byte) 0x55);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_GET_ID, 0, id, 20, true));
        byte[] got = new byte[20];
        g.mem.read(id, got, 0, 20);
        assertEquals("SN-1234", new String(got, 0, 7, StandardCharsets.UTF_8));
        assertEquals(0, got[7], "QEMU writes the NUL when it fits");
        assertEquals(0x55, got[8], "and nothing after it");
        assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(42, 0, 0, 0, false));
    }

    @Test
    void getIdTruncatesLongSerialsToTwentyBytes() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, new VirtioBlkOptions("vd0", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 256, true), null);
        g.start(VirtioGuest.defaultFeatures());
        long id = g.alloc(32);
        g.mem.zero(id, 32);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_GET_ID, 0, id, 32, true));
        byte[] got = new byte[21];
        g.mem.read(id, got, 0, 21);
        assertEquals("ABCDEFGHIJKLMNOPQRST", new String(got, 0, 20, StandardCharsets.US_ASCII));
        assertEquals(0, got[20]);
    }

    @Test
    void requestsPastTheEndFailWithoutTouchingTheDisk() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures());
        long buf = g.alloc(1024);
        long last = DISK / 512 - 1;
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_OUT, last, buf, 1024, false));
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_IN, last, buf, 1024, true));
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_OUT, -1L, buf, 512, false));
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_OUT, 0, buf, 100, false), "not a sector multiple");
        assertEquals(List.of(BlockBackend.Operation.WRITE, BlockBackend.Operation.READ,
                BlockBackend.Operation.WRITE, BlockBackend.Operation.WRITE), d.invalid);
        assertTrue(d.log.isEmpty(), "nothing reached the backend: " + d.log);
        for (byte b : d.disk) {
            assertEquals(0, b);
        }
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_OUT, last, buf, 512, false), "the last sector is fine");
        assertFalse(g.t.broken());
    }

    @Test
    void discardAndWriteZeroes() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        java.util.Arrays.fill(d.disk, (byte) 0xaa);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures() | 1L << VIRTIO_BLK_F_DISCARD | 1L << VIRTIO_BLK_F_WRITE_ZEROES);
        long seg = g.alloc(16);
        segment(seg, 8, 4, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false));
        assertEquals("zeroes 4096 2048 unmap", d.log.get(0));
        assertEquals(0, d.disk[4096]);
        assertEquals((byte) 0xaa, d.disk[4095]);
        assertEquals((byte) 0xaa, d.disk[4096 + 2048]);
        segment(seg, 16, 2, 0);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_DISCARD, 0, seg, 16, false));
        assertEquals("discard 8192 1024", d.log.get(1));
        segment(seg, 16, 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
        assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(VIRTIO_BLK_T_DISCARD, 0, seg, 16, false), "discard with unmap");
        segment(seg, 16, 2, 0x4);
        assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false), "unknown flag");
        segment(seg, DISK / 512 - 1, 2, 0);
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false), "past the end");
        segment(seg, 0, 0x400000, 0);
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_DISCARD, 0, seg, 16, false), "over max sectors");
        long two = g.alloc(32);
        assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(VIRTIO_BLK_T_DISCARD, 0, two, 32, false), "two segments");
        assertEquals(2, d.log.size(), "refused requests never reached the backend: " + d.log);
        assertEquals(2, d.invalid.size(), "write-zeroes refusals (not discard ones) are accounted as invalid writes");
        g.request(0, VIRTIO_BLK_T_DISCARD, 0, two, 8, false);
        g.submitExpectingFailure(0, 0);
        assertTrue(g.t.lastError().contains("discard/write_zeroes header too short"), g.t.lastError());
    }

    void segment(long at, long sector, int sectors, int flags) {
        g.mem.writeLong(at, sector);
        g.mem.writeInt(at + 8, sectors);
        g.mem.writeInt(at + 12, flags);
    }

    @Test
    void indirectDescriptorsAndSplitHeader() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures() | 1L << VIRTIO_F_RING_INDIRECT_DESC);
        long table = g.alloc(16 * 5);
        long h = g.header(VIRTIO_BLK_T_OUT, 2);
        long a = g.alloc(512);
        long b = g.alloc(512);
        long st = g.alloc(1);
        g.mem.writeByte(st, (byte) 0x7f);
        for (int i = 0; i < 512; i++) {
            g.mem.writeByte(a + i, (byte) 1);
            g.mem.writeByte(b + i, (byte) 2);
        }
        // the header split over two descriptors, then two data buffers, then status
        ind(table, 0, h, 4, F_NEXT, 1);
        ind(table, 1, h + 4, 12, F_NEXT, 2);
        ind(table, 2, a, 512, F_NEXT, 3);
        ind(table, 3, b, 512, F_NEXT, 4);
        ind(table, 4, st, 1, VIRTQ_DESC_F_WRITE, 0);
        g.writeDesc(0, 7, table, 16 * 5, VIRTQ_DESC_F_INDIRECT, 0);
        g.makeAvailable(0, 7);
        g.kick(0);
        g.awaitUsed(0, 1);
        assertEquals(0, g.mem.readByte(st));
        assertEquals(7, g.usedId(0, 0));
        assertEquals(1, d.disk[1024]);
        assertEquals(2, d.disk[1536]);
        assertEquals(List.of("write 1024 512", "write 1536 512"), d.log);
    }

    static final int F_NEXT = VIRTQ_DESC_F_NEXT;

    void ind(long table, int i, long addr, int len, int flags, int next) {
        long e = table + 16L * i;
        g.mem.writeLong(e, addr);
        g.mem.writeInt(e + 8, len);
        g.mem.writeShort(e + 12, (short) flags);
        g.mem.writeShort(e + 14, (short) next);
    }

    @Test
    void errorPolicies() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures());
        long buf = g.alloc(512);
        d.failReads = new IOException("Input/output error");
        d.action = BlockBackend.ErrorAction.REPORT;
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_IN, 0, buf, 512, true));
        d.action = BlockBackend.ErrorAction.IGNORE;
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_IN, 0, buf, 512, true));
        d.failFlush = new IOException("No space left on device");
        d.action = BlockBackend.ErrorAction.REPORT;
        assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        assertEquals(List.of("read Input/output error -> REPORT", "read Input/output error -> IGNORE",
                "write No space left on device -> REPORT"), d.errors);
    }

    @Test
    void stopKeepsTheRequestUntilRetry() throws Exception {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures());
        long buf = g.alloc(512);
        g.mem.writeByte(buf, (byte) 0x42);
        d.failWrites = new IOException("No space left on device");
        d.action = BlockBackend.ErrorAction.STOP;
        long st = g.request(0, VIRTIO_BLK_T_OUT, 3, buf, 512, false);
        g.makeAvailable(0, 0);
        g.kick(0);
        long end = System.nanoTime() + 5_000_000_000L;
        while (d.errors.isEmpty() && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        // a second request behind it waits too
        long st2 = g.request(3, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        g.makeAvailable(0, 3);
        g.kick(0);
        Thread.sleep(100);
        assertEquals(0, g.usedIdx(0), "a stopped request is not completed");
        assertEquals(1, d.errors.size());
        d.failWrites = null;
        d.retry.run();
        g.awaitUsed(0, 2);
        assertEquals(0, g.mem.readByte(st));
        assertEquals(0, g.mem.readByte(st2));
        assertEquals(0x42, d.disk[3 * 512]);
    }

    @Test
    void writethroughWhenTheDriverCannotFlush() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(1L << VIRTIO_F_VERSION_1);
        assertEquals(0, g.deviceCfg(CFG_WRITEBACK, 1), "no FLUSH, no CONFIG_WCE: writethrough");
        long buf = g.alloc(512);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_OUT, 0, buf, 512, false));
        assertEquals(List.of("write 0 512", "flush"), d.log);
        // with CONFIG_WCE the driver chooses through the writeback field
        g.start(VirtioGuest.defaultFeatures());
        assertEquals(1, g.deviceCfg(CFG_WRITEBACK, 1));
        g.modern.write(DEVICE_CFG_OFFSET + CFG_WRITEBACK, 1, 0);
        assertEquals(0, g.deviceCfg(CFG_WRITEBACK, 1));
        assertFalse(g.blk.writeCacheEnabled());
        g.common(DEVICE_STATUS, 1, 0);
        assertTrue(g.blk.writeCacheEnabled(), "reset restores the drive's cache mode");
    }

    @Test
    void resizeTellsTheGuest() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures());
        int gen = (int) g.common(CONFIG_GENERATION, 1);
        d.resize(DISK * 2);
        assertEquals(DISK * 2 / 512, g.deviceCfg(CFG_CAPACITY, 8));
        assertEquals((gen + 1) & 0xff, g.common(CONFIG_GENERATION, 1));
        assertTrue(g.intx.level(), "INTx raised for the configuration change");
        assertEquals(VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG, g.modern.read(ISR_CFG_OFFSET, 1));
        assertFalse(g.intx.level());
        assertEquals(0, g.modern.read(ISR_CFG_OFFSET, 1), "reading ISR cleared it");
    }

    @Test
    void secondQueueWorksAndUsesItsOwnVector() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, new VirtioBlkOptions("vd0", "", 2, 256, true), null);
        assertTrue(g.negotiate(VirtioGuest.defaultFeatures() | 1L << VIRTIO_BLK_F_MQ));
        g.setupQueue(0, 0, 1);
        g.setupQueue(1, 128, 2);
        g.common(CONFIG_MSIX_VECTOR, 2, 0);
        g.common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(List.of("fe003000/2/0", "fe003004/2/1"), g.ioevents.live);
        for (int v = 0; v < 3; v++) {
            g.msix.write(16L * v + MsixTable.VECTOR_CTRL, 4, 0);
        }
        g.t.writeConfig(CAP_MSIX + 2, 2, MsixTable.MSIX_ENABLE);
        long h = g.header(VIRTIO_BLK_T_FLUSH, 0);
        long st = g.alloc(1);
        g.writeDesc(1, 5, h, 16, VIRTQ_DESC_F_NEXT, 6);
        g.writeDesc(1, 6, st, 1, VIRTQ_DESC_F_WRITE, 0);
        g.queueSize = 128;
        g.makeAvailable(1, 5);
        g.kick(1);
        g.awaitUsed(1, 1);
        assertEquals(5, g.usedId(1, 0));
        VirtioPciTransportTest.awaitTrue(() -> g.msi.triggers.get(2) == 1, "queue 1's vector");
        assertEquals(0, g.msi.triggers.get(1));
        // a resize goes to the configuration vector
        d.resize(DISK * 2);
        assertEquals(1, g.msi.triggers.get(0));
    }

    @Test
    void resetDropsAKeptRequest() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        g = new VirtioGuest(d, VirtioBlkOptions.defaults("vd0"), null);
        g.start(VirtioGuest.defaultFeatures());
        d.failFlush = new IOException("Input/output error");
        d.action = BlockBackend.ErrorAction.STOP;
        g.request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        g.makeAvailable(0, 0);
        g.kick(0);
        VirtioPciTransportTest.awaitTrue(() -> !d.errors.isEmpty(), "the error");
        g.common(DEVICE_STATUS, 1, 0);
        d.failFlush = null;
        d.retry.run();
        VirtioPciTransportTest.sleep(50);
        assertEquals(0, g.usedIdx(0), "the dropped request is not completed after reset");
        assertEquals(1, d.log.stream().filter("flush"::equals).count());
    }

    @Test
    void geometryFromAPartitionTable() {
        FakeBlockBackend d = new FakeBlockBackend(DISK);
        // one partition ending at head 31 (32 heads: LBA translation, so the size guess wins) ...
        d.disk[510] = 0x55;
        d.disk[511] = (byte) 0xaa;
        d.disk[0x1be + 5] = 31;
        d.disk[0x1be + 6] = 32;
        d.disk[0x1be + 12] = 1;
        assertEquals(new DiskGeometry(130, 16, 63), DiskGeometry.guess(d));
        // ... and one ending at head 7, sector 32: used as the physical geometry
        d.disk[0x1be + 5] = 7;
        assertEquals(new DiskGeometry((int) (DISK / 512 / (8 * 32)), 8, 32), DiskGeometry.guess(d));
        assertEquals(new DiskGeometry(2, 16, 63), DiskGeometry.guess(new FakeBlockBackend(4096)));
        assertEquals(16383, DiskGeometry.fromSize(1L << 40).cylinders());
    }
}
