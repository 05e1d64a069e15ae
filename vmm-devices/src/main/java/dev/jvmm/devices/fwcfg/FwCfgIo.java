package dev.jvmm.devices.fwcfg;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.memory.GuestMemory;

/**
 * QEMU's "fw_cfg_io" device (QEMU docs/specs/fw_cfg.rst, "x86, x86_64 Register Locations" and "DMA
 * Interface"; behaviour of QEMU 7.2 hw/nvram/fw_cfg.c): the selector at 0x510 (16-bit writes), the data
 * register at 0x511 (byte reads, each advancing the offset; the one-byte data register overlaps the
 * selector, so a byte read at 0x510 reads data too), and the DMA address register at 0x514 (eight bytes,
 * big-endian, written as two 32-bit halves; the low half at 0x518 starts the transfer; reads give the
 * signature "QEMU CFG").
 *
 * <p>Accesses the guest makes that QEMU's memory core refuses or splits are answered as QEMU 7.2 answers
 * them (checked against it through qtest): a 16- or 32-bit read at 0x510 is 0 and consumes nothing, a
 * 32-bit write there selects nothing, a wider access starting at 0x511 is one data byte followed by the
 * ports after it (0x512 and 0x513 read as all ones, 0x514.. as the signature), and byte writes to the
 * data register do nothing (write support was removed in QEMU 2.4).
 *
 * <p>Everything runs on the accessing vCPU thread under the device's lock; no guest input throws: a DMA
 * control structure or buffer outside RAM, a length past the item's end, a write to a read-only item or
 * an unknown selector end in QEMU's outcome (ERROR in the control word, zeros, or nothing).
 */
public final class FwCfgIo {
    /** The pc machine's ports (QEMU FW_CFG_IO_BASE), the data register and the DMA address register. */
    public static final int FW_CFG_IO_BASE = 0x510;
    public static final int FW_CFG_CTL_SIZE = 2;
    public static final int FW_CFG_DATA = FW_CFG_IO_BASE + 1;
    public static final int FW_CFG_DMA_IO_BASE = FW_CFG_IO_BASE + 4;
    public static final int FW_CFG_DMA_SIZE = 8;

    /** FWCfgDmaAccess control bits. */
    public static final int FW_CFG_DMA_CTL_ERROR = 0x01;
    public static final int FW_CFG_DMA_CTL_READ = 0x02;
    public static final int FW_CFG_DMA_CTL_SKIP = 0x04;
    public static final int FW_CFG_DMA_CTL_SELECT = 0x08;
    public static final int FW_CFG_DMA_CTL_WRITE = 0x10;
    /** FWCfgDmaAccess: control (BE u32), length (BE u32), address (BE u64). */
    public static final int FW_CFG_DMA_ACCESS_SIZE = 16;
    public static final int FW_CFG_DMA_ACCESS_LENGTH = 4;
    public static final int FW_CFG_DMA_ACCESS_ADDRESS = 8;
    /** What the DMA register reads as, "QEMU CFG" in big-endian order. */
    public static final long FW_CFG_DMA_SIGNATURE = 0x51454d5520434647L;

    /** The chunk zero-fills and copies go in, so huge lengths neither allocate nor overflow. */
    private static final int CHUNK = 4096;

    private final FwCfgItems items;
    private final GuestMemory memory;
    private final Object lock = new Object();
    private final IoHandler control = new ControlPorts();
    private final IoHandler dmaPorts = new DmaPorts();

    private int curEntry = FwCfgItems.FW_CFG_INVALID;
    private FwCfgItems.Item current;
    private long curOffset;
    private long dmaAddress;

    /**
     * @param items  the content, complete before the guest runs
     * @param memory guest RAM for DMA (used only when items has DMA enabled)
     */
    public FwCfgIo(FwCfgItems items, GuestMemory memory) {
        this.items = items;
        this.memory = memory;
        reset();
    }

    /** Claims 0x510-0x511 and, with DMA, 0x514-0x51b; 0x512-0x513 stay unassigned as in QEMU. */
    public FwCfgIo attach(PioBus bus) {
        bus.register(FW_CFG_IO_BASE, FW_CFG_CTL_SIZE, control);
        if (items.dmaEnabled()) {
            bus.register(FW_CFG_DMA_IO_BASE, FW_CFG_DMA_SIZE, dmaPorts);
        }
        return this;
    }

    public void detach(PioBus bus) {
        bus.unregister(FW_CFG_IO_BASE, FW_CFG_CTL_SIZE, control);
        bus.unregister(FW_CFG_DMA_IO_BASE, FW_CFG_DMA_SIZE, dmaPorts);
    }

    /** The handler of 0x510-0x511, for callers that place ports themselves. */
    public IoHandler controlPorts() {
        return control;
    }

    /** The handler of 0x514-0x51b. */
    public IoHandler dmaPorts() {
        return dmaPorts;
    }

    /** QEMU's fw_cfg_reset: the signature selected at offset 0; the DMA address is kept. */
    public void reset() {
        synchronized (lock) {
            select(FwCfgItems.FW_CFG_SIGNATURE);
        }
    }

    /** The selector the guest last chose (0xffff when it chose one past the last slot). */
    public int currentSelector() {
        synchronized (lock) {
            return curEntry;
        }
    }

    /** fw_cfg_select: offset back to 0; a selector past the last file slot selects nothing. */
    private void select(int key) {
        curOffset = 0;
        if (FwCfgItems.selectable(key)) {
            curEntry = key & 0xffff;
            current = items.item(key);
        } else {
            curEntry = FwCfgItems.FW_CFG_INVALID;
            current = null;
        }
    }

    private int readDataByte() {
        FwCfgItems.Item e = current;
        if (e == null || curOffset >= e.data().length) {
            return 0;
        }
        return e.data()[(int) curOffset++] & 0xff;
    }

    /** A byte of the ports after the selector/data pair: unassigned up to the DMA register. */
    private static int byteAfterControl(int port) {
        if (port >= FW_CFG_DMA_IO_BASE && port < FW_CFG_DMA_IO_BASE + FW_CFG_DMA_SIZE) {
            return signatureByte(port - FW_CFG_DMA_IO_BASE);
        }
        return 0xff;
    }

    private static int signatureByte(int index) {
        return (int) (FW_CFG_DMA_SIGNATURE >>> (8 * (7 - index))) & 0xff;
    }

    private final class ControlPorts implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (lock) {
                if (size == 1) {
                    return readDataByte();
                }
                if (offset == 0) {
                    // QEMU refuses wider reads of the combined register as a whole and returns 0.
                    return 0;
                }
                long value = readDataByte();
                for (int i = 1; i < size; i++) {
                    value |= (long) byteAfterControl(FW_CFG_DATA + i) << (8 * i);
                }
                return value;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset == 0 && size == 2) {
                synchronized (lock) {
                    select((int) value & 0xffff);
                }
            }
        }
    }

    private final class DmaPorts implements IoHandler {
        @Override
        public long read(long offset, int size) {
            long value = 0;
            for (int i = 0; i < size; i++) {
                long at = offset + i;
                int b = at < FW_CFG_DMA_SIZE ? signatureByte((int) at) : 0xff;
                value |= (long) b << (8 * i);
            }
            return value;
        }

        /** The register is big-endian, so the guest's little-endian halves arrive byte-swapped. */
        @Override
        public void write(long offset, int size, long value) {
            if (size != 4) {
                return;
            }
            synchronized (lock) {
                long half = Integer.reverseBytes((int) value) & 0xffffffffL;
                if (offset == 0) {
                    dmaAddress = half << 32;
                } else if (offset == 4) {
                    dmaAddress |= half;
                    transfer();
                }
            }
        }
    }

    /** fw_cfg_dma_transfer: reads FWCfgDmaAccess, runs it, writes the control word back (0 or ERROR). */
    private void transfer() {
        long access = dmaAddress;
        dmaAddress = 0;
        if (!memory.contains(access, FW_CFG_DMA_ACCESS_SIZE)) {
            storeControl(access, FW_CFG_DMA_CTL_ERROR);
            return;
        }
        int control = Integer.reverseBytes(memory.readInt(access));
        long length = Integer.reverseBytes(memory.readInt(access + FW_CFG_DMA_ACCESS_LENGTH)) & 0xffffffffL;
        long address = Long.reverseBytes(memory.readLong(access + FW_CFG_DMA_ACCESS_ADDRESS));

        if ((control & FW_CFG_DMA_CTL_SELECT) != 0) {
            select(control >>> 16);
        }
        boolean read = false;
        boolean write = false;
        if ((control & FW_CFG_DMA_CTL_READ) != 0) {
            read = true;
        } else if ((control & FW_CFG_DMA_CTL_WRITE) != 0) {
            write = true;
        } else if ((control & FW_CFG_DMA_CTL_SKIP) == 0) {
            length = 0;
        }

        boolean error = false;
        while (length > 0 && !error) {
            FwCfgItems.Item e = current;
            long len;
            if (e == null || curOffset >= e.data().length) {
                len = length;
                if (read) {
                    error = !fillZero(address, len);
                }
                if (write) {
                    error = true;
                }
            } else {
                len = Math.min(length, e.data().length - curOffset);
                if (read) {
                    error = !copy(address, e.data(), (int) curOffset, (int) len, true);
                }
                if (write) {
                    error = !e.writable() || len != length
                            || !copy(address, e.data(), (int) curOffset, (int) len, false);
                }
                curOffset += len;
            }
            address += len;
            length -= len;
        }
        storeControl(access, error ? FW_CFG_DMA_CTL_ERROR : 0);
    }

    /** stl_be_dma of the control word; lost, as in QEMU, when it is not RAM. */
    private void storeControl(long access, int value) {
        if (memory.contains(access, 4)) {
            memory.writeInt(access, Integer.reverseBytes(value));
        }
    }

    /** dma_memory_set: the RAM pages of the range are written, any other page makes it fail. */
    private boolean fillZero(long address, long length) {
        boolean ok = true;
        long done = 0;
        while (done < length) {
            long at = address + done;
            long n = Math.min(length - done, CHUNK - (at & (CHUNK - 1)));
            if (memory.contains(at, n)) {
                memory.zero(at, n);
            } else {
                ok = false;
            }
            done += n;
        }
        return ok;
    }

    /**
     * dma_memory_write (toGuest) or dma_memory_read between the item and guest memory: the RAM pages of the
     * range are copied, any other page makes it fail.
     */
    private boolean copy(long address, byte[] data, int offset, int length, boolean toGuest) {
        boolean ok = true;
        int done = 0;
        while (done < length) {
            long at = address + done;
            int n = (int) Math.min(length - done, CHUNK - (at & (CHUNK - 1)));
            if (!memory.contains(at, n)) {
                ok = false;
            } else if (toGuest) {
                memory.write(at, data, offset + done, n);
            } else {
                memory.read(at, data, offset + done, n);
            }
            done += n;
        }
        return ok;
    }
}
