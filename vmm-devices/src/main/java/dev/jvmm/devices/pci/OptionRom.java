package dev.jvmm.devices.pci;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.devices.model.DeviceContext;

import java.util.Optional;

/**
 * A PCI function's option ROM from its romfile, rombar and romsize properties, as QEMU 7.2's
 * pci_add_option_rom (hw/pci/pci.c) makes it: with rombar=1 the file's bytes behind the expansion ROM BAR
 * (section 6.2.5.2), sized to the next power of two (or to romsize), read-only; with rombar=0 no BAR but an
 * fw_cfg file "genroms/NAME" ("vgaroms/NAME" for a VGA function) that SeaBIOS runs from memory, as QEMU's
 * rom_add_option does for compatibility with 0.11.
 *
 * QEMU patches the vendor and device ids into a ROM only when it is the device's default romfile
 * (pci_patch_ids); jvmm's functions have no default ROM, so a user's file is exposed as it is.
 */
public final class OptionRom {
    /** fw_cfg directory SeaBIOS runs option ROMs from (QEMU's rom_add_option). */
    public static final String GENROMS_DIR = "genroms/";
    /** fw_cfg directory for a VGA function's ROM (QEMU's rom_add_vga). */
    public static final String VGAROMS_DIR = "vgaroms/";
    /** QEMU's romsize default, UINT32_MAX: take the size from the file. */
    public static final long ROMSIZE_FROM_FILE = 0xffff_ffffL;
    /** PCI class "VGA-compatible display controller" (class and subclass), whose ROM is a VGA ROM. */
    private static final int CLASS_DISPLAY_VGA = 0x0300;

    private OptionRom() {
    }

    /**
     * Reads the romfile of p for a function of the given type and class (class and subclass, 16 bits).
     * Returns the ROM BAR to declare (empty without romfile, or with rombar=0, where the file went to
     * fw_cfg through ctx instead). Throws QEMU's refusal for a missing, empty, too large or oddly sized ROM.
     */
    public static Optional<PciBar> load(DeviceContext ctx, PropertyValues p, int classDevice)
            throws PropertyException {
        return load(ctx, p.str("romfile").orElse(""), p.number("romsize"), p.number("rombar"), classDevice);
    }

    /**
     * The same from the three values, for a device whose class names a default ROM (QEMU's pc->romfile, used
     * when romfile is not set at all).
     */
    public static Optional<PciBar> load(DeviceContext ctx, String romfile, long romsize, long rombar,
            int classDevice) throws PropertyException {
        if (romsize != ROMSIZE_FROM_FILE && Long.bitCount(romsize) != 1) {
            // QEMU's pci_qdev_realize checks this before looking at the file
            throw new PropertyException("ROM size " + romsize + " is not a power of two");
        }
        if (romfile.isEmpty()) {
            return Optional.empty();
        }
        if (rombar == 0) {
            addAsFirmwareFile(ctx, romfile, classDevice);
            return Optional.empty();
        }
        byte[] data = ctx.firmwareFile(romfile).orElseThrow(() ->
                new PropertyException("failed to find romfile \"" + romfile + "\""));
        if (data.length == 0) {
            throw new PropertyException("romfile \"" + romfile + "\" is empty");
        }
        long size;
        if (romsize != ROMSIZE_FROM_FILE) {
            if (data.length > romsize) {
                throw new PropertyException(String.format("romfile \"%s\" (%d bytes) is too large for ROM size %d",
                        romfile, data.length, romsize));
            }
            size = romsize;
        } else {
            size = Long.highestOneBit(data.length);
            size = size == data.length ? size : size << 1;
        }
        return Optional.of(new PciBar(PciBar.ROM_SLOT, PciBar.Kind.ROM, size, false, new Contents(data)));
    }

    /**
     * rombar=0: QEMU's rom_add_file puts the file into fw_cfg under its base name; a file it cannot open is
     * reported and the device goes on without a ROM (QEMU does not fail the device there).
     */
    private static void addAsFirmwareFile(DeviceContext ctx, String romfile, int classDevice) {
        Optional<byte[]> data = ctx.firmwareFile(romfile);
        if (data.isEmpty()) {
            ctx.err().println("jvmm: Could not open option rom '" + romfile + "': No such file or directory");
            return;
        }
        String base = romfile.substring(romfile.lastIndexOf('/') + 1);
        String dir = classDevice == CLASS_DISPLAY_VGA ? VGAROMS_DIR : GENROMS_DIR;
        ctx.addFirmwareFile(dir + base, data.get());
    }

    /**
     * The ROM as the guest reads it through the BAR: the file's bytes, zeros up to the BAR's size (QEMU's
     * ROM region is zero-filled RAM), and writes dropped as writes to QEMU's read-only region are.
     */
    static final class Contents implements IoHandler {
        private final byte[] data;

        Contents(byte[] data) {
            this.data = data.clone();
        }

        @Override
        public long read(long offset, int size) {
            long v = 0;
            for (int i = 0; i < size; i++) {
                long at = offset + i;
                if (at >= 0 && at < data.length) {
                    v |= (long) (data[(int) at] & 0xff) << (8 * i);
                }
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
            // read-only memory
        }
    }
}
