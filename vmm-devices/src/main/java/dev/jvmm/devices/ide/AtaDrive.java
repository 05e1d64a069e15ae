package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * ATA8-ACS (T13/1699-D): a hard disk (QEMU's ide-hd) over a {@link BlockBackend}: IDENTIFY DEVICE with
 * QEMU 7.2's contents, PIO, READ/WRITE MULTIPLE and bus-master DMA reads and writes with 28- and 48-bit
 * addressing, FLUSH CACHE, SET FEATURES, SET MULTIPLE MODE, READ VERIFY and the power-management no-ops.
 * Requests outside the disk abort without touching the image; host I/O errors go through the backend's
 * rerror/werror policy (report, ignore, or stop and re-run on resume).
 */
public final class AtaDrive extends IdeDevice {
    /** ATA8-ACS section 7: command codes (QEMU's WIN_* names in comments where they differ). */
    public static final int CMD_DATA_SET_MANAGEMENT = 0x06;
    public static final int CMD_RECALIBRATE = 0x10;
    public static final int CMD_READ_SECTORS = 0x20;
    public static final int CMD_READ_SECTORS_NO_RETRY = 0x21;
    public static final int CMD_READ_SECTORS_EXT = 0x24;
    public static final int CMD_READ_DMA_EXT = 0x25;
    public static final int CMD_READ_NATIVE_MAX_ADDRESS_EXT = 0x27;
    public static final int CMD_READ_MULTIPLE_EXT = 0x29;
    public static final int CMD_WRITE_SECTORS = 0x30;
    public static final int CMD_WRITE_SECTORS_NO_RETRY = 0x31;
    public static final int CMD_WRITE_SECTORS_EXT = 0x34;
    public static final int CMD_WRITE_DMA_EXT = 0x35;
    public static final int CMD_WRITE_MULTIPLE_EXT = 0x39;
    public static final int CMD_WRITE_VERIFY = 0x3c;
    public static final int CMD_READ_VERIFY_SECTORS = 0x40;
    public static final int CMD_READ_VERIFY_SECTORS_NO_RETRY = 0x41;
    public static final int CMD_READ_VERIFY_SECTORS_EXT = 0x42;
    public static final int CMD_SEEK = 0x70;
    public static final int CMD_INITIALIZE_DEVICE_PARAMETERS = 0x91;
    public static final int CMD_SMART = 0xb0;
    public static final int CMD_READ_MULTIPLE = 0xc4;
    public static final int CMD_WRITE_MULTIPLE = 0xc5;
    public static final int CMD_SET_MULTIPLE_MODE = 0xc6;
    public static final int CMD_READ_DMA = 0xc8;
    public static final int CMD_READ_DMA_NO_RETRY = 0xc9;
    public static final int CMD_WRITE_DMA = 0xca;
    public static final int CMD_WRITE_DMA_NO_RETRY = 0xcb;
    public static final int CMD_CHECK_POWER_MODE = 0xe5;
    public static final int CMD_CHECK_POWER_MODE_OLD = 0x98;
    public static final int CMD_FLUSH_CACHE_EXT = 0xea;
    public static final int CMD_READ_NATIVE_MAX_ADDRESS = 0xf8;
    /** Standby, idle and sleep (new and old codes), and SECURITY FREEZE LOCK: accepted as no-ops. */
    private static final int[] NO_OPS = {0x94, 0x95, 0x96, 0x97, 0x99, 0xe0, 0xe1, 0xe2, 0xe3, 0xe6, 0xf5};

    /** ATA8-ACS section 7.10: DATA SET MANAGEMENT feature bit 0, TRIM. */
    public static final int DSM_TRIM = 0x01;
    /** Section 7.10.3.2: LBA range entries are 8 bytes: a 48-bit LBA and a 16-bit sector count. */
    private static final int DSM_ENTRY_SIZE = 8;

    public static final int SECTOR_SIZE = 512;
    /** QEMU's MAX_MULT_SECTORS: the largest (and power-on) READ/WRITE MULTIPLE block. */
    public static final int MAX_MULT_SECTORS = 16;
    public static final String MODEL = "QEMU HARDDISK";
    /** ATA8-ACS section 7.16.7.22: words 60-61 saturate at 0FFFFFFFh for disks beyond 28-bit addressing. */
    public static final long MAX_LBA28_SECTORS = 0x0fff_ffffL;
    public static final String DEFAULT_VERSION = "2.5+";

    /**
     * QEMU's ide-hd: the common IDE properties and the geometry. cyls, heads and secs set the CHS geometry
     * (all three together); lcyls, lheads, lsecs and bios-chs-trans are hints for the BIOS, which jvmm boots
     * without.
     */
    public static final TypeInfo TYPE = TypeInfo.type("ide-hd", IdeDevice.TYPE.name())
            .category("Storage").description("virtual IDE disk")
            .props(IdeUnits.COMMON.toArray(new Property[0]))
            // QEMU adds bootindex per object (ide_dev_instance_init), so the abstract ide-device lacks it
            .prop(Property.of("bootindex", PropType.INT32))
            .props(Property.of("cyls", PropType.UINT32, 0L),
                    Property.of("heads", PropType.UINT32, 0L),
                    Property.of("secs", PropType.UINT32, 0L),
                    Property.of("lcyls", PropType.UINT32, 0L),
                    Property.of("lheads", PropType.UINT32, 0L),
                    Property.of("lsecs", PropType.UINT32, 0L),
                    Property.of("bios-chs-trans", PropType.BIOS_ATA_TRANSLATION, "auto"),
                    Property.fixed("rotation_rate", PropType.UINT16, 0L))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) ->
            IdeUnits.realize(ctx, p, where, false));

    private enum Retry { NONE, PIO_READ, PIO_WRITE, DMA, FLUSH }

    private final BlockBackend backend;
    private final String serial;
    private final String version;
    /** The translation in use: the initial geometry until INITIALIZE DEVICE PARAMETERS changes it. */
    private AtaGeometry geometry;
    private final ByteBuffer io;
    private long totalSectors;
    private volatile boolean writeCache;
    private int multSectors = MAX_MULT_SECTORS;
    private int reqSectors;
    private boolean dmaWrite;
    private boolean dmaTrim;
    private Retry pendingRetry = Retry.NONE;

    /**
     * @param backend    the disk
     * @param serial     IDENTIFY serial number (QEMU: "QM%05d" of 1 + 2 * bus + unit unless serial= is given)
     * @param geometry   CHS geometry, or null for QEMU's guess from the size
     * @param writeCache whether the volatile write cache starts enabled (QEMU: true unless cache=writethrough
     *                   or write-cache=off)
     */
    public AtaDrive(BlockBackend backend, String serial, AtaGeometry geometry, boolean writeCache) {
        super(BUFFER_SIZE);
        this.backend = Objects.requireNonNull(backend, "backend");
        this.serial = Objects.requireNonNull(serial, "serial");
        this.version = DEFAULT_VERSION;
        this.totalSectors = backend.size() / SECTOR_SIZE;
        this.geometry = geometry != null ? geometry : AtaGeometry.forSectors(totalSectors);
        this.writeCache = writeCache;
        this.io = ByteBuffer.wrap(buffer);
    }

    public BlockBackend backend() {
        return backend;
    }

    public String serial() {
        return serial;
    }

    /** The CHS translation in use (INITIALIZE DEVICE PARAMETERS changes heads and sectors). */
    public AtaGeometry geometry() {
        synchronized (bus != null ? bus : this) {
            return geometry;
        }
    }

    /** The write cache switch the guest controls with SET FEATURES. */
    public boolean writeCacheEnabled() {
        return writeCache;
    }

    /** Called by the bus on attach: the block layer's retry and resize hooks. */
    void connected() {
        backend.setRetryHandler(() -> bus.retry(this));
        backend.addResizeListener(size -> {
            synchronized (bus) {
                resized(size);
            }
        });
    }

    /** QEMU's ide_resize_cb: the new size shows in the IDENTIFY capacity words. */
    private void resized(long bytes) {
        totalSectors = bytes / SECTOR_SIZE;
        if (identify != null) {
            putCapacity(identify);
        }
    }

    @Override
    String kind() {
        return "ata";
    }

    /** Capacity and serial as checks; the CHS translation in use, cache switch, multi-sector and retry state. */
    @Override
    void saveDevice(StateWriter w) {
        w.u64("total-sectors", totalSectors).str("serial", serial).u32("cylinders", geometry.cylinders())
                .u8("heads", geometry.heads()).u8("sectors", geometry.sectors()).bool("write-cache", writeCache)
                .u8("mult-sectors", multSectors).u8("req-sectors", reqSectors).bool("dma-write", dmaWrite)
                .bool("dma-trim", dmaTrim).u8("pending-retry", pendingRetry.ordinal());
    }

    @Override
    void loadDevice(StateReader r) throws StateException {
        r.expectU64("total-sectors", totalSectors);
        r.expectStr("serial", serial);
        int c = r.u32("cylinders");
        int h = r.u8("heads");
        int sp = r.u8("sectors");
        if (c < 1 || c > 65535 || h < 1 || h > 16 || sp < 1) {
            throw r.invalid("cylinders", "bad CHS geometry " + c + "/" + h + "/" + sp);
        }
        boolean wc = r.bool("write-cache");
        int mult = r.u8("mult-sectors");
        int req = r.u8("req-sectors");
        if (mult > MAX_MULT_SECTORS || req > MAX_MULT_SECTORS) {
            throw r.invalid("mult-sectors", mult + "/" + req + " sectors per block, at most " + MAX_MULT_SECTORS);
        }
        boolean dw = r.bool("dma-write");
        boolean dt = r.bool("dma-trim");
        int retry = r.u8("pending-retry");
        if (retry >= Retry.values().length) {
            throw r.invalid("pending-retry", Integer.toString(retry));
        }
        geometry = new AtaGeometry(c, h, sp);
        writeCache = wc;
        multSectors = mult;
        reqSectors = req;
        dmaWrite = dw;
        dmaTrim = dt;
        pendingRetry = Retry.values()[retry];
    }

    @Override
    boolean present() {
        return true;
    }

    @Override
    boolean isPacketDevice() {
        return false;
    }

    @Override
    boolean permitted(int command) {
        return permittedForDisk(command);
    }

    static boolean permittedForDisk(int c) {
        return switch (c) {
            case CMD_DATA_SET_MANAGEMENT, CMD_RECALIBRATE, CMD_READ_SECTORS, CMD_READ_SECTORS_NO_RETRY,
                    CMD_READ_SECTORS_EXT, CMD_READ_DMA_EXT, CMD_READ_NATIVE_MAX_ADDRESS_EXT, CMD_READ_MULTIPLE_EXT,
                    CMD_WRITE_SECTORS, CMD_WRITE_SECTORS_NO_RETRY, CMD_WRITE_SECTORS_EXT, CMD_WRITE_DMA_EXT,
                    CMD_WRITE_MULTIPLE_EXT, CMD_WRITE_VERIFY, CMD_READ_VERIFY_SECTORS,
                    CMD_READ_VERIFY_SECTORS_NO_RETRY, CMD_READ_VERIFY_SECTORS_EXT, CMD_SEEK,
                    CMD_EXECUTE_DEVICE_DIAGNOSTIC, CMD_INITIALIZE_DEVICE_PARAMETERS, 0x94, 0x95, 0x96, 0x97,
                    CMD_CHECK_POWER_MODE_OLD, 0x99, CMD_SMART, CMD_READ_MULTIPLE, CMD_WRITE_MULTIPLE,
                    CMD_SET_MULTIPLE_MODE, CMD_READ_DMA, CMD_READ_DMA_NO_RETRY, CMD_WRITE_DMA, CMD_WRITE_DMA_NO_RETRY,
                    0xe0, 0xe1, 0xe2, 0xe3, CMD_CHECK_POWER_MODE, 0xe6, CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT,
                    CMD_IDENTIFY_DEVICE, CMD_SET_FEATURES, 0xf5, CMD_READ_NATIVE_MAX_ADDRESS -> true;
            default -> false;
        };
    }

    @Override
    boolean setsSeekComplete(int command) {
        return diskSetsSeekComplete(command);
    }

    static boolean diskSetsSeekComplete(int c) {
        return switch (c) {
            case CMD_RECALIBRATE, CMD_READ_NATIVE_MAX_ADDRESS_EXT, CMD_READ_VERIFY_SECTORS,
                    CMD_READ_VERIFY_SECTORS_NO_RETRY, CMD_READ_VERIFY_SECTORS_EXT, CMD_SEEK,
                    CMD_INITIALIZE_DEVICE_PARAMETERS, CMD_CHECK_POWER_MODE_OLD, CMD_SMART, CMD_SET_MULTIPLE_MODE,
                    CMD_CHECK_POWER_MODE, CMD_SET_FEATURES, 0xf5, CMD_READ_NATIVE_MAX_ADDRESS -> true;
            default -> false;
        };
    }

    @Override
    void reset() {
        super.reset();
        multSectors = MAX_MULT_SECTORS;
        reqSectors = 0;
        pendingRetry = Retry.NONE;
    }

    @Override
    boolean execute(int c) {
        switch (c) {
            case CMD_READ_SECTORS, CMD_READ_SECTORS_NO_RETRY, CMD_READ_SECTORS_EXT:
                lba48Transform(c == CMD_READ_SECTORS_EXT);
                reqSectors = 1;
                sectorRead();
                return false;
            case CMD_READ_MULTIPLE, CMD_READ_MULTIPLE_EXT:
                if (multSectors == 0) {
                    abortCommand();
                    return true;
                }
                lba48Transform(c == CMD_READ_MULTIPLE_EXT);
                reqSectors = multSectors;
                sectorRead();
                return false;
            case CMD_WRITE_SECTORS, CMD_WRITE_SECTORS_NO_RETRY, CMD_WRITE_SECTORS_EXT, CMD_WRITE_VERIFY:
                lba48Transform(c == CMD_WRITE_SECTORS_EXT);
                status = STATUS_DSC | STATUS_DRDY;
                reqSectors = 1;
                transferStart(0, SECTOR_SIZE, Transfer.SECTOR_WRITE);
                return false;
            case CMD_WRITE_MULTIPLE, CMD_WRITE_MULTIPLE_EXT:
                if (multSectors == 0) {
                    abortCommand();
                    return true;
                }
                lba48Transform(c == CMD_WRITE_MULTIPLE_EXT);
                reqSectors = multSectors;
                status = STATUS_DSC | STATUS_DRDY;
                transferStart(0, SECTOR_SIZE * Math.min(nsector, reqSectors), Transfer.SECTOR_WRITE);
                return false;
            case CMD_READ_DMA, CMD_READ_DMA_NO_RETRY, CMD_READ_DMA_EXT:
                startDma(c == CMD_READ_DMA_EXT, false);
                return false;
            case CMD_WRITE_DMA, CMD_WRITE_DMA_NO_RETRY, CMD_WRITE_DMA_EXT:
                startDma(c == CMD_WRITE_DMA_EXT, true);
                return false;
            case CMD_DATA_SET_MANAGEMENT:
                if (feature != DSM_TRIM || nsector * SECTOR_SIZE > buffer.length) {
                    abortCommand();
                    return true;
                }
                // the range list arrives by DMA; QEMU takes the count register as it stands
                status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
                dmaWrite = true;
                dmaTrim = true;
                bus.dma().start(this);
                return false;
            case CMD_READ_VERIFY_SECTORS, CMD_READ_VERIFY_SECTORS_NO_RETRY, CMD_READ_VERIFY_SECTORS_EXT:
                // QEMU verifies nothing (and checks no range); the count is folded as for a read
                lba48Transform(c == CMD_READ_VERIFY_SECTORS_EXT);
                return true;
            case CMD_READ_NATIVE_MAX_ADDRESS, CMD_READ_NATIVE_MAX_ADDRESS_EXT:
                if (totalSectors == 0) {
                    abortCommand();
                    return true;
                }
                lba48Transform(c == CMD_READ_NATIVE_MAX_ADDRESS_EXT);
                setCurrentSector(totalSectors - 1, geometry);
                return true;
            case CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT:
                return flushCommand();
            case CMD_IDENTIFY_DEVICE:
                return identifyCommand();
            case CMD_SET_FEATURES:
                return setFeaturesCommand();
            case CMD_SET_MULTIPLE_MODE:
                return setMultipleMode();
            case CMD_EXECUTE_DEVICE_DIAGNOSTIC:
                return diagnosticCommand();
            case CMD_CHECK_POWER_MODE, CMD_CHECK_POWER_MODE_OLD:
                nsector = 0xff; // active or idle
                return true;
            case CMD_INITIALIZE_DEVICE_PARAMETERS:
                // QEMU 7.2 takes heads and sectors per track for CHS translation (and dies of a division by
                // zero on the next CHS command when the count was 0, which is refused here)
                if ((nsector & 0xff) == 0) {
                    abortCommand();
                } else {
                    geometry = new AtaGeometry(geometry.cylinders(), (select & DEVICE_HEAD) + 1, nsector & 0xff);
                }
                return true;
            case CMD_RECALIBRATE, CMD_SEEK:
                return true;
            default:
                for (int n : NO_OPS) {
                    if (n == c) {
                        return true;
                    }
                }
                // SMART is not emulated
                abortCommand();
                return true;
        }
    }

    /** ATA8-ACS section 7.46: block sizes 1..16, powers of two; 0 disables the multiple commands. */
    private boolean setMultipleMode() {
        int n = nsector & 0xff;
        if (n != 0 && (n > MAX_MULT_SECTORS || (n & (n - 1)) != 0)) {
            abortCommand();
        } else {
            multSectors = n;
        }
        return true;
    }

    private boolean rangeOk(long sector, long count) {
        return Long.compareUnsigned(sector, totalSectors) <= 0 && count <= totalSectors - sector;
    }

    /** Error completion of a PIO request (QEMU's ide_rw_error). */
    private void rwError() {
        abortCommand();
        bus.raiseIrq();
    }

    /** Reads the next block of a PIO read into the buffer and hands it to the guest. */
    private void sectorRead() {
        status = STATUS_DRDY | STATUS_DSC;
        error = 0;
        long s = currentSector(geometry);
        int n = nsector;
        if (n == 0) {
            transferStop();
            return;
        }
        n = Math.min(n, reqSectors);
        if (!rangeOk(s, n)) {
            rwError();
            backend.accountInvalid(BlockBackend.Operation.READ);
            return;
        }
        try {
            io.clear().limit(n * SECTOR_SIZE);
            backend.read(s * SECTOR_SIZE, io);
        } catch (IOException e) {
            if (ioFailed(true, e, Retry.PIO_READ)) {
                return;
            }
        }
        setCurrentSector(s + n, geometry);
        nsector -= n;
        transferStart(0, n * SECTOR_SIZE, Transfer.SECTOR_READ);
        bus.raiseIrq();
    }

    /** The guest filled a PIO write block: write it and ask for the next. */
    private void sectorWrite() {
        status = STATUS_DRDY | STATUS_DSC | STATUS_BSY;
        long s = currentSector(geometry);
        int n = Math.min(nsector, reqSectors);
        if (!rangeOk(s, n)) {
            rwError();
            backend.accountInvalid(BlockBackend.Operation.WRITE);
            return;
        }
        try {
            io.clear().limit(n * SECTOR_SIZE);
            backend.write(s * SECTOR_SIZE, io);
            if (!writeCache) {
                backend.flush();
            }
        } catch (IOException e) {
            if (ioFailed(false, e, Retry.PIO_WRITE)) {
                return;
            }
        }
        status &= ~STATUS_BSY;
        nsector -= n;
        setCurrentSector(s + n, geometry);
        if (nsector == 0) {
            transferStop();
        } else {
            transferStart(0, SECTOR_SIZE * Math.min(nsector, reqSectors), Transfer.SECTOR_WRITE);
        }
        bus.raiseIrq();
    }

    /**
     * Applies the error policy (QEMU's ide_handle_rw_error): report completes with an error, stop keeps the
     * request for {@link #retry()}, ignore goes on as if it had worked. Returns whether the caller stops.
     */
    private boolean ioFailed(boolean isRead, IOException e, Retry kind) {
        BlockBackend.ErrorAction action = backend.handleError(isRead, e);
        switch (action) {
            case STOP -> {
                pendingRetry = kind;
                status |= STATUS_BSY;
                return true;
            }
            case REPORT -> {
                if (kind == Retry.DMA) {
                    dmaError();
                } else {
                    rwError();
                }
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private boolean flushCommand() {
        try {
            backend.flush();
        } catch (IOException e) {
            if (ioFailed(false, e, Retry.FLUSH)) {
                return false;
            }
        }
        status = STATUS_DRDY | STATUS_DSC;
        return true;
    }

    @Override
    void retry() {
        Retry r = pendingRetry;
        pendingRetry = Retry.NONE;
        switch (r) {
            case PIO_READ -> sectorRead();
            case PIO_WRITE -> sectorWrite();
            case DMA -> {
                bus.dma().restart();
                runDma();
            }
            case FLUSH -> {
                if (flushCommand()) {
                    bus.raiseIrq();
                }
            }
            default -> { }
        }
    }

    @Override
    void transferDone(Transfer t) {
        switch (t) {
            case SECTOR_READ -> sectorRead();
            case SECTOR_WRITE -> sectorWrite();
            default -> transferStop();
        }
    }

    private void startDma(boolean is48, boolean write) {
        lba48Transform(is48);
        status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
        dmaWrite = write;
        dmaTrim = false;
        bus.dma().start(this);
    }

    /**
     * The bus master runs: one scatter list for the whole request (QEMU's ide_dma_cb with bmdma_prepare_buf).
     * A table shorter than the request ends the transfer without an interrupt and clears Active, as QEMU
     * does; a table longer than it leaves Active set; a descriptor or region outside RAM sets the bus-master
     * Error bit and aborts the command.
     */
    @Override
    void runDma() {
        BusMasterDma dma = bus.dma();
        int n = nsector;
        if (n == 0) {
            // nothing to move (a TRIM with a zero count)
            status = STATUS_DRDY | STATUS_DSC;
            bus.raiseIrq();
            dma.setInactive(false);
            return;
        }
        int bytes = n * SECTOR_SIZE;
        long described = dma.prepare(bytes);
        if (described == BusMasterDma.OUTSIDE_RAM) {
            dma.setError();
            dmaError();
            return;
        }
        if (dma.listed() < bytes) {
            status = STATUS_DRDY | STATUS_DSC;
            dma.setInactive(false);
            return;
        }
        long s = currentSector(geometry);
        if (dmaTrim) {
            if (!trim(dma)) {
                return;
            }
        } else if (!rangeOk(s, n)) {
            dmaError();
            backend.accountInvalid(dmaWrite ? BlockBackend.Operation.WRITE : BlockBackend.Operation.READ);
            return;
        } else if (!transfer(dma, s)) {
            return;
        }
        setCurrentSector(s + n, geometry);
        nsector = 0;
        status = STATUS_DRDY | STATUS_DSC;
        bus.raiseIrq();
        dma.setInactive(described > bytes);
    }

    /** Moves the sectors between the disk and the listed regions; false when the request ended otherwise. */
    private boolean transfer(BusMasterDma dma, long s) {
        GuestMemory mem = dma.memory();
        long offset = s * SECTOR_SIZE;
        try {
            for (int i = 0; i < dma.segCount; i++) {
                ByteBuffer b = mem.slice(dma.segAddress[i], dma.segLength[i]);
                if (dmaWrite) {
                    backend.write(offset, b);
                } else {
                    backend.read(offset, b);
                }
                offset += dma.segLength[i];
            }
            if (dmaWrite && !writeCache) {
                backend.flush();
            }
        } catch (IOException e) {
            return !ioFailed(!dmaWrite, e, Retry.DMA);
        }
        return true;
    }

    /**
     * DATA SET MANAGEMENT TRIM: reads the range list from the regions and discards each range (QEMU's
     * ide_issue_trim); a range outside the disk aborts the command.
     */
    private boolean trim(BusMasterDma dma) {
        GuestMemory mem = dma.memory();
        int off = 0;
        for (int i = 0; i < dma.segCount; i++) {
            mem.read(dma.segAddress[i], buffer, off, dma.segLength[i]);
            off += dma.segLength[i];
        }
        ByteBuffer list = ByteBuffer.wrap(buffer, 0, off).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try {
            for (int p = 0; p + DSM_ENTRY_SIZE <= off; p += DSM_ENTRY_SIZE) {
                long entry = list.getLong(p);
                long lba = entry & 0xffff_ffff_ffffL;
                int count = (int) (entry >>> 48);
                if (count == 0) {
                    continue;
                }
                if (!rangeOk(lba, count)) {
                    backend.accountInvalid(BlockBackend.Operation.UNMAP);
                    dmaError();
                    return false;
                }
                backend.discard(lba * SECTOR_SIZE, (long) count * SECTOR_SIZE);
            }
        } catch (IOException e) {
            return !ioFailed(false, e, Retry.DMA);
        }
        return true;
    }

    /** QEMU's ide_dma_error: abort, bus master idle, interrupt. */
    private void dmaError() {
        abortCommand();
        bus.dma().setInactive(false);
        bus.raiseIrq();
    }

    @Override
    void setWriteCache(boolean on) {
        writeCache = on;
    }

    @Override
    int[] buildIdentify() {
        int[] p = new int[256];
        AtaGeometry g = geometry;
        p[0] = 0x0040; // fixed device
        p[1] = g.cylinders();
        p[3] = g.heads();
        p[4] = SECTOR_SIZE * g.sectors() & 0xffff; // retired: bytes per track
        p[5] = SECTOR_SIZE; // retired: bytes per sector
        p[6] = g.sectors();
        putString(p, 10, serial, 20);
        p[20] = 3; // retired: buffer type
        p[21] = 512; // retired: buffer size
        p[22] = 4; // obsolete: ECC bytes
        putString(p, 23, version, 8);
        putString(p, 27, MODEL, 40);
        p[47] = 0x8000 | MAX_MULT_SECTORS;
        p[48] = 1; // QEMU: dword I/O
        p[49] = 1 << 11 | 1 << 9 | 1 << 8; // IORDY, LBA, DMA
        p[51] = 0x200; // PIO timing
        p[52] = 0x200; // DMA timing
        p[53] = 1 | 1 << 1 | 1 << 2; // words 54-58, 64-70 and 88 valid
        p[54] = g.cylinders();
        p[55] = g.heads();
        p[56] = g.sectors();
        long chs = (long) g.cylinders() * g.heads() * g.sectors();
        p[57] = (int) chs & 0xffff;
        p[58] = (int) (chs >>> 16) & 0xffff;
        if (multSectors != 0) {
            p[59] = 0x100 | multSectors;
        }
        p[62] = 0x07; // single-word DMA 0-2
        p[63] = 0x07; // multiword DMA 0-2
        p[64] = 0x03; // PIO 3-4
        p[65] = 120;
        p[66] = 120;
        p[67] = 120;
        p[68] = 120;
        p[69] = 1 << 14; // deterministic read after trim
        p[80] = 0xf0; // ATA-4 to ATA-7
        p[81] = 0x16;
        p[82] = 1 << 14 | 1 << 5 | 1; // NOP, write cache, SMART
        p[83] = 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10; // FLUSH CACHE EXT, FLUSH CACHE, 48-bit
        p[84] = 1 << 14;
        p[85] = 1 << 14 | (writeCache ? 1 << 5 : 0) | 1;
        p[86] = 1 << 13 | 1 << 12 | 1 << 10;
        p[87] = 1 << 14;
        p[88] = 0x3f | 1 << 13; // UDMA 0-5 supported, mode 5 selected
        p[93] = 1 | 1 << 14 | 0x2000; // hardware reset result
        p[106] = 0x6000; // one logical sector per physical sector
        p[169] = 1; // DATA SET MANAGEMENT TRIM (advertised as QEMU does)
        putCapacity(p);
        return p;
    }

    /** Words 60-61 (28-bit) and 100-103 (48-bit) user addressable sectors. */
    private void putCapacity(int[] p) {
        long n = totalSectors;
        long n28 = Math.min(n, MAX_LBA28_SECTORS);
        p[60] = (int) n28 & 0xffff;
        p[61] = (int) (n28 >>> 16) & 0xffff;
        p[100] = (int) n & 0xffff;
        p[101] = (int) (n >>> 16) & 0xffff;
        p[102] = (int) (n >>> 32) & 0xffff;
        p[103] = (int) (n >>> 48) & 0xffff;
    }
}
