package dev.jvmm.devices.fwcfg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The items of QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst, "Selector (Control)
 * Register" and "Firmware Configuration Items"; content as QEMU 7.2 hw/nvram/fw_cfg.c and hw/i386/fw_cfg.c
 * fill it for the pc machine): legacy items under fixed keys, x86 items under arch-local keys, and named
 * files listed in the directory at {@link #FW_CFG_FILE_DIR}.
 *
 * <p>Files are kept sorted by name (byte order, as strcmp), as QEMU 7.2 does for every machine that is
 * not of the legacy order (pc-i440fx-2.5 and later): each new file goes into its sorted place and the
 * ones after it move up one selector, so the selector of a file is {@link #FW_CFG_FILE_FIRST} plus its rank
 * in the final set, whatever the order of addition.
 *
 * <p>The content is filled while the machine is built and is not changed afterwards, except for the bytes
 * of files added as writable, which the guest may overwrite through DMA.
 */
public final class FwCfgItems {
    /** Legacy keys (fw_cfg.rst "Firmware Configuration Items"; QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
    public static final int FW_CFG_SIGNATURE = 0x00;
    public static final int FW_CFG_ID = 0x01;
    public static final int FW_CFG_UUID = 0x02;
    public static final int FW_CFG_RAM_SIZE = 0x03;
    public static final int FW_CFG_NOGRAPHIC = 0x04;
    public static final int FW_CFG_NB_CPUS = 0x05;
    public static final int FW_CFG_MACHINE_ID = 0x06;
    public static final int FW_CFG_KERNEL_ADDR = 0x07;
    public static final int FW_CFG_KERNEL_SIZE = 0x08;
    public static final int FW_CFG_KERNEL_CMDLINE = 0x09;
    public static final int FW_CFG_INITRD_ADDR = 0x0a;
    public static final int FW_CFG_INITRD_SIZE = 0x0b;
    public static final int FW_CFG_BOOT_DEVICE = 0x0c;
    public static final int FW_CFG_NUMA = 0x0d;
    public static final int FW_CFG_BOOT_MENU = 0x0e;
    public static final int FW_CFG_MAX_CPUS = 0x0f;
    public static final int FW_CFG_KERNEL_ENTRY = 0x10;
    public static final int FW_CFG_KERNEL_DATA = 0x11;
    public static final int FW_CFG_INITRD_DATA = 0x12;
    public static final int FW_CFG_CMDLINE_ADDR = 0x13;
    public static final int FW_CFG_CMDLINE_SIZE = 0x14;
    public static final int FW_CFG_CMDLINE_DATA = 0x15;
    public static final int FW_CFG_SETUP_ADDR = 0x16;
    public static final int FW_CFG_SETUP_SIZE = 0x17;
    public static final int FW_CFG_SETUP_DATA = 0x18;
    public static final int FW_CFG_FILE_DIR = 0x19;
    public static final int FW_CFG_FILE_FIRST = 0x20;

    /** Selector bits: the write channel bit is ignored since QEMU 2.4; the arch-local bit picks the x86 table. */
    public static final int FW_CFG_WRITE_CHANNEL = 0x4000;
    public static final int FW_CFG_ARCH_LOCAL = 0x8000;
    public static final int FW_CFG_ENTRY_MASK = ~(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL) & 0xffff;
    /** The selector value of "nothing selected" (QEMU's FW_CFG_INVALID). */
    public static final int FW_CFG_INVALID = 0xffff;

    /** x86 arch-local keys (QEMU hw/i386/fw_cfg.h). */
    public static final int FW_CFG_ACPI_TABLES = FW_CFG_ARCH_LOCAL;
    public static final int FW_CFG_SMBIOS_ENTRIES = FW_CFG_ARCH_LOCAL + 1;
    public static final int FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2;
    public static final int FW_CFG_E820_TABLE = FW_CFG_ARCH_LOCAL + 3;
    public static final int FW_CFG_HPET = FW_CFG_ARCH_LOCAL + 4;

    /** FW_CFG_ID feature bits: the traditional interface, and the DMA interface. */
    public static final int FW_CFG_VERSION = 0x01;
    public static final int FW_CFG_VERSION_DMA = 0x02;

    /** QEMU 7.2's default "x-file-slots" of fw_cfg_io (pc-i440fx-2.9 and later). */
    public static final int FW_CFG_FILE_SLOTS = 0x20;
    /** The name field of a directory entry, NUL included. */
    public static final int FW_CFG_MAX_FILE_PATH = 56;
    /** A directory entry: size (BE u32), select (BE u16), reserved (u16), name[56]. */
    public static final int FW_CFG_FILE_SIZE = 8 + FW_CFG_MAX_FILE_PATH;

    /** One item as the device serves it; data of a writable file is the live array the guest writes. */
    public record Item(byte[] data, boolean writable) {
    }

    /** One file as listed: its name, selector and size. */
    public record FileEntry(String name, int select, int size) {
    }

    private final Map<Integer, Item> legacy = new HashMap<>();
    private final List<NamedItem> files = new ArrayList<>();
    private final boolean dma;

    private record NamedItem(byte[] name, Item item) {
    }

    /** A device with the DMA interface, as QEMU's pc machine has it. */
    public FwCfgItems() {
        this(true);
    }

    /** The signature and the feature bits, which QEMU's fw_cfg adds itself at realize. */
    public FwCfgItems(boolean dma) {
        this.dma = dma;
        add(FW_CFG_SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
        addI32(FW_CFG_ID, dma ? FW_CFG_VERSION | FW_CFG_VERSION_DMA : FW_CFG_VERSION);
    }

    public boolean dmaEnabled() {
        return dma;
    }

    /**
     * Adds a legacy or arch-local item (a copy of data).
     *
     * @throws IllegalArgumentException if the key is a file key, out of range or already present (QEMU asserts)
     */
    public FwCfgItems add(int key, byte[] data) {
        int index = key & FW_CFG_ENTRY_MASK;
        if (key < 0 || key > 0xffff || (key & FW_CFG_WRITE_CHANNEL) != 0 || index >= FW_CFG_FILE_FIRST
                || (index == FW_CFG_FILE_DIR && (key & FW_CFG_ARCH_LOCAL) == 0)) {
            throw new IllegalArgumentException(String.format("fw_cfg key 0x%x is not a legacy item key", key));
        }
        if (legacy.putIfAbsent(key, new Item(data.clone(), false)) != null) {
            throw new IllegalArgumentException(String.format("fw_cfg key 0x%x is already present", key));
        }
        return this;
    }

    /**
     * Replaces a legacy item's content (a copy of data): what the machine settles after the defaults, such as
     * the NUMA table once memory devices make a node.
     *
     * @throws IllegalArgumentException if the item is not there
     */
    public FwCfgItems replace(int key, byte[] data) {
        if (legacy.replace(key, new Item(data.clone(), false)) == null) {
            throw new IllegalArgumentException(String.format("fw_cfg key 0x%x is not present", key));
        }
        return this;
    }

    /** A little-endian 16-bit item, as fw_cfg_add_i16. */
    public FwCfgItems addI16(int key, int value) {
        return add(key, le(2).putShort((short) value).array());
    }

    /** A little-endian 32-bit item, as fw_cfg_add_i32. */
    public FwCfgItems addI32(int key, int value) {
        return add(key, le(4).putInt(value).array());
    }

    /** A little-endian 64-bit item, as fw_cfg_add_i64. */
    public FwCfgItems addI64(int key, long value) {
        return add(key, le(8).putLong(value).array());
    }

    /** A NUL-terminated string item, as fw_cfg_add_string. */
    public FwCfgItems addString(int key, String value) {
        byte[] s = value.getBytes(StandardCharsets.UTF_8);
        return add(key, Arrays.copyOf(s, s.length + 1));
    }

    /** A read-only file (a copy of data), as fw_cfg_add_file. */
    public FwCfgItems addFile(String name, byte[] data) {
        return addFile(name, data, false);
    }

    /**
     * A file (a copy of data) in its sorted place; a writable one takes DMA writes that fit inside it.
     *
     * @throws IllegalArgumentException for an empty name or one over 55 bytes, a duplicate name (QEMU's
     *                                  "duplicate fw_cfg file name: NAME"), or more than
     *                                  {@link #FW_CFG_FILE_SLOTS} files
     */
    public FwCfgItems addFile(String name, byte[] data, boolean writable) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length >= FW_CFG_MAX_FILE_PATH) {
            throw new IllegalArgumentException("fw_cfg file name must be 1 to " + (FW_CFG_MAX_FILE_PATH - 1)
                    + " bytes: " + name);
        }
        if (files.size() >= FW_CFG_FILE_SLOTS) {
            throw new IllegalArgumentException("fw_cfg has no free file slot for " + name);
        }
        int index = files.size();
        while (index > 0 && Arrays.compareUnsigned(n, files.get(index - 1).name()) < 0) {
            index--;
        }
        if (index > 0 && Arrays.equals(n, files.get(index - 1).name())) {
            throw new IllegalArgumentException("duplicate fw_cfg file name: " + name);
        }
        files.add(index, new NamedItem(n, new Item(data.clone(), writable)));
        return this;
    }

    /** The files in selector order. */
    public List<FileEntry> files() {
        List<FileEntry> r = new ArrayList<>(files.size());
        for (int i = 0; i < files.size(); i++) {
            NamedItem f = files.get(i);
            r.add(new FileEntry(new String(f.name(), StandardCharsets.UTF_8), FW_CFG_FILE_FIRST + i,
                    f.item().data().length));
        }
        return r;
    }

    /** The selector of a file, or -1 when there is none of that name. */
    public int selectorOf(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < files.size(); i++) {
            if (Arrays.equals(n, files.get(i).name())) {
                return FW_CFG_FILE_FIRST + i;
            }
        }
        return -1;
    }

    /**
     * The directory as the guest reads it at {@link #FW_CFG_FILE_DIR}: count (BE u32) and one entry per
     * slot, unused slots zero, so its size is that of all {@link #FW_CFG_FILE_SLOTS} slots, as in QEMU.
     */
    public byte[] directory() {
        ByteBuffer b = ByteBuffer.allocate(4 + FW_CFG_FILE_SIZE * FW_CFG_FILE_SLOTS);
        b.putInt(files.size());
        for (int i = 0; i < files.size(); i++) {
            NamedItem f = files.get(i);
            int at = 4 + i * FW_CFG_FILE_SIZE;
            b.putInt(at, f.item().data().length);
            b.putShort(at + 4, (short) (FW_CFG_FILE_FIRST + i));
            b.put(at + 8, f.name());
        }
        return b.array();
    }

    /**
     * The item a selector names (write-channel bit ignored), or null where QEMU has no data: a key past the
     * last file slot, or one nothing was added under. The directory is built afresh on each call.
     */
    public Item item(int selector) {
        int index = selector & FW_CFG_ENTRY_MASK;
        boolean arch = (selector & FW_CFG_ARCH_LOCAL) != 0;
        if (index >= FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS) {
            return null;
        }
        if (arch) {
            return legacy.get(FW_CFG_ARCH_LOCAL | index);
        }
        if (index == FW_CFG_FILE_DIR) {
            return files.isEmpty() ? null : new Item(directory(), false);
        }
        if (index >= FW_CFG_FILE_FIRST) {
            int f = index - FW_CFG_FILE_FIRST;
            return f < files.size() ? files.get(f).item() : null;
        }
        return legacy.get(index);
    }

    /** Whether a selector picks an entry QEMU can select (it may still hold no data). */
    public static boolean selectable(int selector) {
        return (selector & FW_CFG_ENTRY_MASK) < FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS;
    }

    /**
     * What QEMU 7.2's fw_cfg realize and its pc machine (fw_cfg_arch_create) add before any file: UUID,
     * NOGRAPHIC, BOOT_MENU, the file etc/boot-fail-wait, NB_CPUS, MAX_CPUS (the APIC id limit), RAM_SIZE,
     * an empty ACPI_TABLES (no -acpitable), IRQ0_OVERRIDE 1, E820_TABLE, HPET and NUMA (no nodes).
     */
    public static FwCfgItems pc(PcSettings s) {
        FwCfgItems items = new FwCfgItems(true);
        items.add(FW_CFG_UUID, s.uuid());
        items.addI16(FW_CFG_NOGRAPHIC, s.graphics() ? 0 : 1);
        items.addI16(FW_CFG_BOOT_MENU, s.bootMenu() ? 1 : 0);
        items.addFile("etc/boot-fail-wait", le(4).putInt(s.rebootTimeout()).array());
        items.addI16(FW_CFG_NB_CPUS, s.bootCpus());
        items.addI16(FW_CFG_MAX_CPUS, s.apicIdLimit());
        items.addI64(FW_CFG_RAM_SIZE, s.ramSize());
        items.add(FW_CFG_ACPI_TABLES, new byte[0]);
        items.addI32(FW_CFG_IRQ0_OVERRIDE, 1);
        items.add(FW_CFG_E820_TABLE, s.e820Reserved());
        items.add(FW_CFG_HPET, s.hpet());
        items.add(FW_CFG_NUMA, new byte[8 * (1 + s.apicIdLimit())]);
        return items;
    }

    /**
     * What {@link #pc} needs to know of the machine.
     *
     * @param uuid          16 bytes (-uuid, else zeros)
     * @param graphics      false with -nographic
     * @param bootMenu      -boot menu=on
     * @param rebootTimeout -boot reboot-timeout in ms, -1 for none (QEMU's default)
     * @param bootCpus      vCPUs at boot
     * @param apicIdLimit   the highest APIC id plus one
     * @param ramSize       all guest RAM in bytes
     * @param e820Reserved  QEMU's e820_reserve table: count (LE u32) and 16 entries of 20 bytes
     * @param hpet          QEMU's hpet_cfg: count (u8) and 8 entries of 15 bytes
     */
    public record PcSettings(byte[] uuid, boolean graphics, boolean bootMenu, int rebootTimeout, int bootCpus,
                             int apicIdLimit, long ramSize, byte[] e820Reserved, byte[] hpet) {
        /** Size of QEMU's struct e820_table (E820_NR_ENTRIES = 16, packed entries of 20 bytes). */
        public static final int E820_TABLE_SIZE = 4 + 16 * 20;
        /** Size of QEMU's struct hpet_fw_config (8 packed entries of 15 bytes). */
        public static final int HPET_CONFIG_SIZE = 1 + 8 * 15;

        public PcSettings {
            if (uuid.length != 16 || e820Reserved.length != E820_TABLE_SIZE || hpet.length != HPET_CONFIG_SIZE) {
                throw new IllegalArgumentException("uuid, e820 or hpet blob of the wrong size");
            }
            uuid = uuid.clone();
            e820Reserved = e820Reserved.clone();
            hpet = hpet.clone();
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
