package dev.jvmm.devices.virtio;

import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.devices.pci.IntxLine;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciInterruptRouter;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static dev.jvmm.devices.virtio.VirtioPciTransport.*;

/**
 * Plays a virtio driver against a {@link VirtioPciTransport}: config space through PciFunction, registers
 * through the BAR handlers, rings in GuestMemory. One queue at a time is driven with a simple allocator.
 */
final class VirtioGuest implements AutoCloseable {
    static final long RAM = 16L << 20;
    static final long BAR4 = 0xfe00_0000L;
    static final long BAR1 = 0xfebf_0000L;
    static final long DESC = 0x10000;
    static final long AVAIL = 0x20000;
    static final long USED = 0x30000;
    static final long DATA = 0x100000;
    static final long QUEUE_STRIDE = 0x40000;

    final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    final FakeBlockBackend disk;
    final RecordingMsi msi = new RecordingMsi();
    final RecordingIoEvents ioevents = new RecordingIoEvents();
    final PciInterruptRouter router = new PciInterruptRouter(n -> high -> { });
    final IntxLine intx = router.line(3, 1);
    final VirtioBlk blk;
    final VirtioPciTransport t;
    final IoHandler modern;
    final IoHandler msix;
    int queueSize = 256;
    int[] availIdx = new int[8];
    long nextData = DATA;

    VirtioGuest(FakeBlockBackend disk, VirtioBlkOptions opts, IoEventRegistry registry) {
        this(disk, new VirtioBlk(disk, opts), opts.id(), registry);
        disk.log.clear(); // the geometry guess read sector 0
    }

    /** A driver for any virtio device (disk and blk null unless it is a block device). */
    VirtioGuest(VirtioDevice device, String id) {
        this(null, device, id, null);
    }

    private VirtioGuest(FakeBlockBackend disk, VirtioDevice device, String id, IoEventRegistry registry) {
        this.disk = disk;
        this.blk = device instanceof VirtioBlk b ? b : null;
        this.t = new VirtioPciTransport(mem, device, msi, registry == null ? ioevents : registry, id);
        t.connectIntx(intx);
        msix = t.bars().size() > 1 ? t.bars().get(0).handler() : null;
        modern = t.bars().get(t.bars().size() - 1).handler();
        // place the BARs as firmware would and enable memory decoding
        t.writeConfig(PciConfigSpace.BAR0 + 4, 4, (int) BAR1);
        t.writeConfig(PciConfigSpace.BAR0 + 16, 4, (int) BAR4);
        t.writeConfig(PciConfigSpace.BAR0 + 20, 4, 0);
        t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_MASTER);
    }

    VirtioGuest(long diskSize) {
        this(new FakeBlockBackend(diskSize), VirtioBlkOptions.defaults("vd0"), null);
    }

    long common(int off, int size) {
        return modern.read(COMMON_CFG_OFFSET + off, size);
    }

    void common(int off, int size, long v) {
        modern.write(COMMON_CFG_OFFSET + off, size, v);
    }

    long deviceCfg(int off, int size) {
        return modern.read(DEVICE_CFG_OFFSET + off, size);
    }

    int status() {
        return (int) common(DEVICE_STATUS, 1);
    }

    long deviceFeatures() {
        common(DEVICE_FEATURE_SELECT, 4, 0);
        long lo = common(DEVICE_FEATURE, 4);
        common(DEVICE_FEATURE_SELECT, 4, 1);
        return lo | common(DEVICE_FEATURE, 4) << 32;
    }

    /** Section 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether it stuck. */
    boolean negotiate(long features) {
        common(DEVICE_STATUS, 1, 0);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER);
        common(DRIVER_FEATURE_SELECT, 4, 0);
        common(DRIVER_FEATURE, 4, features & 0xffff_ffffL);
        common(DRIVER_FEATURE_SELECT, 4, 1);
        common(DRIVER_FEATURE, 4, features >>> 32);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        return (status() & FEATURES_OK) != 0;
    }

    long desc(int q) {
        return DESC + q * QUEUE_STRIDE;
    }

    long avail(int q) {
        return AVAIL + q * QUEUE_STRIDE;
    }

    long used(int q) {
        return USED + q * QUEUE_STRIDE;
    }

    void setupQueue(int q, int size, int vector) {
        common(QUEUE_SELECT, 2, q);
        if (size != 0) {
            common(QUEUE_SIZE, 2, size);
        }
        queueSize = (int) common(QUEUE_SIZE, 2);
        common(QUEUE_MSIX_VECTOR, 2, vector);
        common(QUEUE_DESC_LO, 4, desc(q));
        common(QUEUE_DESC_HI, 4, 0);
        common(QUEUE_DRIVER_LO, 4, avail(q));
        common(QUEUE_DRIVER_HI, 4, 0);
        common(QUEUE_DEVICE_LO, 4, used(q));
        common(QUEUE_DEVICE_HI, 4, 0);
        common(QUEUE_ENABLE, 2, 1);
    }

    /** Full driver start: features, queue 0 (size 256), DRIVER_OK. */
    void start(long features) {
        if (!negotiate(features)) {
            throw new AssertionError("FEATURES_OK refused");
        }
        setupQueue(0, 0, 1);
        common(CONFIG_MSIX_VECTOR, 2, 0);
        common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    }

    /** Driver reload: reset, clean rings for queue 0, start again. */
    void restart(long features) {
        common(DEVICE_STATUS, 1, 0);
        mem.zero(avail(0), 4 + 2L * queueSize + 2);
        mem.zero(used(0), 4 + 8L * queueSize + 2);
        availIdx[0] = 0;
        start(features);
    }

    /** Publishes descriptor head on queue q, kicks, and waits for DEVICE_NEEDS_RESET. */
    void submitExpectingFailure(int q, int head) {
        makeAvailable(q, head);
        kick(q);
        awaitBroken();
    }

    static long defaultFeatures() {
        return 1L << VIRTIO_F_VERSION_1 | 1L << VirtioBlk.VIRTIO_BLK_F_FLUSH
                | 1L << VirtioBlk.VIRTIO_BLK_F_CONFIG_WCE;
    }

    void writeDesc(int q, int i, long addr, int len, int flags, int next) {
        long d = desc(q) + 16L * i;
        mem.writeLong(d, addr);
        mem.writeInt(d + 8, len);
        mem.writeShort(d + 12, (short) flags);
        mem.writeShort(d + 14, (short) next);
    }

    /** Puts head in the avail ring and publishes it (no kick). */
    void makeAvailable(int q, int head) {
        mem.writeShort(avail(q) + 4 + 2L * (availIdx[q] % queueSize), (short) head);
        availIdx[q] = (availIdx[q] + 1) & 0xffff;
        mem.writeShort(avail(q) + 2, (short) availIdx[q]);
    }

    void kick(int q) {
        modern.write(NOTIFY_CFG_OFFSET + 4L * q, 2, q);
    }

    int usedIdx(int q) {
        return mem.readShort(used(q) + 2) & 0xffff;
    }

    int usedId(int q, int slot) {
        return mem.readInt(used(q) + 4 + 8L * (slot % queueSize));
    }

    int usedLen(int q, int slot) {
        return mem.readInt(used(q) + 8 + 8L * (slot % queueSize));
    }

    /** Waits (up to 5 s) until the used index reaches idx. */
    void awaitUsed(int q, int idx) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (usedIdx(q) != idx) {
            if (System.nanoTime() > end) {
                throw new AssertionError("used index stuck at " + usedIdx(q) + ", wanted " + idx
                        + (t.broken() ? " (broken: " + t.lastError() + ")" : ""));
            }
            Thread.onSpinWait();
        }
    }

    /** Waits until the device reports DEVICE_NEEDS_RESET. */
    void awaitBroken() {
        long end = System.nanoTime() + 5_000_000_000L;
        while ((status() & DEVICE_NEEDS_RESET) == 0) {
            if (System.nanoTime() > end) {
                throw new AssertionError("device did not fail");
            }
            Thread.onSpinWait();
        }
    }

    long alloc(int len) {
        long a = nextData;
        nextData = (nextData + len + 0xfff) & ~0xfffL;
        return a;
    }

    /** Header (type, sector) in its own buffer; returns its address. */
    long header(int type, long sector) {
        long h = alloc(16);
        mem.writeInt(h, type);
        mem.writeInt(h + 4, 0);
        mem.writeLong(h + 8, sector);
        return h;
    }

    /**
     * A classic three-descriptor request (header, data, status) at descriptors base..base+2 of queue 0;
     * returns the status byte's address. data may be 0 for none.
     */
    long request(int base, int type, long sector, long data, int dataLen, boolean dataWritable) {
        long h = header(type, sector);
        long st = alloc(1);
        mem.writeByte(st, (byte) 0x7f);
        if (dataLen > 0) {
            writeDesc(0, base, h, 16, VirtQueue.VIRTQ_DESC_F_NEXT, base + 1);
            writeDesc(0, base + 1, data, dataLen,
                    VirtQueue.VIRTQ_DESC_F_NEXT | (dataWritable ? VirtQueue.VIRTQ_DESC_F_WRITE : 0), base + 2);
            writeDesc(0, base + 2, st, 1, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
        } else {
            writeDesc(0, base, h, 16, VirtQueue.VIRTQ_DESC_F_NEXT, base + 1);
            writeDesc(0, base + 1, st, 1, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
        }
        return st;
    }

    /** Submits one request on queue 0, kicks, waits for it, and returns its status byte. */
    int run(int type, long sector, long data, int dataLen, boolean dataWritable) {
        long st = request(0, type, sector, data, dataLen, dataWritable);
        int expect = (usedIdx(0) + 1) & 0xffff;
        makeAvailable(0, 0);
        kick(0);
        awaitUsed(0, expect);
        return mem.readByte(st) & 0xff;
    }

    @Override
    public void close() {
        t.close();
        mem.close();
    }

    /** MSI vectors that record their triggers and latest route. */
    static final class RecordingMsi implements MsiRouter {
        final AtomicIntegerArray triggers = new AtomicIntegerArray(64);
        final List<String> updates = new CopyOnWriteArrayList<>();
        int allocated;

        @Override
        public synchronized MsiVector allocate() {
            int n = allocated++;
            return new MsiVector() {
                @Override
                public void update(long address, int data) {
                    updates.add(n + ":" + Long.toHexString(address) + "/" + Integer.toHexString(data));
                }

                @Override
                public void trigger() {
                    triggers.incrementAndGet(n);
                }

                @Override
                public void close() {
                }
            };
        }
    }

    /** An IoEventRegistry that accepts everything and remembers what is registered. */
    static final class RecordingIoEvents implements IoEventRegistry {
        final List<String> live = new CopyOnWriteArrayList<>();
        final List<String> log = new CopyOnWriteArrayList<>();

        @Override
        public boolean register(long addr, int len, boolean pio, long datamatch, EventFd fd) {
            String k = Long.toHexString(addr) + "/" + len + "/" + datamatch;
            live.add(k);
            log.add("+" + k);
            return true;
        }

        @Override
        public void unregister(long addr, int len, boolean pio, long datamatch, EventFd fd) {
            String k = Long.toHexString(addr) + "/" + len + "/" + datamatch;
            if (!live.remove(k)) {
                throw new AssertionError("unregistering " + k + " that is not registered");
            }
            log.add("-" + k);
        }
    }
}
