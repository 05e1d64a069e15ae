package dev.jvmm.devices.ide;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.nio.charset.StandardCharsets;

/**
 * ATA/ATAPI-8 ACS (T13/1699-D) and ATA8-APT: one device (master or slave) on an {@link IdeBus}: the
 * command-block registers as the device holds them, the PIO data buffer, and the command protocol shared by
 * hard disks and packet devices. Subclasses add their command sets. Every method runs with the bus lock held.
 */
public abstract class IdeDevice {
    /**
     * QEMU's ide-device: unit (0 or 1; the default picks the first free one) and bootindex, which only speaks
     * to firmware (jvmm boots without).
     */
    public static final TypeInfo TYPE = TypeInfo.abstractType("ide-device", "device").bus(IdeBus.TYPE.name())
            .props(Property.of("unit", PropType.UINT32, IdeUnits.UNIT_AUTO))
            .build();

    /** ATA8-ACS section 6.1 (Status field) and ATA8-APT section 5.2.13: status register bits. */
    public static final int STATUS_ERR = 0x01;
    public static final int STATUS_DRQ = 0x08;
    /** Obsolete "device seek complete"; QEMU still reports it. */
    public static final int STATUS_DSC = 0x10;
    public static final int STATUS_DF = 0x20;
    public static final int STATUS_DRDY = 0x40;
    public static final int STATUS_BSY = 0x80;

    /** ATA8-ACS section 6.2 (Error field): command aborted. */
    public static final int ERROR_ABRT = 0x04;
    /** ATA8-ACS section 6.2: media change (ATAPI check-status). */
    public static final int ERROR_MC = 0x20;

    /** ATA8-APT section 5.2.6: Device register bits (bits 7 and 5 are obsolete and read as one in QEMU). */
    public static final int DEVICE_OBSOLETE_ONES = 0xa0;
    public static final int DEVICE_LBA = 0x40;
    public static final int DEVICE_DEV = 0x10;
    public static final int DEVICE_HEAD = 0x0f;

    /** ATA8-ACS section 7: command codes shared by both device kinds. */
    public static final int CMD_DEVICE_RESET = 0x08;
    public static final int CMD_EXECUTE_DEVICE_DIAGNOSTIC = 0x90;
    public static final int CMD_PACKET = 0xa0;
    public static final int CMD_IDENTIFY_PACKET_DEVICE = 0xa1;
    public static final int CMD_FLUSH_CACHE = 0xe7;
    public static final int CMD_IDENTIFY_DEVICE = 0xec;
    public static final int CMD_SET_FEATURES = 0xef;

    /** ATA8-ACS section 7.48: SET FEATURES subcommands (Feature register). */
    public static final int SF_ENABLE_WRITE_CACHE = 0x02;
    public static final int SF_SET_TRANSFER_MODE = 0x03;
    public static final int SF_DISABLE_WRITE_CACHE = 0x82;
    /** Subcommands QEMU accepts and ignores (look-ahead, reverting to defaults, APM, ...). */
    private static final int[] SF_IGNORED = {0xcc, 0x66, 0xaa, 0x55, 0x05, 0x85, 0x69, 0x67, 0x96, 0x9a, 0x42, 0xc2};

    /** The PIO data buffer: 256 sectors plus slack, as QEMU's io_buffer. */
    static final int BUFFER_SIZE = 256 * 512 + 4;

    /** What happens when the guest has moved the last byte of the current DRQ block. */
    enum Transfer { STOP, DUMMY, SECTOR_READ, SECTOR_WRITE, PACKET, ATAPI_REPLY }

    IdeBus bus;
    int unit;

    // Command-block registers; the "hob" copies hold the previous write for 48-bit commands.
    int feature;
    int hobFeature;
    /** Sector count; after a command starts it holds the full count (up to 65536). */
    int nsector;
    int hobNsector;
    int sector;
    int hobSector;
    int lcyl;
    int hobLcyl;
    int hcyl;
    int hobHcyl;
    int select = DEVICE_OBSOLETE_ONES;
    int status = STATUS_DRDY | STATUS_DSC;
    int error;
    boolean lba48;

    final byte[] buffer;
    int dataPtr;
    int dataEnd;
    Transfer endTransfer = Transfer.DUMMY;

    /** IDENTIFY (PACKET) DEVICE data, built on first use and edited by SET FEATURES as QEMU does. */
    int[] identify;

    /**
     * QEMU's serial number for a drive without serial=: "QM%05d" of a counter that numbers every IDE unit
     * slot as its bus is created, which on the pc machine (the PIIX3 is the only IDE controller) is
     * 1 + 2 * channel + unit: QM00001 for ide0-hd0, QM00003 for ide1-cd0.
     */
    public static String defaultSerial(int channel, int unit) {
        return String.format("QM%05d", 1 + 2 * channel + unit);
    }

    IdeDevice(int bufferSize) {
        buffer = new byte[bufferSize];
    }

    /** False for the empty slot on a channel that has only one device. */
    abstract boolean present();

    /** Packet devices answer with the ATAPI signature and take DEVICE RESET while busy. */
    abstract boolean isPacketDevice();

    /**
     * Runs command (the handler of QEMU's ide_exec_cmd): returns true when the command completed at once,
     * false when it continues (data phase, DMA) and will raise the interrupt itself.
     */
    abstract boolean execute(int command);

    /** Whether command exists for this device kind; others are aborted. */
    abstract boolean permitted(int command);

    /** Commands whose successful completion also sets DSC (QEMU's SET_DSC flag). */
    abstract boolean setsSeekComplete(int command);

    /** Builds the 256 IDENTIFY words. */
    abstract int[] buildIdentify();

    /** Called when the bus master starts (or is already running) for a pending DMA command. */
    void runDma() {
    }

    /** Re-runs a request that the block layer's "stop" policy kept, when the VM resumes. */
    void retry() {
    }

    // ---- registers --------------------------------------------------------------------------------

    /** QEMU's ide_reset: registers and transfer state to power-on values, then the signature. */
    void reset() {
        feature = 0;
        error = 0;
        nsector = 0;
        sector = 0;
        lcyl = 0;
        hcyl = 0;
        hobFeature = 0;
        hobSector = 0;
        hobNsector = 0;
        hobLcyl = 0;
        hobHcyl = 0;
        select = DEVICE_OBSOLETE_ONES;
        status = STATUS_DRDY | STATUS_DSC;
        lba48 = false;
        setSignature();
        endTransfer = Transfer.DUMMY;
        dataPtr = 0;
        dataEnd = 0;
    }

    /** ATA8-ACS section 9.12: the signature left in the task file after reset and diagnostics. */
    void setSignature() {
        select &= ~DEVICE_HEAD;
        nsector = 1;
        sector = 1;
        if (isPacketDevice()) {
            lcyl = 0x14;
            hcyl = 0xeb;
        } else if (present()) {
            lcyl = 0;
            hcyl = 0;
        } else {
            lcyl = 0xff;
            hcyl = 0xff;
        }
    }

    void abortCommand() {
        transferStop();
        status = STATUS_DRDY | STATUS_ERR;
        error = ERROR_ABRT;
    }

    /** LBA or CHS address in the task file (QEMU's ide_get_sector). */
    long currentSector(AtaGeometry g) {
        if ((select & DEVICE_LBA) != 0) {
            if (lba48) {
                return (long) hobHcyl << 40 | (long) hobLcyl << 32 | (long) hobSector << 24
                        | (long) hcyl << 16 | (long) lcyl << 8 | sector;
            }
            return (long) (select & DEVICE_HEAD) << 24 | (long) hcyl << 16 | (long) lcyl << 8 | sector;
        }
        return ((long) (hcyl << 8 | lcyl)) * g.heads() * g.sectors() + (long) (select & DEVICE_HEAD) * g.sectors()
                + (sector - 1);
    }

    /** Writes the address after a transfer back to the task file, as the spec's normal outputs say. */
    void setCurrentSector(long s, AtaGeometry g) {
        if ((select & DEVICE_LBA) != 0) {
            if (lba48) {
                sector = (int) s & 0xff;
                lcyl = (int) (s >>> 8) & 0xff;
                hcyl = (int) (s >>> 16) & 0xff;
                hobSector = (int) (s >>> 24) & 0xff;
                hobLcyl = (int) (s >>> 32) & 0xff;
                hobHcyl = (int) (s >>> 40) & 0xff;
            } else {
                select = (select & ~DEVICE_HEAD) | (int) (s >>> 24) & DEVICE_HEAD;
                hcyl = (int) (s >>> 16) & 0xff;
                lcyl = (int) (s >>> 8) & 0xff;
                sector = (int) s & 0xff;
            }
        } else {
            long perCyl = (long) g.heads() * g.sectors();
            long cyl = s / perCyl;
            long r = s % perCyl;
            hcyl = (int) (cyl >>> 8) & 0xff;
            lcyl = (int) cyl & 0xff;
            select = (select & ~DEVICE_HEAD) | (int) (r / g.sectors()) & DEVICE_HEAD;
            sector = (int) (r % g.sectors() + 1) & 0xff;
        }
    }

    /** The 0-means-maximum sector count of 28- and 48-bit commands, folded into nsector. */
    void lba48Transform(boolean is48) {
        lba48 = is48;
        if (!is48) {
            if (nsector == 0) {
                nsector = 256;
            }
        } else if (nsector == 0 && hobNsector == 0) {
            nsector = 65536;
        } else {
            nsector = hobNsector << 8 | nsector;
        }
    }

    // ---- PIO data phase ----------------------------------------------------------------------------

    void transferStart(int start, int length, Transfer onEnd) {
        endTransfer = onEnd;
        dataPtr = start;
        dataEnd = start + length;
        if ((status & STATUS_ERR) == 0) {
            status |= STATUS_DRQ;
        }
    }

    void transferStop() {
        endTransfer = Transfer.STOP;
        dataPtr = 0;
        dataEnd = 0;
        status &= ~STATUS_DRQ;
    }

    /** Whether the current data phase moves data to the host (reads of the data port are served). */
    private boolean dataIn() {
        return endTransfer != Transfer.SECTOR_WRITE && endTransfer != Transfer.PACKET;
    }

    /** A 2- or 4-byte read of the data register; 0 outside a device-to-host DRQ phase, as in QEMU. */
    long readData(int size) {
        if ((status & STATUS_DRQ) == 0 || !dataIn() || dataPtr + size > dataEnd) {
            return 0;
        }
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (buffer[dataPtr + i] & 0xffL) << (8 * i);
        }
        dataPtr += size;
        if (dataPtr >= dataEnd) {
            status &= ~STATUS_DRQ;
            endOfTransfer();
        }
        return v;
    }

    /** A 2- or 4-byte write of the data register; ignored outside a host-to-device DRQ phase. */
    void writeData(int size, long value) {
        if ((status & STATUS_DRQ) == 0 || dataIn() || dataPtr + size > dataEnd) {
            return;
        }
        for (int i = 0; i < size; i++) {
            buffer[dataPtr + i] = (byte) (value >>> (8 * i));
        }
        dataPtr += size;
        if (dataPtr >= dataEnd) {
            status &= ~STATUS_DRQ;
            endOfTransfer();
        }
    }

    private void endOfTransfer() {
        switch (endTransfer) {
            case STOP -> transferStop();
            case DUMMY -> {
                endTransfer = Transfer.DUMMY;
                dataPtr = 0;
                dataEnd = 0;
            }
            default -> transferDone(endTransfer);
        }
    }

    /** The guest drained or filled a DRQ block whose end action is a device-specific one. */
    void transferDone(Transfer t) {
        transferStop();
    }

    // ---- shared commands ---------------------------------------------------------------------------

    /** IDENTIFY (PACKET) DEVICE: 512 bytes for the guest to read. */
    boolean identifyCommand() {
        if (identify == null) {
            identify = buildIdentify();
        }
        for (int i = 0; i < 256; i++) {
            buffer[2 * i] = (byte) identify[i];
            buffer[2 * i + 1] = (byte) (identify[i] >>> 8);
        }
        status = STATUS_DRDY | STATUS_DSC;
        transferStart(0, 512, Transfer.STOP);
        bus.raiseIrq();
        return false;
    }

    /** ATA8-ACS section 7.10: EXECUTE DEVICE DIAGNOSTIC; error 01h means device 0 passed, 1 passed or absent. */
    boolean diagnosticCommand() {
        setSignature();
        if (isPacketDevice()) {
            // ATA8-APT: packet devices leave DRDY clear here
            status = 0;
            error = 0x01;
        } else {
            status = STATUS_DRDY | STATUS_DSC;
            error = 0x01;
            bus.raiseIrq();
        }
        return false;
    }

    /** SET FEATURES: write cache and transfer mode edit the IDENTIFY words as QEMU does. */
    boolean setFeaturesCommand() {
        if (identify == null) {
            identify = buildIdentify();
        }
        switch (feature) {
            case SF_ENABLE_WRITE_CACHE, SF_DISABLE_WRITE_CACHE -> {
                boolean on = feature == SF_ENABLE_WRITE_CACHE;
                setWriteCache(on);
                identify[85] = (1 << 14) | (on ? 1 << 5 : 0) | 1;
                return true;
            }
            case SF_SET_TRANSFER_MODE -> {
                int mode = nsector & 0x07;
                switch ((nsector & 0xff) >> 3) {
                    case 0x00, 0x01 -> setModes(0x07, 0x07, 0x3f);
                    case 0x02 -> setModes(0x07 | 1 << (mode + 8), 0x07, 0x3f);
                    case 0x04 -> setModes(0x07, 0x07 | 1 << (mode + 8), 0x3f);
                    case 0x08 -> setModes(0x07, 0x07, 0x3f | 1 << (mode + 8));
                    default -> {
                        abortCommand();
                        return true;
                    }
                }
                return true;
            }
            default -> {
                for (int f : SF_IGNORED) {
                    if (f == feature) {
                        return true;
                    }
                }
                abortCommand();
                return true;
            }
        }
    }

    private void setModes(int w62, int w63, int w88) {
        identify[62] = w62;
        identify[63] = w63;
        identify[88] = w88;
    }

    /** The write cache switch of SET FEATURES; packet devices only remember it. */
    void setWriteCache(boolean on) {
    }

    // ---- saved state (bus lock held) ----------------------------------------------------------------

    /** "absent", "ata" or "atapi": a unit of another kind is another configuration. */
    abstract String kind();

    /**
     * The task file, the PIO data phase (buffer up to its last non-zero byte, position, end, what the end
     * does) and the IDENTIFY words as SET FEATURES left them, then the subclass's state.
     */
    final void saveState(StateWriter w) {
        int used = buffer.length;
        while (used > 0 && buffer[used - 1] == 0) {
            used--;
        }
        w.begin("unit").str("kind", kind()).u8("feature", feature).u8("hob-feature", hobFeature)
                .u32("nsector", nsector).u8("hob-nsector", hobNsector).u8("sector", sector)
                .u8("hob-sector", hobSector).u8("lcyl", lcyl).u8("hob-lcyl", hobLcyl).u8("hcyl", hcyl)
                .u8("hob-hcyl", hobHcyl).u8("select", select).u8("status", status).u8("error", error)
                .bool("lba48", lba48).bytes("buffer", buffer, 0, used).u32("data-ptr", dataPtr)
                .u32("data-end", dataEnd).u8("end-transfer", endTransfer.ordinal())
                .bool("identify", identify != null);
        if (identify != null) {
            byte[] b = new byte[512];
            for (int i = 0; i < 256; i++) {
                b[2 * i] = (byte) identify[i];
                b[2 * i + 1] = (byte) (identify[i] >>> 8);
            }
            w.bytes("identify-data", b);
        }
        saveDevice(w);
        w.end();
    }

    final void loadState(StateReader r) throws StateException {
        r.begin("unit", 1);
        r.expectStr("kind", kind());
        int f = r.u8("feature");
        int hf = r.u8("hob-feature");
        int ns = r.u32("nsector");
        if (ns < 0 || ns > 65536) {
            throw r.invalid("nsector", Integer.toString(ns));
        }
        int hns = r.u8("hob-nsector");
        int sc = r.u8("sector");
        int hsc = r.u8("hob-sector");
        int lc = r.u8("lcyl");
        int hlc = r.u8("hob-lcyl");
        int hc = r.u8("hcyl");
        int hhc = r.u8("hob-hcyl");
        int sel = r.u8("select");
        int st = r.u8("status");
        int er = r.u8("error");
        boolean l48 = r.bool("lba48");
        byte[] buf = r.bytes("buffer");
        if (buf.length > buffer.length) {
            throw r.invalid("buffer", buf.length + " bytes, the buffer holds " + buffer.length);
        }
        int ptr = r.u32("data-ptr");
        int end = r.u32("data-end");
        if (ptr < 0 || end < ptr || end > buffer.length) {
            throw r.invalid("data-ptr", "position " + ptr + " and end " + end + " do not fit the buffer");
        }
        int et = r.u8("end-transfer");
        if (et >= Transfer.values().length) {
            throw r.invalid("end-transfer", Integer.toString(et));
        }
        int[] id = null;
        if (r.bool("identify")) {
            byte[] b = new byte[512];
            r.bytes("identify-data", b);
            id = new int[256];
            for (int i = 0; i < 256; i++) {
                id[i] = (b[2 * i] & 0xff) | (b[2 * i + 1] & 0xff) << 8;
            }
        }
        loadDevice(r);
        r.end();
        feature = f;
        hobFeature = hf;
        nsector = ns;
        hobNsector = hns;
        sector = sc;
        hobSector = hsc;
        lcyl = lc;
        hobLcyl = hlc;
        hcyl = hc;
        hobHcyl = hhc;
        select = sel;
        status = st;
        error = er;
        lba48 = l48;
        java.util.Arrays.fill(buffer, (byte) 0);
        System.arraycopy(buf, 0, buffer, 0, buf.length);
        dataPtr = ptr;
        dataEnd = end;
        endTransfer = Transfer.values()[et];
        identify = id;
    }

    /** The subclass's fields; it validates everything it reads before it changes anything. */
    void saveDevice(StateWriter w) {
    }

    void loadDevice(StateReader r) throws StateException {
    }

    /** ATA strings: two characters per word, the first in the high byte, padded with spaces. */
    static void putString(int[] words, int firstWord, String s, int lengthBytes) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < lengthBytes; i++) {
            int c = i < b.length ? b[i] & 0xff : ' ';
            int w = firstWord + i / 2;
            words[w] = (i % 2 == 0) ? (words[w] & 0x00ff) | c << 8 : (words[w] & 0xff00) | c;
        }
    }
}
