package dev.jvmm.devices.smbios;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.devices.smbios.SmbiosInputs.MemoryArea;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The SMBIOS structure table and entry point (DMTF SMBIOS 3.x, sections 5.2.1 and 5.2.2, the 32-bit and
 * 64-bit entry points, and section 7 "Structure definitions") exactly as QEMU 7.2's pc machine builds them
 * for the firmware, which reads them from fw_cfg, fills in the table address and checksums, and copies them.
 *
 * <p>The machine offers them as fw_cfg files {@value #TABLES_FILE} and {@value #ANCHOR_FILE}. QEMU 7.2's pc
 * machines from 2.1 on leave the legacy FW_CFG_SMBIOS_ENTRIES key (0x8001) out (smbios_legacy_mode is false),
 * so there is no legacy blob here.
 *
 * @param tables the structures, each with its strings, in QEMU's order (file= blobs first)
 * @param anchor the entry point: 31-byte "_SM_" (smbios-entry-point-type=32, pc's default) or 24-byte
 *               "_SM3_" (=64), its checksums and table address zero for the BIOS to set
 */
public record SmbiosTables(byte[] tables, byte[] anchor) {
    /** fw_cfg file with the structure table. */
    public static final String TABLES_FILE = "etc/smbios/smbios-tables";
    /** fw_cfg file with the entry point. */
    public static final String ANCHOR_FILE = "etc/smbios/smbios-anchor";

    static final int TYPE_BIOS = 0;
    static final int TYPE_SYSTEM = 1;
    static final int TYPE_BASEBOARD = 2;
    static final int TYPE_CHASSIS = 3;
    static final int TYPE_PROCESSOR = 4;
    static final int TYPE_PORT = 8;
    static final int TYPE_OEM_STRINGS = 11;
    static final int TYPE_MEMORY_ARRAY = 16;
    static final int TYPE_MEMORY_DEVICE = 17;
    static final int TYPE_MEMORY_ARRAY_MAPPED = 19;
    static final int TYPE_BOOT_INFO = 32;
    static final int TYPE_ONBOARD_DEVICE = 41;
    static final int TYPE_END = 127;

    /** QEMU's handle bases: structure type N (and its instances) at 0x100 * N, type 8 at 0 as QEMU 7.2 has. */
    private static final int HANDLE_BIOS = 0x0000;
    private static final int HANDLE_PORT = 0x0000;
    private static final int HANDLE_SYSTEM = 0x0100;
    private static final int HANDLE_BASEBOARD = 0x0200;
    private static final int HANDLE_CHASSIS = 0x0300;
    private static final int HANDLE_PROCESSOR = 0x0400;
    private static final int HANDLE_OEM_STRINGS = 0x0e00;
    private static final int HANDLE_MEMORY_ARRAY = 0x1000;
    private static final int HANDLE_MEMORY_DEVICE = 0x1100;
    private static final int HANDLE_MEMORY_ARRAY_MAPPED = 0x1300;
    private static final int HANDLE_BOOT_INFO = 0x2000;
    private static final int HANDLE_ONBOARD_DEVICE = 0x2900;
    private static final int HANDLE_END = 0x7f00;
    /** Handle value meaning "no such structure" (cache handles of type 4). */
    private static final int HANDLE_NONE = 0xffff;
    /** Handle value meaning "not provided" (memory error information handles). */
    private static final int HANDLE_NOT_PROVIDED = 0xfffe;

    /** The entry point's structure table length field has 16 bits. */
    private static final int MAX_TABLES_LENGTH_32 = 0xffff;
    private static final long KIB = 1L << 10;
    private static final long MIB = 1L << 20;
    /** QEMU splits RAM into type 17 devices of at most this size. */
    private static final long MAX_DIMM_SIZE = 16L << 30;

    /**
     * Builds both blobs; a QEMU start-up error (wrong number of type 4 blobs, table too long) is an
     * {@link OptionException} with no option and QEMU's message.
     */
    public static SmbiosTables build(SmbiosInputs in) {
        return new SmbiosTablesBuilder(in).build();
    }

    /** The fw_cfg key that holds the machine UUID (FW_CFG_UUID), which QEMU offers beside the SMBIOS files. */
    public static final int FW_CFG_UUID_KEY = 0x02;

    /**
     * The FW_CFG_UUID contents: the 16 UUID bytes in RFC 4122 (big-endian) order, all zero without a UUID, as
     * QEMU always offers the key.
     */
    public static byte[] fwCfgUuid(java.util.Optional<UUID> uuid) {
        byte[] b = new byte[16];
        uuid.ifPresent(u -> {
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (u.getMostSignificantBits() >>> (56 - 8 * i));
                b[8 + i] = (byte) (u.getLeastSignificantBits() >>> (56 - 8 * i));
            }
        });
        return b;
    }

    /** Type 1 UUID bytes in SMBIOS 2.6+ wire order: the first three fields little-endian, the rest as is. */
    static byte[] uuidWireBytes(UUID uuid) {
        byte[] b = new byte[16];
        long hi = uuid.getMostSignificantBits();
        long lo = uuid.getLeastSignificantBits();
        int timeLow = (int) (hi >>> 32);
        int timeMid = (int) (hi >>> 16) & 0xffff;
        int timeHi = (int) hi & 0xffff;
        for (int i = 0; i < 4; i++) {
            b[i] = (byte) (timeLow >>> (8 * i));
        }
        b[4] = (byte) timeMid;
        b[5] = (byte) (timeMid >>> 8);
        b[6] = (byte) timeHi;
        b[7] = (byte) (timeHi >>> 8);
        for (int i = 0; i < 8; i++) {
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return b;
    }

    /** One build: the structures in QEMU's order, then the entry point over them. */
    private static final class SmbiosTablesBuilder {
        private final SmbiosInputs in;
        private final SmbiosOptions opts;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private int count;
        private int maxSize;

        SmbiosTablesBuilder(SmbiosInputs in) {
            this.in = in;
            this.opts = in.options();
        }

        SmbiosTables build() {
            int processorBlobs = 0;
            for (SmbiosOptions.RawStructure raw : opts.files()) {
                add(raw.bytes());
                if (raw.type() == TYPE_PROCESSOR) {
                    processorBlobs++;
                }
            }
            if (built(TYPE_BIOS, false)) {
                add(SmbiosTypes.bios(HANDLE_BIOS, opts));
            }
            if (built(TYPE_SYSTEM, true)) {
                add(SmbiosTypes.system(HANDLE_SYSTEM, in));
            }
            if (built(TYPE_BASEBOARD, false)) {
                add(SmbiosTypes.baseboard(HANDLE_BASEBOARD, HANDLE_CHASSIS, in));
            }
            if (built(TYPE_CHASSIS, true)) {
                add(SmbiosTypes.chassis(HANDLE_CHASSIS, in));
            }
            int sockets = in.topology().sockets();
            if (built(TYPE_PROCESSOR, true)) {
                for (int i = 0; i < sockets; i++) {
                    add(SmbiosTypes.processor(HANDLE_PROCESSOR + i, i, HANDLE_NONE, in));
                }
            }
            if (built(TYPE_PORT, true)) {
                for (int i = 0; i < opts.ports().size(); i++) {
                    add(SmbiosTypes.port(HANDLE_PORT + i, opts.ports().get(i)));
                }
            }
            if (!opts.oemStrings().isEmpty() && built(TYPE_OEM_STRINGS, true)) {
                add(SmbiosTypes.oemStrings(HANDLE_OEM_STRINGS, opts.oemStrings()));
            }
            memory();
            if (built(TYPE_BOOT_INFO, true)) {
                add(new SmbiosStructure(TYPE_BOOT_INFO, SmbiosTypes.BOOT_INFO_LENGTH, HANDLE_BOOT_INFO).encode());
            }
            if (built(TYPE_ONBOARD_DEVICE, true)) {
                for (int i = 0; i < opts.onboardDevices().size(); i++) {
                    add(onboardDevice(HANDLE_ONBOARD_DEVICE + i, opts.onboardDevices().get(i)));
                }
            }
            if (built(TYPE_END, true)) {
                add(new SmbiosStructure(TYPE_END, SmbiosStructure.HEADER_SIZE, HANDLE_END).encode());
            }
            if (processorBlobs != 0 && processorBlobs != sockets) {
                throw new OptionException(null, "Expected " + sockets + " SMBIOS Type 4 tables, got "
                        + processorBlobs + " instead");
            }
            boolean bits32 = in.entryPoint() == SmbiosInputs.EntryPointType.BITS_32;
            if (bits32 && out.size() > MAX_TABLES_LENGTH_32) {
                throw new OptionException(null, "SMBIOS 2.1 table length " + out.size() + " exceeds "
                        + MAX_TABLES_LENGTH_32);
            }
            return new SmbiosTables(out.toByteArray(), bits32 ? anchor() : anchor64());
        }

        /** Type 41 for one -smbios type=41, at its PCI device's bus and devfn when pcidev= names one. */
        private byte[] onboardDevice(int handle, SmbiosOptions.OnboardDevice d) {
            if (d.pcidev() == null) {
                return SmbiosTypes.onboardDevice(handle, d, 0, 0);
            }
            SmbiosInputs.PciLocation at = in.pciDevices().find(d.pcidev()).orElseThrow(() -> new OptionException(
                    null, "No PCI device " + d.pcidev() + " for SMBIOS type 41 entry "
                    + (d.designation() == null ? "(null)" : d.designation())));
            if (!at.rootBus()) {
                // QEMU fills the table before firmware numbers the bridges, so only root-bus numbers are known
                throw new OptionException(null, "Cannot create type 41 entry for PCI device " + d.pcidev()
                        + ": not attached to the root bus");
            }
            return SmbiosTypes.onboardDevice(handle, d, at.bus(), at.devfn());
        }

        /** Types 16, 17 (one per 16 GiB of RAM) and 19 (one per E820 RAM range). */
        private void memory() {
            long ram = in.ramSize();
            int dimms = (int) ((ram + MAX_DIMM_SIZE - 1) / MAX_DIMM_SIZE);
            int handleGap = HANDLE_MEMORY_ARRAY_MAPPED - HANDLE_MEMORY_DEVICE;
            int offset = dimms > handleGap ? dimms - handleGap : 0;
            if (built(TYPE_MEMORY_ARRAY, true)) {
                add(SmbiosTypes.memoryArray(HANDLE_MEMORY_ARRAY, ram, dimms, HANDLE_NOT_PROVIDED));
            }
            if (built(TYPE_MEMORY_DEVICE, true)) {
                for (int i = 0; i < dimms; i++) {
                    long size = i < dimms - 1 ? MAX_DIMM_SIZE : ((ram - 1) % MAX_DIMM_SIZE) + 1;
                    add(SmbiosTypes.memoryDevice(HANDLE_MEMORY_DEVICE + i, i, sizeMib(size), HANDLE_MEMORY_ARRAY,
                            HANDLE_NOT_PROVIDED, in));
                }
            }
            if (built(TYPE_MEMORY_ARRAY_MAPPED, true)) {
                List<MemoryArea> areas = in.ramAreas();
                for (int i = 0; i < areas.size(); i++) {
                    add(SmbiosTypes.arrayMapped(HANDLE_MEMORY_ARRAY_MAPPED + offset + i, areas.get(i),
                            HANDLE_MEMORY_ARRAY));
                }
            }
        }

        private static long sizeMib(long bytes) {
            return (bytes + MIB - 1) / MIB;
        }

        /**
         * QEMU's smbios_skip_table: a blob of the type replaces it, -smbios fields of the type force it, else
         * only the structures the machine requires are built.
         */
        private boolean built(int type, boolean required) {
            if (opts.binaryTypes().contains(type)) {
                return false;
            }
            return opts.fieldTypes().contains(type) || required;
        }

        private void add(byte[] structure) {
            out.writeBytes(structure);
            count++;
            maxSize = Math.max(maxSize, structure.length);
        }

        /** The 2.1 entry point with the SMBIOS 2.8 version QEMU claims; the BIOS sets checksums and address. */
        private byte[] anchor() {
            byte[] ep = new byte[EntryPoint.LENGTH];
            System.arraycopy("_SM_".getBytes(StandardCharsets.US_ASCII), 0, ep, EntryPoint.ANCHOR, 4);
            ep[EntryPoint.ENTRY_LENGTH] = EntryPoint.LENGTH;
            ep[EntryPoint.MAJOR] = 2;
            ep[EntryPoint.MINOR] = 8;
            putU16(ep, EntryPoint.MAX_STRUCTURE_SIZE, maxSize);
            System.arraycopy("_DMI_".getBytes(StandardCharsets.US_ASCII), 0, ep, EntryPoint.INTERMEDIATE_ANCHOR, 5);
            putU16(ep, EntryPoint.TABLE_LENGTH, out.size());
            putU16(ep, EntryPoint.STRUCTURE_COUNT, count);
            ep[EntryPoint.BCD_REVISION] = 0x28;
            return ep;
        }

        /** The 3.0 entry point (SMBIOS 3.0, table 2) QEMU offers for smbios-entry-point-type=64. */
        private byte[] anchor64() {
            byte[] ep = new byte[EntryPoint64.LENGTH];
            System.arraycopy("_SM3_".getBytes(StandardCharsets.US_ASCII), 0, ep, EntryPoint64.ANCHOR, 5);
            ep[EntryPoint64.ENTRY_LENGTH] = EntryPoint64.LENGTH;
            ep[EntryPoint64.MAJOR] = 3;
            ep[EntryPoint64.REVISION] = 1;
            putU16(ep, EntryPoint64.TABLE_MAX_SIZE, out.size());
            putU16(ep, EntryPoint64.TABLE_MAX_SIZE + 2, out.size() >>> 16);
            return ep;
        }

        private static void putU16(byte[] b, int off, int v) {
            b[off] = (byte) v;
            b[off + 1] = (byte) (v >>> 8);
        }
    }

    /** Field offsets of the 32-bit entry point (SMBIOS 3.x, table 1). */
    private static final class EntryPoint {
        static final int ANCHOR = 0x00;
        static final int ENTRY_LENGTH = 0x05;
        static final int MAJOR = 0x06;
        static final int MINOR = 0x07;
        static final int MAX_STRUCTURE_SIZE = 0x08;
        static final int INTERMEDIATE_ANCHOR = 0x10;
        static final int TABLE_LENGTH = 0x16;
        static final int STRUCTURE_COUNT = 0x1c;
        static final int BCD_REVISION = 0x1e;
        static final byte LENGTH = 0x1f;
    }

    /** Field offsets of the 64-bit entry point (SMBIOS 3.x, table 2). */
    private static final class EntryPoint64 {
        static final int ANCHOR = 0x00;
        static final int ENTRY_LENGTH = 0x06;
        static final int MAJOR = 0x07;
        static final int REVISION = 0x0a;
        static final int TABLE_MAX_SIZE = 0x0c;
        static final byte LENGTH = 0x18;
    }

    /** The structures' types in table order, found by walking each formatted area and its string-set. */
    public List<Integer> structureTypes() {
        List<Integer> types = new ArrayList<>();
        int i = 0;
        while (i + SmbiosStructure.HEADER_SIZE <= tables.length) {
            types.add(tables[i] & 0xff);
            int j = i + (tables[i + SmbiosStructure.HEADER_LENGTH] & 0xff);
            while (j + 1 < tables.length && (tables[j] != 0 || tables[j + 1] != 0)) {
                j++;
            }
            i = j + 2;
        }
        return types;
    }
}
