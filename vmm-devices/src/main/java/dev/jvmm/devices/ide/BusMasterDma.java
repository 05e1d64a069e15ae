package dev.jvmm.devices.ide;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

/**
 * Programming Interface for Bus Master IDE Controller (SFF-8038i rev 1.0), as on the 82371SB PIIX3
 * (datasheet section 2.7): one channel's bus-master registers (command, status, descriptor table pointer)
 * and the walk over its Physical Region Descriptor table. Every PRD and every region it names is checked
 * against guest RAM; a region outside RAM is a DMA error, never an exception. Guarded by the bus lock.
 */
public final class BusMasterDma {
    /** SFF-8038i section 3.1: register offsets within the channel's 8 bytes. */
    public static final int BMICX = 0;
    public static final int BMISX = 2;
    public static final int BMIDTPX = 4;

    /** Command register: Start/Stop Bus Master, and Read or Write Control (1 = write to memory). */
    public static final int CMD_START = 0x01;
    public static final int CMD_WRITE_TO_MEMORY = 0x08;
    /** Status register: Bus Master IDE Active, Error, Interrupt, Drive 0/1 DMA Capable, Simplex only. */
    public static final int STATUS_ACTIVE = 0x01;
    public static final int STATUS_ERROR = 0x02;
    public static final int STATUS_INTERRUPT = 0x04;
    public static final int STATUS_DRIVE_CAPABLE = 0x60;

    /** SFF-8038i section 1.2: a PRD's byte count is bits 15:1 (0 means 64 KiB); bit 31 ends the table. */
    public static final int PRD_BYTE_COUNT = 0xfffe;
    public static final int PRD_EOT = 0x8000_0000;
    /** QEMU reads at most one page of descriptors (512 PRDs) as a fail-safe for a table without EOT. */
    public static final int TABLE_LIMIT = 4096;
    private static final int MAX_SEGMENTS = TABLE_LIMIT / 8;

    private final IdeBus bus;
    private GuestMemory memory;

    int command;
    int status;
    /** Descriptor table pointer (dword aligned). */
    long tableAddress;
    // walk state: the next descriptor to fetch and what is left of the current one
    private long nextDescriptor;
    private long regionAddress;
    private int regionLeft;
    private boolean lastRegion;
    /** The device whose DMA command waits for (or runs under) Start, or null (QEMU's dma_cb). */
    IdeDevice pending;

    // the scatter list of the last prepare(): kept to avoid allocating per request
    final long[] segAddress = new long[MAX_SEGMENTS];
    final int[] segLength = new int[MAX_SEGMENTS];
    int segCount;

    BusMasterDma(IdeBus bus) {
        this.bus = bus;
    }

    void setMemory(GuestMemory memory) {
        this.memory = memory;
    }

    GuestMemory memory() {
        return memory;
    }

    void reset() {
        command = 0;
        status = 0;
        tableAddress = 0;
        nextDescriptor = 0;
        regionAddress = 0;
        regionLeft = 0;
        lastRegion = false;
        pending = null;
    }

    /** Byte read of the command (0) or status (2) register; other widths and offsets read as ones (QEMU). */
    int readRegister(int offset, int size) {
        if (size != 1) {
            return (1 << (size * 8)) - 1;
        }
        return switch (offset) {
            case BMICX -> command;
            case BMISX -> status;
            default -> 0xff;
        };
    }

    void writeRegister(int offset, int size, int value) {
        if (size != 1) {
            return;
        }
        if (offset == BMICX) {
            writeCommand(value);
        } else if (offset == BMISX) {
            // capable bits are R/W, Error and Interrupt are write-one-to-clear, Active is read-only
            status = (value & STATUS_DRIVE_CAPABLE) | (status & STATUS_ACTIVE)
                    | (status & ~value & (STATUS_ERROR | STATUS_INTERRUPT));
        }
    }

    int readTable(int offset, int size) {
        return (int) (tableAddress >>> (offset * 8)) & (int) ((1L << (size * 8)) - 1);
    }

    void writeTable(int offset, int size, int value) {
        int shift = offset * 8;
        long mask = ((1L << (size * 8)) - 1) << shift;
        tableAddress = (tableAddress & ~mask | ((long) value << shift) & mask) & 0xffff_fffcL;
    }

    private void writeCommand(int value) {
        if ((value & CMD_START) != (command & CMD_START)) {
            if ((value & CMD_START) == 0) {
                // transfers run to completion synchronously, so there is nothing in flight to cancel
                status &= ~STATUS_ACTIVE;
            } else {
                nextDescriptor = tableAddress;
                if ((status & STATUS_ACTIVE) == 0) {
                    status |= STATUS_ACTIVE;
                    command = value & (CMD_START | CMD_WRITE_TO_MEMORY);
                    if (pending != null) {
                        pending.runDma();
                    }
                    return;
                }
            }
        }
        command = value & (CMD_START | CMD_WRITE_TO_MEMORY);
    }

    /** A device starts a DMA command: it runs now if the guest already set Start, else when it does. */
    void start(IdeDevice device) {
        pending = device;
        regionAddress = 0;
        regionLeft = 0;
        lastRegion = false;
        if ((status & STATUS_ACTIVE) != 0) {
            device.runDma();
        }
    }

    /** Re-walks the table from its start, for a request re-run after a "stop" error policy. */
    void restart() {
        nextDescriptor = tableAddress;
        regionAddress = 0;
        regionLeft = 0;
        lastRegion = false;
    }

    /** The transfer ended: Active stays set only when the PRDs described more than was moved (QEMU). */
    void setInactive(boolean more) {
        pending = null;
        if (more) {
            status |= STATUS_ACTIVE;
        } else {
            status &= ~STATUS_ACTIVE;
        }
    }

    /** A descriptor or region outside RAM: the Error bit, transfer stopped. */
    void setError() {
        status |= STATUS_ERROR;
    }

    /** Result of {@link #prepare}: the table named a region or descriptor outside RAM. */
    static final long OUTSIDE_RAM = -1;

    /**
     * Builds the scatter list for up to limit bytes (QEMU's bmdma_prepare_buf): reads descriptors until EOT
     * or the one-page fail-safe, listing regions into segAddress/segLength up to limit. Returns the bytes
     * the whole table describes (which may exceed limit), or {@link #OUTSIDE_RAM}. The listed bytes are
     * {@link #listed()}.
     */
    long prepare(int limit) {
        segCount = 0;
        long described = 0;
        int listed = 0;
        while (true) {
            if (regionLeft == 0) {
                if (lastRegion || nextDescriptor - tableAddress >= TABLE_LIMIT) {
                    return described;
                }
                if (!fetchDescriptor()) {
                    return OUTSIDE_RAM;
                }
            }
            int take = Math.min(limit - listed, regionLeft);
            if (take > 0) {
                if (!memory.contains(regionAddress, take)) {
                    return OUTSIDE_RAM;
                }
                segAddress[segCount] = regionAddress;
                segLength[segCount] = take;
                segCount++;
                listed += take;
            }
            // the whole region counts as described even past limit, as in QEMU
            described += regionLeft;
            regionAddress += regionLeft;
            regionLeft = 0;
        }
    }

    /** Bytes listed by the last {@link #prepare}. */
    int listed() {
        int n = 0;
        for (int i = 0; i < segCount; i++) {
            n += segLength[i];
        }
        return n;
    }

    /**
     * Copies src[off, off+len) into the regions, continuing the walk (QEMU's bmdma_rw_buf towards memory).
     * Returns len when all was copied, a smaller count when the table ended first, or -1 when a descriptor
     * or region lies outside RAM.
     */
    int copyToMemory(byte[] src, int off, int len) {
        int done = 0;
        while (done < len) {
            if (regionLeft == 0) {
                if (lastRegion || nextDescriptor - tableAddress >= TABLE_LIMIT) {
                    return done;
                }
                if (!fetchDescriptor()) {
                    return -1;
                }
            }
            int l = Math.min(len - done, regionLeft);
            if (!memory.contains(regionAddress, l)) {
                return -1;
            }
            memory.write(regionAddress, src, off + done, l);
            regionAddress += l;
            regionLeft -= l;
            done += l;
        }
        return done;
    }

    private boolean fetchDescriptor() {
        if (memory == null || !memory.contains(nextDescriptor, 8)) {
            return false;
        }
        long addr = memory.readInt(nextDescriptor) & 0xffff_ffffL;
        int count = memory.readInt(nextDescriptor + 4);
        nextDescriptor += 8;
        int len = count & PRD_BYTE_COUNT;
        regionLeft = len == 0 ? 0x10000 : len;
        regionAddress = addr;
        lastRegion = (count & PRD_EOT) != 0;
        return true;
    }

    /** The bus raised its interrupt: Interrupt status bit (QEMU's bmdma_irq). */
    void interruptRaised() {
        status |= STATUS_INTERRUPT;
    }

    IdeBus bus() {
        return bus;
    }

    /** Registers, the PRD walk position and which unit's DMA command is pending (-1: none). */
    void saveState(StateWriter w, int pendingUnit) {
        w.begin("bmdma").u8("command", command).u8("status", status).u32("table", (int) tableAddress)
                .u64("next-descriptor", nextDescriptor).u64("region-address", regionAddress)
                .u32("region-left", regionLeft).bool("last-region", lastRegion).u8("pending", pendingUnit & 0xff)
                .end();
    }

    /** Returns the pending unit (0, 1 or -1), which the bus resolves; the rest is applied here. */
    int loadState(StateReader r) throws StateException {
        r.begin("bmdma", 1);
        int cmd = r.u8("command");
        int st = r.u8("status");
        long table = r.u32("table") & 0xffff_ffffL;
        long next = r.u64("next-descriptor");
        long region = r.u64("region-address");
        int left = r.u32("region-left");
        boolean last = r.bool("last-region");
        int unit = r.u8("pending");
        r.end();
        if ((cmd & ~(CMD_START | CMD_WRITE_TO_MEMORY)) != 0) {
            throw r.invalid("command", "reserved bits in 0x" + Integer.toHexString(cmd));
        }
        if ((table & 3) != 0) {
            throw r.invalid("table", "0x" + Long.toHexString(table) + " is not dword aligned");
        }
        // Start latches the walk at the table pointer, which the guest may rewrite afterwards
        if (next < 0 || next > 0xffff_ffffL + TABLE_LIMIT) {
            throw r.invalid("next-descriptor", "0x" + Long.toHexString(next) + " is beyond 32-bit addresses");
        }
        if (left < 0 || left > 0x10000 || region < 0 || region > 0xffff_ffffL + 0x10000) {
            throw r.invalid("region-left", left + " bytes at 0x" + Long.toHexString(region));
        }
        if (unit != 0 && unit != 1 && unit != 0xff) {
            throw r.invalid("pending", "unit " + unit);
        }
        command = cmd;
        status = st;
        tableAddress = table;
        nextDescriptor = next;
        regionAddress = region;
        regionLeft = left;
        lastRegion = last;
        return unit == 0xff ? -1 : unit;
    }
}
