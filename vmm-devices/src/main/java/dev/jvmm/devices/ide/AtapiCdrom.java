package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;
import dev.jvmm.core.block.RemovableMediaDevice;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * ATA8-APT packet protocol with the MMC-6 (T10/1836-D) command set: QEMU's ide-cd, a DVD-ROM drive with a
 * tray. The guest sends 12-byte CDBs through PACKET (PIO with a byte count limit, or bus-master DMA). The
 * medium is the drive's (QEMU's BlockBackend, which may be empty); the device owns the tray and the guest's
 * lock and shows them to the block layer as a {@link RemovableMediaDevice}, so QMP's eject and blockdev-*tray/
 * medium commands run in the block graph and only ask the device. Media changes are reported as
 * QEMU 7.2 does: first NOT READY "medium not present", then UNIT ATTENTION "medium may have changed", and
 * the GET EVENT STATUS NOTIFICATION media class (new media, eject request).
 */
public final class AtapiCdrom extends IdeDevice implements RemovableMediaDevice {
    /** QEMU's ide-cd: the common IDE properties; without drive= it has an empty drive of its own. */
    public static final TypeInfo TYPE = TypeInfo.type("ide-cd", IdeDevice.TYPE.name())
            .category("Storage").description("virtual IDE CD-ROM")
            .props(IdeUnits.COMMON.toArray(new Property[0]))
            .prop(Property.of("bootindex", PropType.INT32))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) ->
            IdeUnits.realize(ctx, p, where, true));

    /** MMC-6 section 6: operation codes. */
    public static final int TEST_UNIT_READY = 0x00;
    public static final int REQUEST_SENSE = 0x03;
    public static final int INQUIRY = 0x12;
    public static final int START_STOP_UNIT = 0x1b;
    public static final int PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
    public static final int READ_CAPACITY = 0x25;
    public static final int READ_10 = 0x28;
    public static final int SEEK_10 = 0x2b;
    public static final int READ_TOC_PMA_ATIP = 0x43;
    public static final int GET_CONFIGURATION = 0x46;
    public static final int GET_EVENT_STATUS_NOTIFICATION = 0x4a;
    public static final int READ_DISC_INFORMATION = 0x51;
    public static final int MODE_SENSE_10 = 0x5a;
    public static final int READ_12 = 0xa8;
    public static final int READ_DVD_STRUCTURE = 0xad;
    public static final int SET_CD_SPEED = 0xbb;
    public static final int MECHANISM_STATUS = 0xbd;
    public static final int READ_CD = 0xbe;

    /** SPC-4 section 4.5.6: sense keys. */
    public static final int SENSE_NO_SENSE = 0x0;
    public static final int SENSE_NOT_READY = 0x2;
    public static final int SENSE_ILLEGAL_REQUEST = 0x5;
    public static final int SENSE_UNIT_ATTENTION = 0x6;
    /** SPC-4 annex D: additional sense codes QEMU uses (the qualifier is always 0). */
    public static final int ASC_ILLEGAL_OPCODE = 0x20;
    public static final int ASC_LOGICAL_BLOCK_OOR = 0x21;
    public static final int ASC_INV_FIELD_IN_CMD_PACKET = 0x24;
    public static final int ASC_MEDIUM_MAY_HAVE_CHANGED = 0x28;
    public static final int ASC_INCOMPATIBLE_FORMAT = 0x30;
    public static final int ASC_SAVING_PARAMETERS_NOT_SUPPORTED = 0x39;
    public static final int ASC_MEDIUM_NOT_PRESENT = 0x3a;
    public static final int ASC_MEDIA_REMOVAL_PREVENTED = 0x53;

    /** ATA8-APT section 5.2.11: Interrupt Reason (sector count register) bits. */
    public static final int INT_REASON_CD = 0x01;
    public static final int INT_REASON_IO = 0x02;

    /** MMC-6 section 5.3.1: profiles. */
    public static final int PROFILE_CD_ROM = 0x0008;
    public static final int PROFILE_DVD_ROM = 0x0010;
    /** MMC-6 section 6.7: GET EVENT STATUS NOTIFICATION media class and its event and status codes. */
    public static final int GESN_MEDIA = 4;
    public static final int MEC_NO_CHANGE = 0;
    public static final int MEC_EJECT_REQUESTED = 1;
    public static final int MEC_NEW_MEDIA = 2;
    public static final int MS_TRAY_OPEN = 1;
    public static final int MS_MEDIA_PRESENT = 2;
    /** SPC-4 / MMC-6 mode pages QEMU returns. */
    public static final int MODE_PAGE_R_W_ERROR = 0x01;
    public static final int MODE_PAGE_AUDIO_CTL = 0x0e;
    public static final int MODE_PAGE_CAPABILITIES = 0x2a;

    public static final int CD_SECTOR_SIZE = 2048;
    /** MMC-6 section 4.2.3: a raw mode 1 sector: sync, header, user data, EDC/ECC. */
    public static final int CD_RAW_SECTOR_SIZE = 2352;
    private static final int RAW_DATA_OFFSET = 16;
    public static final int PACKET_SIZE = 12;
    /** QEMU calls media of up to 80 minutes of 2048-byte sectors a CD, larger ones a DVD. */
    static final long CD_MAX_SECTORS_512 = 80L * 60 * 75 * 2048 / 512;
    public static final String MODEL = "QEMU DVD-ROM";
    public static final String VENDOR = "QEMU";

    // QEMU's atapi_cmd_table flags
    private static final int CHECK_READY = 1;
    private static final int ALLOW_UA = 2;
    private static final int NONDATA = 4;
    private static final int KNOWN = 8;
    /** Transfers data only for some field values; the command checks the byte count limit itself. */
    private static final int CONDDATA = 16;

    /** Sectors read at once for DMA. */
    private static final int DMA_CHUNK_SECTORS = 16;

    private final String serial;
    private final String version = AtaDrive.DEFAULT_VERSION;
    private final byte[] cdb = new byte[PACKET_SIZE];
    private final ByteBuffer io;
    /** The drive this device is attached to; it stays, only its medium comes and goes. */
    private final BlockBackend drive;
    private long nbSectors;
    private boolean trayOpen;
    private boolean locked;
    private int senseKey;
    private int asc;
    /** QEMU's cdrom_changed: 1 = report "not present" next, 2 = report unit attention next. */
    private int cdromChanged;
    private boolean eventNewMedia;
    private boolean eventEjectRequest;
    private boolean atapiDma;
    // data phase of the current packet command; lba -1 means the reply sits in the buffer
    private long lba = -1;
    private long packetTransferSize;
    private int cdSectorSize = CD_SECTOR_SIZE;
    private int elementaryTransferSize;
    private int bufIndex;
    private int replySize;
    private boolean retryPending;

    /**
     * @param drive  the drive (BlockBackend) the device is attached to, possibly without a medium; the tray
     *               starts shut
     * @param serial IDENTIFY serial number (QEMU: "QM%05d" of 1 + 2 * bus + unit)
     */
    public AtapiCdrom(BlockBackend drive, String serial) {
        super(BUFFER_SIZE);
        this.drive = Objects.requireNonNull(drive, "drive");
        this.serial = Objects.requireNonNull(serial, "serial");
        this.io = ByteBuffer.wrap(buffer);
        this.nbSectors = drive.isInserted() ? drive.size() / 512 : 0;
    }

    public BlockBackend drive() {
        return drive;
    }

    public String serial() {
        return serial;
    }

    /** Called by the bus on attach: the block layer's retry and resize hooks. */
    void connected() {
        drive.setRetryHandler(() -> bus.retry(this));
        drive.addResizeListener(size -> {
            synchronized (bus) {
                nbSectors = size / 512;
            }
        });
    }

    private Object lock() {
        return bus != null ? bus : this;
    }

    private void raiseIrq() {
        if (bus != null) {
            bus.raiseIrq();
        }
    }

    // ---- RemovableMediaDevice (QEMU's ide_cd_block_ops) --------------------------------------------

    @Override
    public boolean isTrayOpen() {
        synchronized (lock()) {
            return trayOpen;
        }
    }

    @Override
    public boolean isMediumLocked() {
        synchronized (lock()) {
            return locked;
        }
    }

    /**
     * QEMU's ide_cd_change_cb: the tray follows load, the capacity is read again from the drive, and the guest
     * is told the medium may have changed (NOT READY, then UNIT ATTENTION; GESN new media).
     */
    @Override
    public void changeMedia(boolean load) {
        synchronized (lock()) {
            trayOpen = !load;
            nbSectors = drive.isInserted() ? drive.size() / 512 : 0;
            cdromChanged = 1;
            eventNewMedia = true;
            eventEjectRequest = false;
            raiseIrq();
        }
    }

    /** The channel's lock is what the guest's register accesses take: a medium command's steps run inside it. */
    @Override
    public <E extends Exception> void exclusive(Steps<E> steps) throws E {
        synchronized (lock()) {
            steps.run();
        }
    }

    /** QEMU's ide_cd_eject_request_cb: GESN reports an eject request; force drops the guest's lock. */
    @Override
    public void ejectRequest(boolean force) {
        synchronized (lock()) {
            eventEjectRequest = true;
            if (force) {
                locked = false;
            }
            raiseIrq();
        }
    }

    // ---- ATA level --------------------------------------------------------------------------------

    @Override
    String kind() {
        return "atapi";
    }

    /**
     * Whether a medium is inserted is the drive's configuration; the rest is the packet command in flight
     * (packet bytes, DMA or PIO, the data phase's position and what is left), sense key and ASC, the media
     * change sequence and GESN events, tray and lock.
     */
    @Override
    void saveDevice(StateWriter w) {
        w.str("serial", serial).bool("medium", drive.isInserted()).u64("nb-sectors", nbSectors)
                .bool("tray-open", trayOpen).bool("locked", locked).u8("sense-key", senseKey).u8("asc", asc)
                .u8("cdrom-changed", cdromChanged).bool("event-new-media", eventNewMedia)
                .bool("event-eject-request", eventEjectRequest).bool("atapi-dma", atapiDma).bytes("cdb", cdb)
                .u64("lba", lba).u64("packet-transfer-size", packetTransferSize).u32("cd-sector-size", cdSectorSize)
                .u32("elementary-transfer-size", elementaryTransferSize).u32("buf-index", bufIndex)
                .u32("reply-size", replySize).bool("retry-pending", retryPending);
    }

    @Override
    void loadDevice(StateReader r) throws StateException {
        r.expectStr("serial", serial);
        r.expectBool("medium", drive.isInserted());
        long nb = r.u64("nb-sectors");
        if (nb != 0 && nb != drive.size() / 512) {
            throw r.invalid("nb-sectors", nb + " sectors, the medium here has " + drive.size() / 512);
        }
        boolean tray = r.bool("tray-open");
        boolean lock = r.bool("locked");
        int key = r.u8("sense-key");
        if (key > 0xf) {
            throw r.invalid("sense-key", Integer.toString(key));
        }
        int code = r.u8("asc");
        int changed = r.u8("cdrom-changed");
        if (changed > 2) {
            throw r.invalid("cdrom-changed", Integer.toString(changed));
        }
        boolean newMedia = r.bool("event-new-media");
        boolean eject = r.bool("event-eject-request");
        boolean dma = r.bool("atapi-dma");
        byte[] packet = new byte[PACKET_SIZE];
        r.bytes("cdb", packet);
        long l = r.u64("lba");
        long size = r.u64("packet-transfer-size");
        int sectorSize = r.u32("cd-sector-size");
        int elementary = r.u32("elementary-transfer-size");
        int index = r.u32("buf-index");
        int reply = r.u32("reply-size");
        if (l < -1 || (l >= 0 && l > nb)) {
            throw r.invalid("lba", l + " is beyond the medium");
        }
        if (sectorSize != CD_SECTOR_SIZE && sectorSize != CD_RAW_SECTOR_SIZE) {
            throw r.invalid("cd-sector-size", Integer.toString(sectorSize));
        }
        if (size < 0 || size > (nb + 4) * CD_RAW_SECTOR_SIZE) {
            throw r.invalid("packet-transfer-size", Long.toString(size));
        }
        if (elementary < 0 || elementary > 0x10000 || reply < 0 || reply > buffer.length || index < 0
                || index > Math.max(sectorSize, reply)) {
            throw r.invalid("buf-index", "position " + index + " (reply " + reply + ", block " + elementary
                    + ") does not fit the buffer");
        }
        boolean retry = r.bool("retry-pending");
        nbSectors = nb;
        trayOpen = tray;
        locked = lock;
        senseKey = key;
        asc = code;
        cdromChanged = changed;
        eventNewMedia = newMedia;
        eventEjectRequest = eject;
        atapiDma = dma;
        System.arraycopy(packet, 0, cdb, 0, PACKET_SIZE);
        lba = l;
        packetTransferSize = size;
        cdSectorSize = sectorSize;
        elementaryTransferSize = elementary;
        bufIndex = index;
        replySize = reply;
        retryPending = retry;
    }

    @Override
    boolean present() {
        return true;
    }

    @Override
    boolean isPacketDevice() {
        return true;
    }

    @Override
    boolean permitted(int c) {
        return switch (c) {
            case CMD_DEVICE_RESET, AtaDrive.CMD_READ_SECTORS, CMD_EXECUTE_DEVICE_DIAGNOSTIC, CMD_PACKET,
                    CMD_IDENTIFY_PACKET_DEVICE, CMD_FLUSH_CACHE, CMD_IDENTIFY_DEVICE, CMD_SET_FEATURES -> true;
            default -> false;
        };
    }

    @Override
    boolean setsSeekComplete(int c) {
        return c == CMD_SET_FEATURES;
    }

    /**
     * QEMU's ide_reset for a CD (machine reset, SRST, DEVICE RESET): sense, change state and the packet phase
     * are cleared, and the tray is shut and unlocked without a tray event, as QEMU 7.2 does.
     */
    @Override
    void reset() {
        super.reset();
        trayOpen = false;
        locked = false;
        senseKey = 0;
        asc = 0;
        cdromChanged = 0;
        packetTransferSize = 0;
        elementaryTransferSize = 0;
        bufIndex = 0;
        atapiDma = false;
        lba = -1;
        cdSectorSize = CD_SECTOR_SIZE;
        retryPending = false;
    }

    @Override
    boolean execute(int c) {
        switch (c) {
            case CMD_PACKET:
                // overlapped commands (feature bit 1) are not supported
                if ((feature & 0x02) != 0) {
                    abortCommand();
                    return true;
                }
                status = STATUS_DRDY | STATUS_DSC;
                atapiDma = (feature & 0x01) != 0;
                nsector = 1;
                transferStart(0, PACKET_SIZE, Transfer.PACKET);
                return false;
            case CMD_IDENTIFY_PACKET_DEVICE:
                return identifyCommand();
            case CMD_IDENTIFY_DEVICE, AtaDrive.CMD_READ_SECTORS:
                // ATA8-APT: a packet device aborts these and shows its signature
                setSignature();
                abortCommand();
                return true;
            case CMD_DEVICE_RESET:
                // ATA8-ACS section 7.9: no DRDY afterwards; QEMU leaves the error register 0
                reset();
                status = 0;
                return false;
            case CMD_EXECUTE_DEVICE_DIAGNOSTIC:
                return diagnosticCommand();
            case CMD_FLUSH_CACHE:
                status = STATUS_DRDY | STATUS_DSC;
                return true;
            case CMD_SET_FEATURES:
                return setFeaturesCommand();
            default:
                abortCommand();
                return true;
        }
    }

    @Override
    void transferDone(Transfer t) {
        switch (t) {
            case PACKET -> packetCommand();
            case ATAPI_REPLY -> pioNext();
            default -> transferStop();
        }
    }

    @Override
    void retry() {
        if (retryPending) {
            retryPending = false;
            bus.dma().restart();
            System.arraycopy(cdb, 0, buffer, 0, PACKET_SIZE);
            packetCommand();
        }
    }

    private static int flags(int op) {
        return switch (op) {
            case TEST_UNIT_READY -> KNOWN | CHECK_READY | NONDATA;
            case REQUEST_SENSE, INQUIRY, GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION -> KNOWN | ALLOW_UA;
            case START_STOP_UNIT, PREVENT_ALLOW_MEDIUM_REMOVAL, SET_CD_SPEED -> KNOWN | NONDATA;
            case READ_CAPACITY, READ_10, READ_12, READ_TOC_PMA_ATIP, READ_DISC_INFORMATION, READ_DVD_STRUCTURE ->
                    KNOWN | CHECK_READY;
            case READ_CD -> KNOWN | CHECK_READY | CONDDATA;
            case SEEK_10 -> KNOWN | CHECK_READY | NONDATA;
            case MODE_SENSE_10, MECHANISM_STATUS -> KNOWN;
            default -> 0;
        };
    }

    private boolean mediaPresent() {
        return !trayOpen && nbSectors > 0;
    }

    private int byteCountLimit() {
        int bcl = lcyl | hcyl << 8;
        return bcl == 0xffff ? 0xfffe : bcl;
    }

    /** QEMU's ide_atapi_cmd: unit attention and readiness checks, then the command. */
    private void packetCommand() {
        System.arraycopy(buffer, 0, cdb, 0, PACKET_SIZE);
        int op = cdb[0] & 0xff;
        int f = flags(op);
        if (f == 0) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_ILLEGAL_OPCODE);
            return;
        }
        if (senseKey == SENSE_UNIT_ATTENTION && (f & ALLOW_UA) == 0) {
            // check condition until REQUEST SENSE consumes the unit attention
            error = ERROR_MC | SENSE_UNIT_ATTENTION << 4;
            status = STATUS_ERR;
            nsector = 0;
            raiseIrq();
            return;
        }
        if ((f & ALLOW_UA) == 0 && !trayOpen && drive.isInserted() && cdromChanged != 0) {
            // guests without GESN see a removal and then a new medium
            if (cdromChanged == 1) {
                commandError(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
                cdromChanged = 2;
            } else {
                commandError(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
                cdromChanged = 0;
            }
            return;
        }
        if ((f & CHECK_READY) != 0 && (!mediaPresent() || !drive.isInserted())) {
            commandError(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
            return;
        }
        // a PIO data command with a zero byte count limit is aborted at the ATA level, without interrupt
        if ((f & (NONDATA | CONDDATA)) == 0 && !atapiDma && byteCountLimit() == 0) {
            abortCommand();
            return;
        }
        switch (op) {
            case TEST_UNIT_READY, SET_CD_SPEED -> commandOk();
            case REQUEST_SENSE -> requestSense();
            case INQUIRY -> inquiry();
            case START_STOP_UNIT -> startStopUnit();
            case PREVENT_ALLOW_MEDIUM_REMOVAL -> {
                locked = (cdb[4] & 1) != 0;
                commandOk();
            }
            case READ_CAPACITY -> {
                clear(8);
                putInt(0, (int) ((nbSectors >> 2) - 1)); // last block address
                putInt(4, CD_SECTOR_SIZE);
                reply(8, 8);
            }
            case READ_10, READ_12 -> read(op);
            case READ_CD -> readCd();
            case READ_DVD_STRUCTURE -> {
                // only DVD media have structures; the DVD formats themselves are not emulated
                commandError(SENSE_ILLEGAL_REQUEST, nbSectors > CD_MAX_SECTORS_512 ? ASC_INV_FIELD_IN_CMD_PACKET
                        : ASC_INCOMPATIBLE_FORMAT);
            }
            case SEEK_10 -> {
                long block = getInt(2) & 0xffff_ffffL;
                if (block >= nbSectors >> 2) {
                    commandError(SENSE_ILLEGAL_REQUEST, ASC_LOGICAL_BLOCK_OOR);
                } else {
                    commandOk();
                }
            }
            case READ_TOC_PMA_ATIP -> readToc();
            case GET_CONFIGURATION -> getConfiguration();
            case GET_EVENT_STATUS_NOTIFICATION -> eventStatus();
            case READ_DISC_INFORMATION -> discInformation();
            case MODE_SENSE_10 -> modeSense();
            case MECHANISM_STATUS -> {
                int max = getShort(8);
                clear(8);
                buffer[5] = 1; // one slot
                reply(8, max);
            }
            default -> commandError(SENSE_ILLEGAL_REQUEST, ASC_ILLEGAL_OPCODE);
        }
    }

    private void commandOk() {
        error = 0;
        status = STATUS_DRDY | STATUS_DSC;
        nsector = (nsector & ~7) | INT_REASON_IO | INT_REASON_CD;
        transferStop();
        raiseIrq();
    }

    /** Check condition with a sense key; the error register carries the key in its high nibble. */
    private void commandError(int key, int code) {
        error = key << 4;
        status = STATUS_DRDY | STATUS_ERR;
        nsector = (nsector & ~7) | INT_REASON_IO | INT_REASON_CD;
        senseKey = key;
        asc = code;
        transferStop();
        raiseIrq();
    }

    private void requestSense() {
        int max = cdb[4] & 0xff;
        clear(18);
        buffer[0] = (byte) 0xf0; // valid, current fixed-format sense
        buffer[2] = (byte) senseKey;
        buffer[7] = 10;
        buffer[12] = (byte) asc;
        if (senseKey == SENSE_UNIT_ATTENTION) {
            senseKey = SENSE_NO_SENSE;
        }
        reply(18, max);
    }

    private void inquiry() {
        int page = cdb[2] & 0xff;
        int max = cdb[4] & 0xff;
        if ((cdb[1] & 0x01) != 0) {
            clear(64);
            buffer[0] = 0x05;
            buffer[1] = (byte) page;
            int idx = 4;
            switch (page) {
                case 0x00 -> {
                    buffer[idx++] = 0x00;
                    buffer[idx++] = (byte) 0x83;
                }
                case 0x83 -> {
                    // device identification: the serial number as a vendor-specific ASCII designator
                    buffer[idx++] = 0x02;
                    buffer[idx++] = 0x00;
                    buffer[idx++] = 0x00;
                    buffer[idx++] = 20;
                    padAscii(idx, serial, 20);
                    idx += 20;
                }
                default -> {
                    commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
                    return;
                }
            }
            buffer[3] = (byte) (idx - 4);
            reply(idx, max);
            return;
        }
        clear(36);
        buffer[0] = 0x05; // CD/DVD device
        buffer[1] = (byte) 0x80; // removable
        buffer[2] = 0x00;
        buffer[3] = 0x21; // response data format 1, ATAPI
        buffer[4] = 36 - 5;
        padAscii(8, VENDOR, 8);
        padAscii(16, MODEL, 16);
        padAscii(32, version, 4);
        reply(36, max);
    }

    private void startStopUnit() {
        boolean start = (cdb[4] & 1) != 0;
        boolean loej = (cdb[4] & 2) != 0;
        if ((cdb[4] & 0xf0) != 0) {
            // a power condition: no eject or load
            commandOk();
            return;
        }
        if (loej) {
            if (!start && !trayOpen && locked) {
                commandError(drive.isInserted() ? SENSE_NOT_READY : SENSE_ILLEGAL_REQUEST,
                        ASC_MEDIA_REMOVAL_PREVENTED);
                return;
            }
            if (trayOpen != !start) {
                // QEMU's blk_eject: the medium stays inserted, the drive reports the move
                trayOpen = !start;
                drive.guestTrayMoved(trayOpen);
            }
        }
        commandOk();
    }

    private void read(int op) {
        long total = nbSectors >> 2;
        long count = op == READ_10 ? getShort(7) : getInt(6) & 0xffff_ffffL;
        if (count == 0) {
            commandOk();
            return;
        }
        long block = getInt(2) & 0xffff_ffffL;
        if (block >= total || block + count - 1 >= total) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_LOGICAL_BLOCK_OOR);
            return;
        }
        startRead(block, count, CD_SECTOR_SIZE);
    }

    /** MMC-6 section 6.19: READ CD with user data only (10h) or everything (F8h); nothing else is emulated. */
    private void readCd() {
        long count = (cdb[6] & 0xff) << 16 | (cdb[7] & 0xff) << 8 | cdb[8] & 0xff;
        long block = getInt(2) & 0xffff_ffffL;
        int request = cdb[9] & 0xf8;
        if (count == 0 || request == 0) {
            commandOk();
            return;
        }
        if (request != 0x10 && request != 0xf8) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
            return;
        }
        if (!atapiDma && byteCountLimit() == 0) {
            abortCommand();
            return;
        }
        long total = nbSectors >> 2;
        if (block >= total || block + count - 1 >= total) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_LOGICAL_BLOCK_OOR);
            return;
        }
        startRead(block, count, request == 0x10 ? CD_SECTOR_SIZE : CD_RAW_SECTOR_SIZE);
    }

    private void startRead(long block, long count, int sectorSize) {
        lba = block;
        cdSectorSize = sectorSize;
        packetTransferSize = count * sectorSize;
        elementaryTransferSize = 0;
        bufIndex = sectorSize;
        if (atapiDma) {
            status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
            bus.dma().start(this);
        } else {
            status = STATUS_DRDY | STATUS_DSC;
            pioNext();
        }
    }

    private void readToc() {
        int max = getShort(7);
        int format = (cdb[9] & 0xff) >> 6;
        boolean msf = (cdb[1] & 2) != 0;
        int startTrack = cdb[6] & 0xff;
        long total = nbSectors >> 2;
        clear(64);
        int len;
        switch (format) {
            case 0 -> {
                if (startTrack > 1 && startTrack != 0xaa) {
                    commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
                    return;
                }
                int q = 2;
                buffer[q++] = 1; // first track
                buffer[q++] = 1; // last track
                if (startTrack <= 1) {
                    q = tocEntry(q, 0x14, 1, 0, msf);
                }
                q = tocEntry(q, 0x16, 0xaa, total, msf);
                len = q;
            }
            case 1 -> {
                // one complete session
                buffer[1] = 0x0a;
                buffer[2] = 1;
                buffer[3] = 1;
                len = 12;
            }
            case 2 -> len = rawToc(total, msf);
            default -> {
                commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
                return;
            }
        }
        putShort(0, len - 2);
        reply(len, max);
    }

    private int tocEntry(int q, int adrControl, int track, long address, boolean msf) {
        buffer[q++] = 0;
        buffer[q++] = (byte) adrControl;
        buffer[q++] = (byte) track;
        buffer[q++] = 0;
        if (msf) {
            buffer[q++] = 0;
            putMsf(q, address);
            q += 3;
        } else {
            putInt(q, (int) address);
            q += 4;
        }
        return q;
    }

    /** MMC-6 section 6.39.3: the full TOC of one data session: points A0, A1, A2 and track 1. */
    private int rawToc(long total, boolean msf) {
        int q = 2;
        buffer[q++] = 1;
        buffer[q++] = 1;
        int[][] points = {{0xa0, 1}, {0xa1, 1}};
        for (int[] p : points) {
            buffer[q++] = 1; // session
            buffer[q++] = 0x14; // data track
            buffer[q++] = 0;
            buffer[q++] = (byte) p[0];
            q += 4; // min, sec, frame, zero
            buffer[q++] = (byte) p[1]; // first/last track
            q += 2;
        }
        buffer[q++] = 1;
        buffer[q++] = 0x14;
        buffer[q++] = 0;
        buffer[q++] = (byte) 0xa2; // lead-out
        q += 3;
        if (msf) {
            buffer[q++] = 0;
            putMsf(q, total);
            q += 3;
        } else {
            putInt(q, (int) total);
            q += 4;
        }
        buffer[q++] = 1;
        buffer[q++] = 0x14;
        buffer[q++] = 0;
        buffer[q++] = 1; // point: track 1
        q += 3;
        if (msf) {
            buffer[q++] = 0;
            putMsf(q, 0);
            q += 3;
        } else {
            q += 4;
        }
        return q;
    }

    /** Red Book: minute/second/frame of an LBA, with the 150-frame lead-in offset. */
    private void putMsf(int at, long address) {
        long frames = address + 150;
        buffer[at] = (byte) (frames / 75 / 60);
        buffer[at + 1] = (byte) (frames / 75 % 60);
        buffer[at + 2] = (byte) (frames % 75);
    }

    /** MMC-6 section 6.6: only the profile list feature (0000h) with DVD-ROM and CD-ROM. */
    private void getConfiguration() {
        if (cdb[2] != 0 || cdb[3] != 0) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
            return;
        }
        int max = Math.min(getShort(7), 512);
        clear(Math.max(max, 20));
        int current = 0;
        if (mediaPresent()) {
            current = nbSectors > CD_MAX_SECTORS_512 ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
        }
        putShort(6, current);
        buffer[10] = 0x03; // persistent, current
        buffer[11] = 8; // two profile descriptors
        putShort(12, PROFILE_DVD_ROM);
        buffer[14] = (byte) (current == PROFILE_DVD_ROM ? 1 : 0);
        putShort(16, PROFILE_CD_ROM);
        buffer[18] = (byte) (current == PROFILE_CD_ROM ? 1 : 0);
        putInt(0, 20 - 4);
        reply(20, max);
    }

    /** MMC-6 section 6.7: polled only, media class only (QEMU's event_status_media). */
    private void eventStatus() {
        int max = getShort(7);
        if ((cdb[1] & 0x01) == 0) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
            return;
        }
        int requested = cdb[4] & 0xff;
        clear(8);
        buffer[3] = 1 << GESN_MEDIA; // supported classes
        int used;
        if ((requested & 1 << GESN_MEDIA) != 0) {
            buffer[2] = GESN_MEDIA;
            int mediaStatus = trayOpen ? MS_TRAY_OPEN : drive.isInserted() ? MS_MEDIA_PRESENT : 0;
            int event = MEC_NO_CHANGE;
            if (mediaStatus != MS_TRAY_OPEN) {
                if (eventNewMedia) {
                    event = MEC_NEW_MEDIA;
                    eventNewMedia = false;
                } else if (eventEjectRequest) {
                    event = MEC_EJECT_REQUESTED;
                    eventEjectRequest = false;
                }
            }
            buffer[4] = (byte) event;
            buffer[5] = (byte) mediaStatus;
            used = 8;
        } else {
            buffer[2] = (byte) 0x80; // no event available
            used = 4;
        }
        putShort(0, used - 4);
        reply(used, max);
    }

    private void discInformation() {
        int max = getShort(7);
        if ((cdb[1] & 7) != 0) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
            return;
        }
        clear(34);
        buffer[1] = 32;
        buffer[2] = 0x0e; // last session complete, disc finalized
        buffer[3] = 1; // first track
        buffer[4] = 1; // sessions
        buffer[5] = 1; // first track of last session
        buffer[6] = 1; // last track of last session
        buffer[7] = 0x20; // unrestricted use
        reply(34, max);
    }

    private void modeSense() {
        int max = getShort(7);
        int control = (cdb[2] & 0xff) >> 6;
        int page = cdb[2] & 0x3f;
        if (control == 3) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
            return;
        }
        if (control != 0) {
            commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
            return;
        }
        int len;
        switch (page) {
            case MODE_PAGE_R_W_ERROR -> {
                len = 16;
                clear(len);
                buffer[8] = MODE_PAGE_R_W_ERROR;
                buffer[9] = (byte) (len - 10);
                buffer[11] = 0x05; // read retry count
            }
            case MODE_PAGE_AUDIO_CTL -> {
                len = 24;
                clear(len);
                buffer[8] = MODE_PAGE_AUDIO_CTL;
                buffer[9] = (byte) (len - 10);
            }
            case MODE_PAGE_CAPABILITIES -> {
                len = 30;
                clear(len);
                buffer[8] = MODE_PAGE_CAPABILITIES;
                buffer[9] = (byte) (len - 10);
                buffer[10] = 0x3b; // reads CD-R/RW, DVD-ROM/R/RAM
                buffer[12] = 0x71; // audio play (Linux checks it to automount), multi-session...
                buffer[13] = (byte) (3 << 5);
                buffer[14] = (byte) (1 | 1 << 3 | 1 << 5 | (locked ? 1 << 1 : 0)); // lock, eject, tray loader
                putShort(16, 704); // 4x read speed
                buffer[19] = 2; // volume levels
                putShort(20, 512); // buffer KiB
                putShort(22, 704);
            }
            default -> {
                commandError(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
                return;
            }
        }
        putShort(0, len - 2);
        buffer[2] = 0x70; // medium type: QEMU's value
        reply(len, max);
    }

    // ---- data phase -----------------------------------------------------------------------------

    /** Sends buffer[0, size) (cut to max) by PIO or DMA (QEMU's ide_atapi_cmd_reply). */
    private void reply(int size, int max) {
        size = Math.min(size, max);
        lba = -1;
        packetTransferSize = size;
        replySize = size;
        elementaryTransferSize = 0;
        bufIndex = 0;
        if (atapiDma) {
            status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
            bus.dma().start(this);
        } else {
            status = STATUS_DRDY | STATUS_DSC;
            pioNext();
        }
    }

    /** QEMU's ide_atapi_cmd_reply_end: the next DRQ block, split by the byte count limit and by sector. */
    private void pioNext() {
        while (packetTransferSize > 0) {
            if (lba != -1 && bufIndex >= cdSectorSize) {
                if (!readSectors(1)) {
                    return;
                }
                bufIndex = 0;
            }
            int limit = lba != -1 ? cdSectorSize : replySize;
            if (elementaryTransferSize > 0) {
                int size = Math.min(limit - bufIndex, elementaryTransferSize);
                startBlock(size);
                return;
            }
            nsector = (nsector & ~7) | INT_REASON_IO;
            raiseIrq();
            int bcl = byteCountLimit();
            int size = (int) Math.min(packetTransferSize, 0x10000);
            if (size > bcl) {
                size = Math.max(2, bcl & ~1);
            }
            lcyl = size & 0xff;
            hcyl = (size >> 8) & 0xff;
            elementaryTransferSize = size;
            if (lba != -1) {
                size = Math.min(size, cdSectorSize - bufIndex);
            }
            startBlock(size);
            return;
        }
        commandOk();
    }

    private void startBlock(int size) {
        transferStart(bufIndex, size, Transfer.ATAPI_REPLY);
        packetTransferSize -= size;
        elementaryTransferSize -= size;
        bufIndex += size;
    }

    /**
     * Loads n sectors at lba into the buffer, as cooked 2048-byte sectors or (n = 1) one raw sector with
     * QEMU's sync and header and a zero EDC/ECC area; advances nothing.
     */
    private void loadSectors(BlockBackend m, int n) throws IOException {
        if (cdSectorSize == CD_SECTOR_SIZE) {
            io.clear().limit(n * CD_SECTOR_SIZE);
            m.read(lba * CD_SECTOR_SIZE, io);
            return;
        }
        io.clear().position(RAW_DATA_OFFSET).limit(RAW_DATA_OFFSET + CD_SECTOR_SIZE);
        m.read(lba * CD_SECTOR_SIZE, io);
        buffer[0] = 0;
        java.util.Arrays.fill(buffer, 1, 11, (byte) 0xff);
        buffer[11] = 0;
        putMsf(12, lba);
        buffer[15] = 0x01; // mode 1
        java.util.Arrays.fill(buffer, RAW_DATA_OFFSET + CD_SECTOR_SIZE, CD_RAW_SECTOR_SIZE, (byte) 0);
    }

    /** Reads n sectors at lba into the buffer and advances lba; false (with the error reported) on failure. */
    private boolean readSectors(int n) {
        if (!drive.isInserted()) {
            commandError(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
            return false;
        }
        try {
            loadSectors(drive, n);
        } catch (IOException e) {
            if (!drive.isInserted()) {
                commandError(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
            } else {
                commandError(SENSE_ILLEGAL_REQUEST, ASC_LOGICAL_BLOCK_OOR);
            }
            return false;
        }
        lba += n;
        return true;
    }

    /** DMA: the reply, or the sectors in chunks, copied through the PRD table. */
    @Override
    void runDma() {
        BusMasterDma dma = bus.dma();
        if (lba == -1) {
            if (!dmaCopy(dma, (int) packetTransferSize)) {
                return;
            }
            packetTransferSize = 0;
        }
        while (packetTransferSize > 0) {
            int n = cdSectorSize == CD_SECTOR_SIZE
                    ? (int) Math.min(packetTransferSize / CD_SECTOR_SIZE, DMA_CHUNK_SECTORS) : 1;
            boolean inserted = drive.isInserted();
            try {
                if (!inserted) {
                    throw new IOException("No medium found");
                }
                loadSectors(drive, n);
            } catch (IOException e) {
                BlockBackend.ErrorAction action = inserted ? drive.handleError(true, e) : BlockBackend.ErrorAction.REPORT;
                if (action == BlockBackend.ErrorAction.STOP) {
                    retryPending = true;
                    status |= STATUS_BSY;
                    return;
                }
                if (action == BlockBackend.ErrorAction.REPORT) {
                    commandError(inserted ? SENSE_ILLEGAL_REQUEST : SENSE_NOT_READY,
                            inserted ? ASC_LOGICAL_BLOCK_OOR : ASC_MEDIUM_NOT_PRESENT);
                    dma.setInactive(false);
                    return;
                }
            }
            if (!dmaCopy(dma, n * cdSectorSize)) {
                return;
            }
            lba += n;
            packetTransferSize -= (long) n * cdSectorSize;
        }
        status = STATUS_DRDY | STATUS_DSC;
        nsector = (nsector & ~7) | INT_REASON_IO | INT_REASON_CD;
        raiseIrq();
        dma.setInactive(false);
    }

    /** Copies buffer[0, len) out; on a short table or a bad region ends the transfer as QEMU/the brief say. */
    private boolean dmaCopy(BusMasterDma dma, int len) {
        int r = dma.copyToMemory(buffer, 0, len);
        if (r < 0) {
            dma.setError();
            abortCommand();
            dma.setInactive(false);
            raiseIrq();
            return false;
        }
        if (r < len) {
            // the table ended first: QEMU stops without an interrupt and leaves DRQ up
            dma.setInactive(false);
            return false;
        }
        return true;
    }

    @Override
    int[] buildIdentify() {
        int[] p = new int[256];
        p[0] = 2 << 14 | 5 << 8 | 1 << 7 | 2 << 5; // ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets
        putString(p, 10, serial, 20);
        p[20] = 3;
        p[21] = 512;
        p[22] = 4;
        putString(p, 23, version, 8);
        putString(p, 27, MODEL, 40);
        p[48] = 1;
        p[49] = 1 << 9 | 1 << 8; // LBA, DMA
        p[53] = 7;
        p[62] = 7;
        p[63] = 7;
        p[64] = 3;
        p[65] = 0xb4;
        p[66] = 0xb4;
        p[67] = 0x12c;
        p[68] = 0xb4;
        p[71] = 30;
        p[72] = 30;
        p[80] = 0x1e; // ATA/ATAPI-1 to -4
        p[88] = 0x3f | 1 << 13;
        return p;
    }

    // ---- buffer helpers (big-endian, as SCSI) ------------------------------------------------------

    private void clear(int n) {
        java.util.Arrays.fill(buffer, 0, n, (byte) 0);
    }

    private int getShort(int at) {
        return (cdb[at] & 0xff) << 8 | cdb[at + 1] & 0xff;
    }

    private int getInt(int at) {
        return (cdb[at] & 0xff) << 24 | (cdb[at + 1] & 0xff) << 16 | (cdb[at + 2] & 0xff) << 8 | cdb[at + 3] & 0xff;
    }

    private void putShort(int at, int v) {
        buffer[at] = (byte) (v >>> 8);
        buffer[at + 1] = (byte) v;
    }

    private void putInt(int at, int v) {
        putShort(at, v >>> 16);
        putShort(at + 2, v);
    }

    private void padAscii(int at, String s, int len) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < len; i++) {
            buffer[at + i] = i < b.length ? b[i] : (byte) ' ';
        }
    }
}
