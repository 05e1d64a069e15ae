package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.BlockBackend;
import dev.jvmm.core.block.HostIoException;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.jvmm.core.qom.Property.fixed;

/**
 * Virtio 1.1, section 5.2: the block device, behaving as QEMU 7.2's virtio-blk (hw/block/virtio-blk.c):
 * same features offered, same configuration values, same request checks and statuses. Data moves straight
 * between guest RAM and the disk, no copies. Reads and writes on a raw image go to the drive's aio= engine and
 * many are in flight at once ({@link VirtioBlkAio}); the rest (qcow2 and filters, writethrough, chains too long
 * or unaligned for a slot, flush, discard, write-zeroes, get-id) run synchronously on the transport's device
 * thread. A flush first waits for every request in flight, so an acknowledged flush covers them.
 *
 * <p>Errors follow the drive's werror/rerror: REPORT completes with IOERR, IGNORE with OK, STOP keeps the
 * request until the backend's retry handler runs when the VM resumes (a synchronous one also stops popping its
 * queue; requests already in flight finish as they come, as in QEMU).
 */
public final class VirtioBlk implements VirtioDevice {
    /** Section 5.2.1: virtio device ID. */
    public static final int VIRTIO_ID_BLOCK = 2;
    /** PCI class code of QEMU's virtio-blk-pci: mass storage, SCSI (query-pci "SCSI controller"). */
    public static final int PCI_CLASS_STORAGE_SCSI = 0x010000;

    /** Section 5.2.3: feature bits. */
    public static final int VIRTIO_BLK_F_SIZE_MAX = 1;
    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    public static final int VIRTIO_BLK_F_GEOMETRY = 4;
    public static final int VIRTIO_BLK_F_RO = 5;
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    public static final int VIRTIO_BLK_F_FLUSH = 9;
    public static final int VIRTIO_BLK_F_TOPOLOGY = 10;
    public static final int VIRTIO_BLK_F_CONFIG_WCE = 11;
    public static final int VIRTIO_BLK_F_MQ = 12;
    public static final int VIRTIO_BLK_F_DISCARD = 13;
    public static final int VIRTIO_BLK_F_WRITE_ZEROES = 14;

    /** Section 5.2.4: struct virtio_blk_config offsets. */
    public static final int CFG_CAPACITY = 0x00;
    public static final int CFG_SIZE_MAX = 0x08;
    public static final int CFG_SEG_MAX = 0x0c;
    public static final int CFG_GEOMETRY_CYLINDERS = 0x10;
    public static final int CFG_GEOMETRY_HEADS = 0x12;
    public static final int CFG_GEOMETRY_SECTORS = 0x13;
    public static final int CFG_BLK_SIZE = 0x14;
    public static final int CFG_PHYSICAL_BLOCK_EXP = 0x18;
    public static final int CFG_ALIGNMENT_OFFSET = 0x19;
    public static final int CFG_MIN_IO_SIZE = 0x1a;
    public static final int CFG_OPT_IO_SIZE = 0x1c;
    public static final int CFG_WRITEBACK = 0x20;
    public static final int CFG_NUM_QUEUES = 0x22;
    public static final int CFG_MAX_DISCARD_SECTORS = 0x24;
    public static final int CFG_MAX_DISCARD_SEG = 0x28;
    public static final int CFG_DISCARD_SECTOR_ALIGNMENT = 0x2c;
    public static final int CFG_MAX_WRITE_ZEROES_SECTORS = 0x30;
    public static final int CFG_MAX_WRITE_ZEROES_SEG = 0x34;
    public static final int CFG_WRITE_ZEROES_MAY_UNMAP = 0x38;
    /** QEMU 7.2 exposes the structure up to write_zeroes_may_unmap when WRITE_ZEROES is offered. */
    public static final int CONFIG_LENGTH = 0x39;

    /** Section 5.2.6: request types and status values. */
    public static final int VIRTIO_BLK_T_IN = 0;
    public static final int VIRTIO_BLK_T_OUT = 1;
    /** Legacy SCSI passthrough (virtio 0.9.5 appendix); QEMU 7.2 builds it without scsi=on support. */
    public static final int VIRTIO_BLK_T_SCSI_CMD = 2;
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    public static final int VIRTIO_BLK_T_GET_ID = 8;
    public static final int VIRTIO_BLK_T_DISCARD = 11;
    public static final int VIRTIO_BLK_T_WRITE_ZEROES = 13;
    /** Legacy barrier flag, ignored as QEMU ignores it. */
    public static final int VIRTIO_BLK_T_BARRIER = 0x8000_0000;
    public static final int VIRTIO_BLK_S_OK = 0;
    public static final int VIRTIO_BLK_S_IOERR = 1;
    public static final int VIRTIO_BLK_S_UNSUPP = 2;
    public static final int VIRTIO_BLK_ID_BYTES = 20;
    public static final int VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
    /** Request header (type, reserved, sector) and discard/write-zeroes segment sizes. */
    static final int OUTHDR_SIZE = 16;
    static final int DWZ_SEGMENT_SIZE = 16;

    public static final int SECTOR_SIZE = 512;
    /** QEMU's BDRV_REQUEST_MAX_SECTORS (INT_MAX >> 9), the default max-discard/write-zeroes-sectors. */
    public static final int BDRV_REQUEST_MAX_SECTORS = Integer.MAX_VALUE >> 9;

    /** num-queues' default: QEMU then gives one queue per vCPU. */
    public static final long AUTO_NUM_QUEUES = 0xffff;

    /**
     * QEMU 7.2's virtio-blk-device. jvmm honours drive, serial, num-queues, queue-size, write-cache, werror and
     * rerror; bootindex and the BIOS geometry hints (lcyls, lheads, lsecs) only speak to firmware, which jvmm
     * boots without, and request-merging changes nothing the guest sees. The rest keep QEMU's defaults.
     */
    public static final TypeInfo TYPE = TypeInfo.type("virtio-blk-device", "virtio-device").category("Storage")
            .props(Property.of("drive", PropType.DRIVE),
                    Property.of("serial", PropType.STR),
                    Property.of("num-queues", PropType.UINT16, AUTO_NUM_QUEUES),
                    Property.of("queue-size", PropType.UINT16, (long) VirtioBlkOptions.DEFAULT_QUEUE_SIZE),
                    Property.of("write-cache", PropType.ON_OFF_AUTO, "auto"),
                    Property.of("werror", PropType.BLOCKDEV_ON_ERROR, "auto"),
                    Property.of("rerror", PropType.BLOCKDEV_ON_ERROR, "auto"),
                    Property.of("bootindex", PropType.INT32),
                    Property.of("lcyls", PropType.UINT32, 0L),
                    Property.of("lheads", PropType.UINT32, 0L),
                    Property.of("lsecs", PropType.UINT32, 0L),
                    Property.of("request-merging", PropType.BIT, true),
                    fixed("cyls", PropType.UINT32, 0L),
                    fixed("heads", PropType.UINT32, 0L),
                    fixed("secs", PropType.UINT32, 0L),
                    fixed("share-rw", PropType.BOOL, false)
                            .only("jvmm locks images for exclusive write: share-rw=VALUE is not supported", false),
                    fixed("account-invalid", PropType.ON_OFF_AUTO, "auto"),
                    fixed("account-failed", PropType.ON_OFF_AUTO, "auto"),
                    // auto means off in QEMU 7.2
                    fixed("backend_defaults", PropType.ON_OFF_AUTO, "auto")
                            .only("jvmm's disks have 512-byte sectors: backend_defaults=VALUE is not supported",
                                    "auto", "off"),
                    fixed("logical_block_size", PropType.BLOCKSIZE, 0L)
                            .only("jvmm's disks have 512-byte sectors: logical_block_size=VALUE is not supported",
                                    0L, (long) SECTOR_SIZE),
                    fixed("physical_block_size", PropType.BLOCKSIZE, 0L)
                            .only("jvmm's disks have 512-byte sectors: physical_block_size=VALUE is not supported",
                                    0L, (long) SECTOR_SIZE),
                    fixed("min_io_size", PropType.SIZE, 0L),
                    fixed("opt_io_size", PropType.SIZE, 0L),
                    fixed("discard_granularity", PropType.SIZE, 0xffff_ffffL),
                    fixed("discard", PropType.BIT, true),
                    fixed("write-zeroes", PropType.BIT, true),
                    fixed("max-discard-sectors", PropType.UINT32, (long) BDRV_REQUEST_MAX_SECTORS),
                    fixed("max-write-zeroes-sectors", PropType.UINT32, (long) BDRV_REQUEST_MAX_SECTORS),
                    fixed("config-wce", PropType.BIT, true),
                    fixed("scsi", PropType.BIT, false),
                    fixed("seg-max-adjust", PropType.BOOL, true),
                    fixed("report-discard-granularity", PropType.BOOL, true),
                    fixed("x-enable-wce-if-config-wce", PropType.BOOL, true),
                    Property.of("iothread", PropType.settableLink("iothread"))
                            .only("iothread=VALUE is not supported by jvmm: virtio-blk runs its queues on the"
                                    + " main loop"),
                    Property.object("legacy-iothread", PropType.object("str")))
            .build();

    /** Only its PCI proxy creates one; on its own it finds no virtio bus, as in QEMU without a proxy. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        throw new PropertyException("No 'virtio-bus' bus found for device '" + TYPE.name() + "'");
    });

    /** Results of handling a request beyond a status byte. */
    private static final int KEEP = -1;
    private static final int BROKEN = -2;
    /** Handed to the aio engine: completes later. */
    private static final int IN_FLIGHT = -3;

    private final BlockBackend backend;
    private final VirtioBlkOptions opts;
    private final DiskGeometry geometry;
    private final byte[] serial;
    private final byte[] header = new byte[OUTHDR_SIZE];
    private final byte[] seg = new byte[DWZ_SEGMENT_SIZE];
    private final ArrayDeque<Kept> kept = new ArrayDeque<>();
    private VirtioHost host;
    private GuestMemory mem;
    private VirtioBlkAio aio;
    private volatile boolean writeCache;
    /** The backend does not flush after writes itself when the cache is off, so this device must. */
    private volatile boolean deviceFlushes;

    /** A request kept by the STOP error action, to run again on resume. */
    private record Kept(VirtQueue queue, DescriptorChain chain) {
    }

    public VirtioBlk(BlockBackend backend, VirtioBlkOptions opts) {
        this.backend = backend;
        this.opts = opts;
        this.geometry = DiskGeometry.guess(backend);
        this.serial = opts.serial().getBytes(StandardCharsets.UTF_8);
        setWriteCache(opts.writeCache());
    }

    /** The guest-visible write cache mode, also told to the drive (query-block shows it, QEMU-like). */
    private void setWriteCache(boolean enabled) {
        writeCache = enabled;
        deviceFlushes = !backend.setWriteCache(enabled);
    }

    public DiskGeometry geometry() {
        return geometry;
    }

    /** Whether writes are cached (config writeback = 1) or followed by a flush. */
    public boolean writeCacheEnabled() {
        return writeCache;
    }

    @Override
    public int deviceType() {
        return VIRTIO_ID_BLOCK;
    }

    @Override
    public int pciClassCode() {
        return PCI_CLASS_STORAGE_SCSI;
    }

    @Override
    public String pciDescription() {
        return "SCSI controller";
    }

    @Override
    public String threadName() {
        return "virtio-blk-" + (opts.id().isEmpty() ? backend.name() : opts.id());
    }

    /** QEMU 7.2's virtio_blk_get_features with default properties (no SIZE_MAX). */
    @Override
    public long deviceFeatures() {
        long f = 1L << VIRTIO_BLK_F_SEG_MAX | 1L << VIRTIO_BLK_F_GEOMETRY | 1L << VIRTIO_BLK_F_BLK_SIZE
                | 1L << VIRTIO_BLK_F_FLUSH | 1L << VIRTIO_BLK_F_TOPOLOGY | 1L << VIRTIO_BLK_F_CONFIG_WCE
                | 1L << VIRTIO_BLK_F_DISCARD | 1L << VIRTIO_BLK_F_WRITE_ZEROES;
        if (backend.readOnly()) {
            f |= 1L << VIRTIO_BLK_F_RO;
        }
        if (opts.numQueues() > 1) {
            f |= 1L << VIRTIO_BLK_F_MQ;
        }
        return f;
    }

    @Override
    public int queueCount() {
        return opts.numQueues();
    }

    @Override
    public int queueMaxSize(int i) {
        return opts.queueSize();
    }

    @Override
    public int configLength() {
        return CONFIG_LENGTH;
    }

    @Override
    public void attach(VirtioHost host) {
        this.host = host;
        this.mem = host.memory();
        this.aio = new VirtioBlkAio(backend, mem, opts.numQueues(), opts.queueSize(), threadName(),
                this::finishedAsync);
        backend.addResizeListener(size -> host.configChanged());
        backend.setRetryHandler(() -> host.execute(this::retryKept));
    }

    @Override
    public int readConfig(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= VirtioBlkConfig.configByte(offset + i, backend.size() / SECTOR_SIZE, opts, geometry, writeCache)
                    << (8 * i);
        }
        return v;
    }

    /** Only writeback is writable: QEMU's virtio_blk_set_config switches the drive's write cache. */
    @Override
    public void writeConfig(int offset, int size, int value) {
        if (offset <= CFG_WRITEBACK && offset + size > CFG_WRITEBACK) {
            setWriteCache(((value >>> (8 * (CFG_WRITEBACK - offset))) & 0xff) != 0);
        }
    }

    /**
     * QEMU's virtio_blk_set_status: a driver without CONFIG_WCE gets writeback exactly when it negotiated
     * FLUSH, so a driver that cannot flush never loses data to a cache.
     */
    @Override
    public void statusChanged(int status) {
        if ((status & VirtioPciTransport.DRIVER_OK) != 0) {
            long f = host.negotiatedFeatures();
            if ((f & 1L << VIRTIO_BLK_F_CONFIG_WCE) == 0) {
                setWriteCache((f & 1L << VIRTIO_BLK_F_FLUSH) != 0);
            }
        }
    }

    /** QEMU's virtio_blk_reset: kept requests are dropped, the write cache mode restored. */
    @Override
    public void reset() {
        kept.clear();
        setWriteCache(opts.writeCache());
    }

    /**
     * Quiescing the device thread drains the aio engine, so every popped request is then either completed or
     * kept by the STOP error action; kept ones are saved with their chains (as QEMU's
     * virtio_blk_save_device) and run again by the retry handler when the VM resumes.
     */
    @Override
    public void saveState(StateWriter w) {
        w.u64("capacity", backend.size()).u32("num-queues", opts.numQueues()).u32("queue-size", opts.queueSize())
                .bool("read-only", backend.readOnly()).str("serial", opts.serial()).bool("write-cache", writeCache);
        w.begin("kept", kept.size());
        for (Kept k : kept) {
            w.u16("queue", k.queue().index());
            ChainState.save(w, k.chain());
        }
        w.end();
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        r.expectU64("capacity", backend.size());
        r.expectU32("num-queues", opts.numQueues());
        r.expectU32("queue-size", opts.queueSize());
        r.expectBool("read-only", backend.readOnly());
        r.expectStr("serial", opts.serial());
        boolean wce = r.bool("write-cache");
        int n = r.begin("kept");
        if (n > opts.numQueues() * opts.queueSize()) {
            throw r.invalid("kept", n + " kept requests, more than the queues hold");
        }
        ArrayDeque<Kept> in = new ArrayDeque<>();
        for (int i = 0; i < n; i++) {
            int q = r.u16("queue");
            if (q >= opts.numQueues()) {
                throw r.invalid("queue", "queue " + q + " of " + opts.numQueues());
            }
            VirtQueue vq = host.queue(q);
            in.add(new Kept(vq, ChainState.load(r, mem, vq)));
        }
        r.end();
        setWriteCache(wce);
        kept.clear();
        kept.addAll(in);
    }

    @Override
    public EventFd asyncCompletions() {
        return aio.completions();
    }

    @Override
    public void reapCompleted() {
        aio.reap(host);
    }

    @Override
    public void queueDrained(VirtQueue queue) {
        aio.unplug();
    }

    @Override
    public void drain() {
        aio.drain(host);
    }

    @Override
    public void release() {
        aio.close();
    }

    /** An engine finished a request: complete it, or apply werror/rerror as the synchronous path does. */
    private void finishedAsync(VirtQueue queue, DescriptorChain chain, boolean write, HostIoException error) {
        int status;
        if (error == null) {
            status = VIRTIO_BLK_S_OK;
        } else if (error.errno() == HostIoException.EINVAL) {
            // O_DIRECT wanted a larger alignment than the image file assumed: the synchronous path finds it out
            // and bounces, as it does for its own requests
            status = execute(null, chain);
            if (status == BROKEN) {
                return;
            }
        } else {
            status = error(!write, error);
        }
        if (status == KEEP) {
            kept.add(new Kept(queue, chain.copy()));
        } else {
            complete(queue, chain, status);
        }
    }

    @Override
    public boolean handle(VirtQueue queue, DescriptorChain chain) {
        int status = execute(queue, chain);
        if (status == KEEP) {
            kept.add(new Kept(queue, chain.copy()));
            return false;
        }
        if (status >= 0) {
            complete(queue, chain, status);
        }
        return true;
    }

    /** The retry handler: runs kept requests again in order (device thread); stops at one kept again. */
    private void retryKept() {
        Kept k;
        while ((k = kept.peek()) != null) {
            int status = execute(null, k.chain());
            if (status == KEEP) {
                return;
            }
            kept.poll();
            if (status >= 0) {
                complete(k.queue(), k.chain(), status);
                host.notifyUsed(k.queue());
            }
        }
        host.resume();
    }

    /** Writes the status byte (last byte of the last writable segment) and returns the chain. */
    private void complete(VirtQueue queue, DescriptorChain c, int status) {
        int last = c.segments() - 1;
        mem.writeByte(c.address(last) + c.length(last) - 1, (byte) status);
        // QEMU reports the whole writable size as used, whatever the request type
        queue.push(c.head(), (int) c.writableBytes());
    }

    /**
     * Runs one request: a status byte value, KEEP, BROKEN (the device was failed), or IN_FLIGHT (handed to the
     * aio engine; queue null keeps it synchronous).
     */
    private int execute(VirtQueue queue, DescriptorChain c) {
        if (c.readableSegments() < 1 || c.writableSegments() < 1) {
            host.fail("virtio-blk missing headers");
            return BROKEN;
        }
        if (c.readFromReadable(mem, 0, header, OUTHDR_SIZE) != OUTHDR_SIZE) {
            host.fail("virtio-blk request outhdr too short");
            return BROKEN;
        }
        int type = VirtioBlkConfig.le32(header, 0);
        long sector = VirtioBlkConfig.le64(header, 8);
        switch (type & ~(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER)) {
            case VIRTIO_BLK_T_IN:
                return readWrite(queue, c, (type & VIRTIO_BLK_T_OUT) != 0, sector);
            case VIRTIO_BLK_T_FLUSH:
                aio.drain(host);
                try {
                    backend.flush();
                    return VIRTIO_BLK_S_OK;
                } catch (IOException e) {
                    return error(false, e);
                }
            case VIRTIO_BLK_T_GET_ID: {
                // QEMU copies the serial and its NUL when they fit, at most 20 bytes
                long room = c.writableBytes() - 1;
                int n = (int) Math.min(serial.length + 1, Math.min(room, VIRTIO_BLK_ID_BYTES));
                byte[] id = Arrays.copyOf(serial, Math.max(n, 0));
                c.writeToWritable(mem, id, n);
                return VIRTIO_BLK_S_OK;
            }
            case VIRTIO_BLK_T_SCSI_CMD:
                // QEMU checks the SCSI request's shape (cdb + header out, sense + errors + status in) before
                // it says SCSI passthrough is unsupported, so a malformed one is an I/O error.
                return c.readableSegments() < 2 || c.writableSegments() < 3
                        ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
            case VIRTIO_BLK_T_DISCARD & ~VIRTIO_BLK_T_OUT:
            case VIRTIO_BLK_T_WRITE_ZEROES & ~VIRTIO_BLK_T_OUT:
                return discardOrZeroes(c, type);
            default:
                return VIRTIO_BLK_S_UNSUPP;
        }
    }

    /** QEMU's virtio_blk_sect_range_ok. */
    private boolean rangeOk(long sector, long bytes) {
        long sectors = bytes / SECTOR_SIZE;
        if (sectors > BDRV_REQUEST_MAX_SECTORS || bytes % SECTOR_SIZE != 0 || sector < 0) {
            return false;
        }
        long total = backend.size() / SECTOR_SIZE;
        return sector <= total && sectors <= total - sector;
    }

    private int readWrite(VirtQueue queue, DescriptorChain c, boolean write, long sector) {
        long bytes = write ? c.readableBytes() - OUTHDR_SIZE : c.writableBytes() - 1;
        if (!rangeOk(sector, bytes)) {
            backend.accountInvalid(write ? BlockBackend.Operation.WRITE : BlockBackend.Operation.READ);
            return VIRTIO_BLK_S_IOERR;
        }
        long offset = sector * SECTOR_SIZE;
        if (queue != null && bytes > 0 && !(write && (backend.readOnly() || (!writeCache && deviceFlushes)))
                && aio.submit(queue, c, write, offset, bytes, OUTHDR_SIZE)) {
            return IN_FLIGHT;
        }
        try {
            if (write) {
                if (backend.readOnly()) {
                    throw new IOException("Operation not permitted");
                }
                // One request for the drive however many descriptors carry it (one operation in the stats,
                // one range for blkdebug), as QEMU's vectored I/O.
                List<ByteBuffer> parts = new ArrayList<>(c.readableSegments());
                long skip = OUTHDR_SIZE;
                for (int i = 0; i < c.readableSegments(); i++) {
                    long l = c.length(i);
                    if (skip >= l) {
                        skip -= l;
                        continue;
                    }
                    parts.add(mem.slice(c.address(i) + skip, (int) (l - skip)));
                    skip = 0;
                }
                backend.writev(offset, parts.toArray(new ByteBuffer[0]));
                if (!writeCache && deviceFlushes) {
                    backend.flush(); // writethrough: the write is durable before the guest sees OK
                }
            } else {
                List<ByteBuffer> parts = new ArrayList<>(c.segments());
                long remaining = bytes;
                for (int i = c.readableSegments(); i < c.segments() && remaining > 0; i++) {
                    int n = (int) Math.min(c.length(i), remaining);
                    parts.add(mem.slice(c.address(i), n));
                    remaining -= n;
                }
                backend.readv(offset, parts.toArray(new ByteBuffer[0]));
            }
            return VIRTIO_BLK_S_OK;
        } catch (IOException e) {
            return error(!write, e);
        }
    }

    /** QEMU's handling of VIRTIO_BLK_T_DISCARD / WRITE_ZEROES (one segment per request). */
    private int discardOrZeroes(DescriptorChain c, int type) {
        boolean zeroes = (type & ~VIRTIO_BLK_T_BARRIER) == VIRTIO_BLK_T_WRITE_ZEROES;
        long outLen = c.readableBytes() - OUTHDR_SIZE;
        if ((type & VIRTIO_BLK_T_OUT) == 0 || outLen > DWZ_SEGMENT_SIZE) {
            return VIRTIO_BLK_S_UNSUPP;
        }
        if (c.readFromReadable(mem, OUTHDR_SIZE, seg, DWZ_SEGMENT_SIZE) != DWZ_SEGMENT_SIZE) {
            host.fail("virtio-blk discard/write_zeroes header too short");
            return BROKEN;
        }
        long sector = VirtioBlkConfig.le64(seg, 0);
        long sectors = VirtioBlkConfig.le32(seg, 8) & 0xffff_ffffL;
        int flags = VirtioBlkConfig.le32(seg, 12);
        int status;
        if (sectors > BDRV_REQUEST_MAX_SECTORS || !rangeOk(sector, sectors * SECTOR_SIZE)) {
            status = VIRTIO_BLK_S_IOERR;
        } else if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0) {
            status = VIRTIO_BLK_S_UNSUPP;
        } else {
            status = VIRTIO_BLK_S_OK;
        }
        if (status != VIRTIO_BLK_S_OK) {
            if (zeroes) {
                backend.accountInvalid(BlockBackend.Operation.WRITE);
            }
            return status;
        }
        if (!zeroes && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0) {
            return VIRTIO_BLK_S_UNSUPP; // section 5.2.6.2: discard must not carry the unmap flag
        }
        try {
            // A read-only drive refuses write-zeroes; discard is the drive's call (with discard=ignore QEMU
            // completes it as a no-op even on a read-only drive).
            if (zeroes && backend.readOnly()) {
                throw new IOException("Operation not permitted");
            }
            if (zeroes) {
                backend.writeZeroes(sector * SECTOR_SIZE, sectors * SECTOR_SIZE,
                        (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0);
                if (!writeCache && deviceFlushes) {
                    backend.flush();
                }
            } else {
                backend.discard(sector * SECTOR_SIZE, sectors * SECTOR_SIZE);
            }
            return VIRTIO_BLK_S_OK;
        } catch (IOException e) {
            return error(false, e);
        }
    }

    /** werror/rerror: QEMU's virtio_blk_handle_rw_error. */
    private int error(boolean isRead, IOException e) {
        return switch (backend.handleError(isRead, e)) {
            case REPORT -> VIRTIO_BLK_S_IOERR;
            case IGNORE -> VIRTIO_BLK_S_OK;
            case STOP -> KEEP;
        };
    }
}
