package dev.jvmm.devices.pci;

import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

/**
 * PCI Local Bus Specification 3.0, section 6.1: a type 0 configuration space header plus device-specific
 * registers, with a per-byte mask of guest-writable bits and write-1-to-clear status bits.
 */
public final class PciConfigSpace {
    /** Section 6.2.1: identification. */
    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    /** Section 6.2.2: device control. */
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int CLASS_PROG = 0x09;
    public static final int CLASS_DEVICE = 0x0a;
    public static final int HEADER_TYPE = 0x0e;
    /** Section 6.2.5: base addresses (six BARs in a type 0 header). */
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    /** Section 6.2.5.2: the expansion ROM base address; bit 0 enables decoding, bits 31:11 the address. */
    public static final int ROM_ADDRESS = 0x30;
    public static final int ROM_ADDRESS_ENABLE = 0x1;
    public static final int CAPABILITY_LIST = 0x34;
    /** Section 6.2.4: interrupt line and pin. */
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;

    public static final int COMMAND_IO = 0x1;
    public static final int COMMAND_MEMORY = 0x2;
    public static final int COMMAND_MASTER = 0x4;
    /** Section 6.2.2: SERR# enable. */
    public static final int COMMAND_SERR = 0x100;
    public static final int COMMAND_INTX_DISABLE = 0x400;
    public static final int HEADER_TYPE_MULTI_FUNCTION = 0x80;

    public static final int CACHE_LINE_SIZE = 0x0c;
    /** Section 6.2.3: status bits that software clears by writing 1 (parity, aborts, system error). */
    public static final int STATUS_CLEAR_ON_WRITE = 0xf900;
    /** Section 6.2.3: Interrupt Status, set while the function's INTx is asserted (masked or not). */
    public static final int STATUS_INTERRUPT = 0x0008;
    /** Section 6.2.3: DEVSEL timing "medium". */
    public static final int STATUS_DEVSEL_MEDIUM = 0x0200;
    /** Section 6.2.5.1: BAR type bits. */
    public static final int BAR_SPACE_IO = 0x1;
    public static final int BAR_MEM_TYPE_64 = 0x4;
    public static final int BAR_MEM_PREFETCH = 0x8;
    /** First byte after the predefined header; QEMU makes 0x40-0xff guest-writable for plain functions. */
    public static final int DEVICE_SPECIFIC = 0x40;

    public static final int SIZE = 256;

    private final byte[] data = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];
    private final byte[] clearOnWrite = new byte[SIZE];
    private final byte[] initial = new byte[SIZE];

    /** A header with the identification registers set and COMMAND and INTERRUPT_LINE writable. */
    public PciConfigSpace(int vendor, int device, int revision, int classCode, int headerType) {
        set16(VENDOR_ID, vendor);
        set16(DEVICE_ID, device);
        set8(REVISION_ID, revision);
        set8(CLASS_PROG, classCode & 0xff);
        set16(CLASS_DEVICE, classCode >>> 8);
        set8(HEADER_TYPE, headerType);
        // QEMU's pci_init_wmask/w1cmask: these command bits, cache line size and interrupt line are writable
        setWritable(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER | COMMAND_SERR | COMMAND_INTX_DISABLE);
        setWritable(CACHE_LINE_SIZE, 1, 0xff);
        setWritable(INTERRUPT_LINE, 1, 0xff);
        setClearOnWrite(STATUS, 2, STATUS_CLEAR_ON_WRITE);
    }

    /**
     * Section 6.2.5.1: declares BAR bar.index() with its read-only type bits and a writable mask that makes
     * the size readable through the all-ones sizing write (a 64-bit BAR also takes the next register).
     */
    public void addBar(PciBar bar) {
        int off = bar.configOffset();
        long mask = ~(bar.size() - 1);
        switch (bar.kind()) {
            case ROM -> {
                // QEMU's pci_register_bar: the address bits above the size and the enable bit are writable
                // (for ROMs under 2 KiB that includes bits the specification reserves, as in QEMU)
                set32(off, 0);
                setWritable(off, 4, (mask | ROM_ADDRESS_ENABLE) & 0xffff_ffffL);
            }
            case IO -> {
                set32(off, BAR_SPACE_IO);
                setWritable(off, 4, mask & 0xffff_fffcL);
            }
            case MEMORY32 -> {
                set32(off, bar.prefetch() ? BAR_MEM_PREFETCH : 0);
                setWritable(off, 4, mask & 0xffff_fff0L);
            }
            case MEMORY64 -> {
                set32(off, BAR_MEM_TYPE_64 | (bar.prefetch() ? BAR_MEM_PREFETCH : 0));
                set32(off + 4, 0);
                setWritable(off, 8, mask & 0xffff_ffff_ffff_fff0L);
            }
        }
    }

    /** The base address bar currently holds (type bits stripped), without looking at COMMAND. */
    public long barAddress(PciBar bar) {
        int off = bar.configOffset();
        long low = get32(off) & 0xffff_ffffL;
        return switch (bar.kind()) {
            case ROM -> low & ~(bar.size() - 1) & ~(long) ROM_ADDRESS_ENABLE;
            case IO -> low & ~0x3L;
            case MEMORY32 -> low & ~0xfL;
            case MEMORY64 -> (low & ~0xfL) | (get32(off + 4) & 0xffff_ffffL) << 32;
        };
    }

    /** Freezes the current contents as the power-on state that {@link #reset()} restores. */
    public void sealInitialState() {
        System.arraycopy(data, 0, initial, 0, SIZE);
    }

    public void reset() {
        System.arraycopy(initial, 0, data, 0, SIZE);
    }

    public void set8(int off, int v) {
        data[off] = (byte) v;
    }

    public void set16(int off, int v) {
        set8(off, v);
        set8(off + 1, v >>> 8);
    }

    public void set32(int off, int v) {
        set16(off, v);
        set16(off + 2, v >>> 16);
    }

    public int get8(int off) {
        return data[off] & 0xff;
    }

    public int get16(int off) {
        return get8(off) | get8(off + 1) << 8;
    }

    public int get32(int off) {
        return get16(off) | get16(off + 2) << 16;
    }

    /** Marks the bits of mask (little-endian over length bytes at off) as writable by the guest. */
    public void setWritable(int off, int length, long mask) {
        for (int i = 0; i < length; i++) {
            writable[off + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** Marks the bits of mask as write-1-to-clear (status registers). */
    public void setClearOnWrite(int off, int length, long mask) {
        for (int i = 0; i < length; i++) {
            clearOnWrite[off + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** A guest read; offsets outside the space or unaligned read as all ones, as on real hardware. */
    public int read(int off, int size) {
        if (off < 0 || off + size > SIZE) {
            return size == 4 ? -1 : (1 << (size * 8)) - 1;
        }
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= get8(off + i) << (8 * i);
        }
        return v;
    }

    /** A guest write through the writable and write-1-to-clear masks; out-of-range writes are ignored. */
    public void write(int off, int size, int value) {
        if (off < 0 || off + size > SIZE) {
            return;
        }
        for (int i = 0; i < size; i++) {
            int b = (value >>> (8 * i)) & 0xff;
            int w = writable[off + i] & 0xff;
            int c = clearOnWrite[off + i] & 0xff;
            int cur = data[off + i] & 0xff;
            int next = (cur & ~w) | (b & w);
            next &= ~(b & c);
            data[off + i] = (byte) next;
        }
    }

    /** The 256 bytes as the guest sees them; BARs and COMMAND included. */
    public void saveState(StateWriter w) {
        w.bytes("config", data);
    }

    /**
     * Loads what {@link #saveState} wrote into a space built the same way. Bits the guest cannot write
     * (identity, BAR type bits, interrupt pin) must equal this space's: they describe the device, so a
     * difference means state from another device or a crafted section. The caller re-maps BARs.
     */
    public void loadState(StateReader r) throws StateException {
        applyState(readState(r));
    }

    /** The checked bytes of {@link #loadState}, for a device that validates its other fields before applying. */
    public byte[] readState(StateReader r) throws StateException {
        byte[] saved = new byte[SIZE];
        r.bytes("config", saved);
        if (get32(VENDOR_ID) != (saved[0] & 0xff | (saved[1] & 0xff) << 8 | (saved[2] & 0xff) << 16
                | (saved[3] & 0xff) << 24)) {
            throw r.invalid("config", String.format("saved for device %02x%02x:%02x%02x, this is %04x:%04x",
                    saved[1], saved[0], saved[3], saved[2], get16(VENDOR_ID), get16(DEVICE_ID)));
        }
        for (int i = 0; i < SIZE; i++) {
            int fixed = ~(writable[i] | clearOnWrite[i]) & 0xff;
            if (((saved[i] ^ data[i]) & fixed) != 0) {
                throw r.invalid("config", String.format("read-only bits of byte 0x%02x are 0x%02x, this device"
                        + " has 0x%02x", i, saved[i] & fixed, data[i] & fixed));
            }
        }
        return saved;
    }

    public void applyState(byte[] saved) {
        System.arraycopy(saved, 0, data, 0, SIZE);
    }
}
