package dev.jvmm.devices.virtio;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static dev.jvmm.devices.virtio.VirtioBalloon.*;
import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The balloon device driven through its PCI transport: configuration, inflate/deflate, statistics, abuse. */
class VirtioBalloonTest {
    static final long RAM = 32L << 20;
    static final long BAR4 = 0xfe00_0000L;
    static final long DESC = 0x10000;
    static final long AVAIL = 0x20000;
    static final long USED = 0x30000;
    static final long STRIDE = 0x40000;
    static final long PFNS = 0x200000;
    static final long STATS = 0x210000;
    static final long VERSION_1 = 1L << VIRTIO_F_VERSION_1;

    final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    /** Guest time, running as in a started VM. */
    final VirtualClock clock = new VirtualClock(System::nanoTime, timers);
    final List<Long> changes = new CopyOnWriteArrayList<>();
    VirtioBalloon balloon;
    VirtioPciTransport t;
    IoHandler modern;
    final int[] availIdx = new int[4];

    void build(VirtioBalloonOptions opts) {
        clock.resume();
        balloon = new VirtioBalloon(opts, RAM, changes::add, clock);
        t = VirtioBalloon.pci(mem, balloon, new VirtioGuest.RecordingMsi(), null);
        assertEquals(1, t.bars().size(), "no MSI-X BAR, as QEMU's virtio-balloon-pci");
        modern = t.bars().get(0).handler();
        t.writeConfig(PciConfigSpace.BAR0 + 16, 4, (int) BAR4);
        t.writeConfig(PciConfigSpace.BAR0 + 20, 4, 0);
        t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_MASTER);
    }

    @AfterEach
    void close() {
        if (t != null) {
            t.close();
        }
        timers.shutdownNow();
        mem.close();
    }

    long common(int off, int size) {
        return modern.read(COMMON_CFG_OFFSET + off, size);
    }

    void common(int off, int size, long v) {
        modern.write(COMMON_CFG_OFFSET + off, size, v);
    }

    long cfg(int off, int size) {
        return modern.read(DEVICE_CFG_OFFSET + off, size);
    }

    void cfg(int off, int size, long v) {
        modern.write(DEVICE_CFG_OFFSET + off, size, v);
    }

    long features() {
        common(DEVICE_FEATURE_SELECT, 4, 0);
        long lo = common(DEVICE_FEATURE, 4);
        common(DEVICE_FEATURE_SELECT, 4, 1);
        return lo | common(DEVICE_FEATURE, 4) << 32;
    }

    void start(long features) {
        common(DEVICE_STATUS, 1, 0);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER);
        common(DRIVER_FEATURE_SELECT, 4, 0);
        common(DRIVER_FEATURE, 4, features & 0xffff_ffffL);
        common(DRIVER_FEATURE_SELECT, 4, 1);
        common(DRIVER_FEATURE, 4, features >>> 32);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        for (int q = 0; q < balloon.queueCount(); q++) {
            common(QUEUE_SELECT, 2, q);
            common(QUEUE_SIZE, 2, 16);
            common(QUEUE_DESC_LO, 4, DESC + q * STRIDE);
            common(QUEUE_DRIVER_LO, 4, AVAIL + q * STRIDE);
            common(QUEUE_DEVICE_LO, 4, USED + q * STRIDE);
            common(QUEUE_ENABLE, 2, 1);
        }
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    }

    /** Puts a one-descriptor chain (descriptor slot d) on queue q and kicks. */
    void submit(int q, int d, long addr, int len, boolean writable) {
        long desc = DESC + q * STRIDE + 16L * d;
        mem.writeLong(desc, addr);
        mem.writeInt(desc + 8, len);
        mem.writeShort(desc + 12, (short) (writable ? VirtQueue.VIRTQ_DESC_F_WRITE : 0));
        mem.writeShort(desc + 14, (short) 0);
        long avail = AVAIL + q * STRIDE;
        mem.writeShort(avail + 4 + 2L * (availIdx[q] % 16), (short) d);
        availIdx[q]++;
        mem.writeShort(avail + 2, (short) availIdx[q]);
        modern.write(NOTIFY_CFG_OFFSET + (long) NOTIFY_OFF_MULTIPLIER * q, 2, q);
    }

    int usedIdx(int q) {
        return mem.readShort(USED + q * STRIDE + 2) & 0xffff;
    }

    void awaitUsed(int q, int idx) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (usedIdx(q) != idx && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        assertEquals(idx, usedIdx(q), "used index of queue " + q);
    }

    @Test
    void featuresAndConfigurationAsQemu() {
        build(VirtioBalloonOptions.defaults("b"));
        assertEquals(1L << VIRTIO_BALLOON_F_STATS_VQ | 1L << VIRTIO_BALLOON_F_PAGE_POISON
                | 1L << VIRTIO_F_RING_INDIRECT_DESC | 1L << VIRTIO_F_RING_EVENT_IDX | VERSION_1
                | 1L << VIRTIO_F_RING_RESET, features());
        assertEquals(0x1045, t.readConfig(PciConfigSpace.DEVICE_ID, 2));
        assertEquals(0x00ff00, t.readConfig(PciConfigSpace.REVISION_ID, 4) >>> 8);
        assertEquals(CAP_PCI_CFG, t.readConfig(PciConfigSpace.CAPABILITY_LIST, 1));
        assertEquals(3, common(NUM_QUEUES, 2));
        common(QUEUE_SELECT, 2, 0);
        assertEquals(128, common(QUEUE_SIZE, 2));
        for (int off = 0; off < 16; off += 4) {
            assertEquals(0, cfg(off, 4));
        }
        assertEquals(0xffff_ffffL, cfg(16, 4), "past the 16-byte configuration");
        balloon.setTarget(RAM - (8L << 20));
        assertEquals(2048, cfg(CFG_NUM_PAGES, 4));
        balloon.setTarget(RAM * 4); // clamped: an empty balloon
        assertEquals(0, cfg(CFG_NUM_PAGES, 4));
        balloon.setTarget(0); // ignored
        assertEquals(0, cfg(CFG_NUM_PAGES, 4));
    }

    @Test
    void optionalFeaturesAndShortConfiguration() {
        build(new VirtioBalloonOptions("b", true, false, true));
        long f = features();
        assertTrue((f & 1L << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) != 0);
        assertTrue((f & 1L << VIRTIO_BALLOON_F_REPORTING) != 0);
        assertFalse((f & 1L << VIRTIO_BALLOON_F_PAGE_POISON) != 0);
        assertEquals(4, common(NUM_QUEUES, 2));
        common(QUEUE_SELECT, 2, 3);
        assertEquals(32, common(QUEUE_SIZE, 2));
        assertEquals(0, cfg(4, 4));
        assertEquals(0xffff_ffffL, cfg(8, 4), "8 bytes of configuration without page-poison");
    }

    @Test
    void actualWritesReportChanges() {
        build(VirtioBalloonOptions.defaults("b"));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_STATS_VQ);
        cfg(CFG_ACTUAL, 4, 256);
        assertEquals(List.of(RAM - (1L << 20)), changes);
        assertEquals(RAM - (1L << 20), balloon.actualBytes());
        cfg(CFG_ACTUAL, 4, 256); // no change, no event
        cfg(CFG_NUM_PAGES, 4, 99); // read-only for the driver: num_pages stays, actual is rewritten unchanged
        assertEquals(1, changes.size());
        assertEquals(0, cfg(CFG_NUM_PAGES, 4));
        cfg(CFG_ACTUAL + 1, 1, 2); // a byte write keeps the other bytes last read: 0x200
        assertEquals(0x200, balloon.actualPages());
        assertEquals(List.of(RAM - (1L << 20), RAM - (0x200L << 12)), changes);
        // a device reset keeps actual (QEMU's query-balloon keeps its value over a reboot)
        common(DEVICE_STATUS, 1, 0);
        assertEquals(0x200, cfg(CFG_ACTUAL, 4));
    }

    @Test
    void inflateDiscardsRamAndIgnoresTheRest() throws Exception {
        build(VirtioBalloonOptions.defaults("b"));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_STATS_VQ);
        long[] ram = {0x400000, 0x401000, 0x402000, 0x800000, RAM - 4096};
        for (long a : ram) {
            mem.writeLong(a, 0x1234);
        }
        mem.writeLong(0xa0000, 0x55); // legacy VGA window: QEMU never discards it
        long[] pfns = {0x400, 0x401, 0x402, 0x800, (RAM >> 12) - 1, 0xa0, RAM >> 12, 0xfee00, 0xffffffffL, 0x400};
        for (int i = 0; i < pfns.length; i++) {
            mem.writeInt(PFNS + 4L * i, (int) pfns[i]);
        }
        // 3 trailing bytes make no page number and are ignored
        submit(INFLATEQ, 0, PFNS, 4 * pfns.length + 3, false);
        awaitUsed(INFLATEQ, 1);
        assertEquals(0, mem.readInt(USED + 8), "used length 0, as QEMU");
        for (long a : ram) {
            assertEquals(0, mem.readLong(a), "page " + Long.toHexString(a) + " discarded");
        }
        assertEquals(0x55, mem.readLong(0xa0000));
        // deflate: nothing to do, the pages are usable again
        submit(DEFLATEQ, 0, PFNS, 4 * pfns.length, false);
        awaitUsed(DEFLATEQ, 1);
        mem.writeLong(0x400000, 7);
        assertEquals(7, mem.readLong(0x400000));
        // a device-writable buffer and a 2-byte buffer are completed and change nothing
        mem.writeLong(0x900000, 9);
        mem.writeInt(PFNS, 0x900);
        submit(INFLATEQ, 1, PFNS, 4, true);
        submit(INFLATEQ, 2, PFNS, 2, false);
        awaitUsed(INFLATEQ, 3);
        assertEquals(9, mem.readLong(0x900000));
        assertFalse(t.broken());
    }

    @Test
    void statisticsAndPolling() throws Exception {
        build(VirtioBalloonOptions.defaults("b"));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_STATS_VQ);
        GuestStats none = balloon.guestStats();
        assertEquals(0, none.lastUpdate());
        for (long v : none.stats()) {
            assertEquals(STAT_UNSET, v);
        }
        int[] tags = {VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 99, VIRTIO_BALLOON_S_SWAP_IN};
        long[] vals = {1111, 2222, 3333, 4444};
        for (int i = 0; i < tags.length; i++) {
            mem.writeShort(STATS + 10L * i, (short) tags[i]);
            mem.writeLong(STATS + 10L * i + 2, vals[i]);
        }
        submit(STATSQ, 0, STATS, 10 * tags.length + 5, false);
        long end = System.nanoTime() + 5_000_000_000L;
        while (balloon.guestStats().lastUpdate() == 0 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        long[] expected = new long[VIRTIO_BALLOON_S_NR];
        java.util.Arrays.fill(expected, STAT_UNSET);
        expected[VIRTIO_BALLOON_S_MEMFREE] = 1111;
        expected[VIRTIO_BALLOON_S_MEMTOT] = 2222;
        expected[VIRTIO_BALLOON_S_SWAP_IN] = 4444;
        assertArrayEquals(expected, balloon.guestStats().stats());
        assertTrue(balloon.guestStats().lastUpdate() > 1_600_000_000L);
        assertEquals(0, usedIdx(STATSQ), "the device keeps the stats buffer until it polls");
        balloon.setStatsPollInterval(1);
        awaitUsed(STATSQ, 1); // turning polling on asks at once
        assertEquals(1, balloon.statsPollInterval());
        assertThrows(IllegalArgumentException.class, () -> balloon.setStatsPollInterval(-1));
        assertThrows(IllegalArgumentException.class, () -> balloon.setStatsPollInterval(1L << 32));
        balloon.setStatsPollInterval(0);
        assertEquals(0, balloon.statsPollInterval());
        // a second buffer while one is kept: the kept one goes back at once
        submit(STATSQ, 1, STATS, 10, false);
        Thread.sleep(50);
        submit(STATSQ, 2, STATS, 10, false);
        awaitUsed(STATSQ, 2);
        assertEquals(1, mem.readInt(USED + STATSQ * STRIDE + 4 + 8), "buffer 1 returned");
        assertFalse(t.broken());
    }

    /**
     * A 2 MiB block with ballooned pages is kept from transparent huge pages (VmFlags "nh") until its last
     * ballooned page is taken back ("hg" again), so khugepaged cannot fill the discarded pages.
     */
    @Test
    void ballooned2MiBBlocksAreKeptFromHugePages() throws Exception {
        build(VirtioBalloonOptions.defaults("b"));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_STATS_VQ);
        long block = 0x800000;
        assertTrue(vmFlags(mem.hostAddress(0) + block).contains(" hg"), vmFlags(mem.hostAddress(0) + block));
        long[] pfns = {0x800, 0x802, 0x802, 0xa00};
        for (int i = 0; i < pfns.length; i++) {
            mem.writeInt(PFNS + 4L * i, (int) pfns[i]);
        }
        submit(INFLATEQ, 0, PFNS, 4 * pfns.length, false);
        awaitUsed(INFLATEQ, 1);
        assertEquals(2, balloon.balloonedBlocks());
        String flags = vmFlags(mem.hostAddress(0) + block);
        assertTrue(flags.contains(" nh") && !flags.contains(" hg"), flags);
        assertTrue(vmFlags(mem.hostAddress(0) + 0x600000).contains(" hg"), "the block before is untouched");
        // taking back one of the two pages keeps the block; the second frees it
        mem.writeInt(PFNS, 0x800);
        submit(DEFLATEQ, 0, PFNS, 4, false);
        awaitUsed(DEFLATEQ, 1);
        assertTrue(vmFlags(mem.hostAddress(0) + block).contains(" nh"));
        mem.writeInt(PFNS, 0x802);
        mem.writeInt(PFNS + 4, 0x802); // twice, and a page never given: no harm
        mem.writeInt(PFNS + 8, 0x900);
        submit(DEFLATEQ, 1, PFNS, 12, false);
        awaitUsed(DEFLATEQ, 2);
        assertTrue(vmFlags(mem.hostAddress(0) + block).contains(" hg"), vmFlags(mem.hostAddress(0) + block));
        assertEquals(1, balloon.balloonedBlocks());
        // a device reset forgets the balloon
        common(DEVICE_STATUS, 1, 0);
        assertEquals(0, balloon.balloonedBlocks());
        assertTrue(vmFlags(mem.hostAddress(0) + 0xa00000).contains(" hg"));
    }

    /** The VmFlags line of the mapping of this process that holds addr. */
    static String vmFlags(long addr) throws java.io.IOException {
        boolean in = false;
        for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/smaps"))) {
            if (l.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] r = l.substring(0, l.indexOf(' ')).split("-");
                in = Long.compareUnsigned(Long.parseUnsignedLong(r[0], 16), addr) <= 0
                        && Long.compareUnsigned(addr, Long.parseUnsignedLong(r[1], 16)) < 0;
            } else if (in && l.startsWith("VmFlags:")) {
                return l;
            }
        }
        return "(no mapping)";
    }

    /** The polling timer runs on QEMU's virtual clock: nothing is handed back while the VM is stopped. */
    @Test
    void pollingWaitsWhileTheVmIsStopped() throws Exception {
        build(VirtioBalloonOptions.defaults("b"));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_STATS_VQ);
        submit(STATSQ, 0, STATS, 10, false);
        long end = System.nanoTime() + 5_000_000_000L;
        while (balloon.guestStats().lastUpdate() == 0 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        clock.pause();
        balloon.setStatsPollInterval(1);
        Thread.sleep(300);
        assertEquals(0, usedIdx(STATSQ), "polled while stopped");
        clock.resume();
        awaitUsed(STATSQ, 1);
    }

    @Test
    void freePageReportingDiscardsAlignedRam() throws Exception {
        build(new VirtioBalloonOptions("b", false, true, true));
        start(VERSION_1 | 1L << VIRTIO_BALLOON_F_REPORTING | 1L << VIRTIO_BALLOON_F_PAGE_POISON);
        mem.writeLong(0x600000, 3);
        mem.writeLong(0x700010, 3);
        submit(REPORTING_VQ, 0, 0x600000, 0x2000, true);
        submit(REPORTING_VQ, 1, 0x700010, 0x1000, true); // unaligned: kept
        awaitUsed(REPORTING_VQ, 2);
        assertEquals(0, mem.readLong(0x600000));
        assertEquals(3, mem.readLong(0x700010));
        // with poison_val set, nothing is discarded
        cfg(CFG_POISON_VAL, 4, 0xaa);
        mem.writeLong(0x600000, 3);
        submit(REPORTING_VQ, 2, 0x600000, 0x1000, true);
        awaitUsed(REPORTING_VQ, 3);
        assertEquals(3, mem.readLong(0x600000));
    }
}
