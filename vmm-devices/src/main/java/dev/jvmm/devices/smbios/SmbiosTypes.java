package dev.jvmm.devices.smbios;

import dev.jvmm.devices.smbios.SmbiosInputs.MemoryArea;

import java.util.List;

/**
 * Encoders for each structure type QEMU 7.2 builds (DMTF SMBIOS 3.x, section 7: types 0, 1, 2, 3, 4, 8, 11,
 * 16, 17, 19, 32 and 41), with the SMBIOS 2.8 formatted-area lengths (type 4 grows by its 3.0 fields under
 * the 64-bit entry point) and the constant field values QEMU writes.
 * Offsets are the spec's; strings are added in QEMU's order, which fixes their numbers.
 */
final class SmbiosTypes {
    static final int BIOS_LENGTH = 0x18;
    static final int SYSTEM_LENGTH = 0x1b;
    static final int BASEBOARD_LENGTH = 0x0f;
    static final int CHASSIS_LENGTH = 0x16;
    static final int PROCESSOR_LENGTH = 0x2a;
    static final int PORT_LENGTH = 0x09;
    static final int OEM_STRINGS_LENGTH = 0x05;
    static final int MEMORY_ARRAY_LENGTH = 0x17;
    static final int MEMORY_DEVICE_LENGTH = 0x28;
    static final int ARRAY_MAPPED_LENGTH = 0x1f;
    static final int BOOT_INFO_LENGTH = 0x0b;
    /** Type 4 with the SMBIOS 3.0 fields core count 2, core enabled 2 and thread count 2. */
    static final int PROCESSOR_LENGTH_V3 = 0x30;
    static final int ONBOARD_DEVICE_LENGTH = 0x0b;

    /** SeaBIOS's segment, which QEMU copies: the BIOS starts at 0xE8000. */
    private static final int BIOS_START_SEGMENT = 0xe800;
    /** Characteristics bit 3: "BIOS characteristics are not supported". */
    private static final long BIOS_CHARACTERISTICS_NOT_SUPPORTED = 0x08;
    /** Extension byte 2: bit 2 enables targeted content distribution, bit 4 says this is a virtual machine. */
    private static final int BIOS_EXT2_TCD_VM = 0x14;
    /** Extension byte 2 bit 3: UEFI is supported. */
    private static final int BIOS_EXT2_UEFI = 0x08;
    private static final int WAKE_UP_POWER_SWITCH = 0x06;
    private static final int BOARD_FEATURE_MOTHERBOARD = 0x01;
    private static final int BOARD_TYPE_MOTHERBOARD = 0x0a;
    private static final int CHASSIS_TYPE_OTHER = 0x01;
    private static final int STATE_SAFE = 0x03;
    private static final int SECURITY_UNKNOWN = 0x02;
    private static final int PROCESSOR_TYPE_CPU = 0x03;
    private static final int PROCESSOR_FAMILY_OTHER = 0x01;
    /** Socket populated, CPU enabled. */
    private static final int PROCESSOR_STATUS = 0x41;
    private static final int PROCESSOR_UPGRADE_OTHER = 0x01;
    private static final int PROCESSOR_CHARACTERISTICS_UNKNOWN = 0x02;
    private static final int MAX_BYTE_COUNT = 0xff;
    private static final int ARRAY_LOCATION_OTHER = 0x01;
    private static final int ARRAY_USE_SYSTEM_MEMORY = 0x03;
    /** Multi-bit ECC, which SeaBIOS reports so that Windows is content. */
    private static final int ARRAY_ECC_MULTI_BIT = 0x06;
    /** Type 16 maximum capacity in KiB: 2 TiB and up go to the extended field. */
    private static final long MAX_ARRAY_KIB = 0x8000_0000L;
    /** Type 17 size in MiB: 32 GiB - 1 MiB and up go to the extended field. */
    private static final long MAX_DEVICE_MIB = 0x7fff;
    private static final int WIDTH_UNKNOWN = 0xffff;
    private static final int FORM_FACTOR_DIMM = 0x09;
    private static final int MEMORY_TYPE_RAM = 0x07;
    private static final int TYPE_DETAIL_OTHER = 0x02;
    private static final long U32_MAX = 0xffff_ffffL;
    private static final long KIB = 1L << 10;

    private SmbiosTypes() {
    }

    /** Type 0, BIOS Information (section 7.1), built only when -smbios type=0 asked for it. */
    static byte[] bios(int handle, SmbiosOptions o) {
        int t = SmbiosTables.TYPE_BIOS;
        SmbiosStructure s = new SmbiosStructure(t, BIOS_LENGTH, handle)
                .string(0x04, o.string(t, "vendor"))
                .string(0x05, o.string(t, "version"))
                .u16(0x06, BIOS_START_SEGMENT)
                .string(0x08, o.string(t, "date"))
                .u8(0x09, 0)
                .u64(0x0a, BIOS_CHARACTERISTICS_NOT_SUPPORTED)
                .u8(0x12, 0)
                .u8(0x13, BIOS_EXT2_TCD_VM | (o.uefi() ? BIOS_EXT2_UEFI : 0))
                .u8(0x16, MAX_BYTE_COUNT)
                .u8(0x17, MAX_BYTE_COUNT);
        o.release().ifPresent(r -> s.u8(0x14, r.major()).u8(0x15, r.minor()));
        return s.encode();
    }

    /** Type 1, System Information (section 7.2). */
    static byte[] system(int handle, SmbiosInputs in) {
        int t = SmbiosTables.TYPE_SYSTEM;
        SmbiosOptions o = in.options();
        SmbiosStructure s = new SmbiosStructure(t, SYSTEM_LENGTH, handle)
                .string(0x04, or(o.string(t, "manufacturer"), in.manufacturer()))
                .string(0x05, or(o.string(t, "product"), in.product()))
                .string(0x06, or(o.string(t, "version"), in.version()))
                .string(0x07, o.string(t, "serial"));
        in.uuid().ifPresent(u -> {
            byte[] wire = SmbiosTables.uuidWireBytes(u);
            for (int i = 0; i < wire.length; i++) {
                s.u8(0x08 + i, wire[i]);
            }
        });
        return s.u8(0x18, WAKE_UP_POWER_SWITCH)
                .string(0x19, o.string(t, "sku"))
                .string(0x1a, o.string(t, "family"))
                .encode();
    }

    /** Type 2, Baseboard Information (section 7.3), built only when -smbios type=2 asked for it. */
    static byte[] baseboard(int handle, int chassisHandle, SmbiosInputs in) {
        int t = SmbiosTables.TYPE_BASEBOARD;
        SmbiosOptions o = in.options();
        return new SmbiosStructure(t, BASEBOARD_LENGTH, handle)
                .string(0x04, or(o.string(t, "manufacturer"), in.manufacturer()))
                .string(0x05, or(o.string(t, "product"), in.product()))
                .string(0x06, or(o.string(t, "version"), in.version()))
                .string(0x07, o.string(t, "serial"))
                .string(0x08, o.string(t, "asset"))
                .u8(0x09, BOARD_FEATURE_MOTHERBOARD)
                .string(0x0a, o.string(t, "location"))
                .u16(0x0b, chassisHandle)
                .u8(0x0d, BOARD_TYPE_MOTHERBOARD)
                .encode();
    }

    /** Type 3, System Enclosure or Chassis (section 7.4). */
    static byte[] chassis(int handle, SmbiosInputs in) {
        int t = SmbiosTables.TYPE_CHASSIS;
        SmbiosOptions o = in.options();
        return new SmbiosStructure(t, CHASSIS_LENGTH, handle)
                .string(0x04, or(o.string(t, "manufacturer"), in.manufacturer()))
                .u8(0x05, CHASSIS_TYPE_OTHER)
                .string(0x06, or(o.string(t, "version"), in.version()))
                .string(0x07, o.string(t, "serial"))
                .string(0x08, o.string(t, "asset"))
                .u8(0x09, STATE_SAFE)
                .u8(0x0a, STATE_SAFE)
                .u8(0x0b, STATE_SAFE)
                .u8(0x0c, SECURITY_UNKNOWN)
                .string(0x15, o.string(t, "sku"))
                .encode();
    }

    /** Type 4, Processor Information (section 7.5), one per socket; instance numbers the socket. */
    static byte[] processor(int handle, int instance, int noCache, SmbiosInputs in) {
        boolean v3 = in.entryPoint() == SmbiosInputs.EntryPointType.BITS_64;
        int t = SmbiosTables.TYPE_PROCESSOR;
        SmbiosOptions o = in.options();
        String socket = String.format("%s%2x", or(o.string(t, "sock_pfx"), "CPU"), instance);
        long id = o.processorId() != 0 ? o.processorId()
                : (in.cpuidVersion() & 0xffff_ffffL) | ((long) in.cpuidFeatures() << 32);
        int cores = Math.min(in.topology().coresPerSocket(), MAX_BYTE_COUNT);
        int threads = Math.min(in.topology().threadsPerSocket(), MAX_BYTE_COUNT);
        SmbiosStructure s = new SmbiosStructure(t, v3 ? PROCESSOR_LENGTH_V3 : PROCESSOR_LENGTH, handle);
        if (v3) {
            s.u16(0x2a, in.topology().coresPerSocket())
                    .u16(0x2c, in.topology().coresPerSocket())
                    .u16(0x2e, in.topology().threadsPerSocket());
        }
        return s
                .string(0x04, socket)
                .u8(0x05, PROCESSOR_TYPE_CPU)
                .u8(0x06, PROCESSOR_FAMILY_OTHER)
                .string(0x07, or(o.string(t, "manufacturer"), in.manufacturer()))
                .u64(0x08, id)
                .string(0x10, or(o.string(t, "version"), in.version()))
                .u16(0x14, o.maxSpeed())
                .u16(0x16, o.currentSpeed())
                .u8(0x18, PROCESSOR_STATUS)
                .u8(0x19, PROCESSOR_UPGRADE_OTHER)
                .u16(0x1a, noCache)
                .u16(0x1c, noCache)
                .u16(0x1e, noCache)
                .string(0x20, o.string(t, "serial"))
                .string(0x21, o.string(t, "asset"))
                .string(0x22, o.string(t, "part"))
                .u8(0x23, cores)
                .u8(0x24, cores)
                .u8(0x25, threads)
                .u16(0x26, PROCESSOR_CHARACTERISTICS_UNKNOWN)
                .u16(0x28, PROCESSOR_FAMILY_OTHER)
                .encode();
    }

    /** Type 8, Port Connector Information (section 7.9), one per -smbios type=8. */
    static byte[] port(int handle, SmbiosOptions.Port p) {
        return new SmbiosStructure(SmbiosTables.TYPE_PORT, PORT_LENGTH, handle)
                .string(0x04, p.internalReference())
                .string(0x06, p.externalReference())
                .u8(0x07, p.connectorType())
                .u8(0x08, p.portType())
                .encode();
    }

    /** Type 41, Onboard Devices Extended Information (section 7.42), at segment 0 and the given bus/devfn. */
    static byte[] onboardDevice(int handle, SmbiosOptions.OnboardDevice d, int bus, int devfn) {
        return new SmbiosStructure(SmbiosTables.TYPE_ONBOARD_DEVICE, ONBOARD_DEVICE_LENGTH, handle)
                .string(0x04, d.designation())
                .u8(0x05, d.deviceType())
                .u8(0x06, d.instance())
                .u8(0x09, bus)
                .u8(0x0a, devfn)
                .encode();
    }

    /** Type 11, OEM Strings (section 7.12): the count holds every value given, empty ones too. */
    static byte[] oemStrings(int handle, List<byte[]> values) {
        SmbiosStructure s = new SmbiosStructure(SmbiosTables.TYPE_OEM_STRINGS, OEM_STRINGS_LENGTH, handle)
                .u8(0x04, values.size());
        values.forEach(s::addString);
        return s.encode();
    }

    /** Type 16, Physical Memory Array (section 7.17): all of RAM as one array of dimms devices. */
    static byte[] memoryArray(int handle, long ramSize, int dimms, int noErrorInfo) {
        long kib = (ramSize + KIB - 1) / KIB;
        SmbiosStructure s = new SmbiosStructure(SmbiosTables.TYPE_MEMORY_ARRAY, MEMORY_ARRAY_LENGTH, handle)
                .u8(0x04, ARRAY_LOCATION_OTHER)
                .u8(0x05, ARRAY_USE_SYSTEM_MEMORY)
                .u8(0x06, ARRAY_ECC_MULTI_BIT)
                .u16(0x0b, noErrorInfo)
                .u16(0x0d, dimms);
        if (kib < MAX_ARRAY_KIB) {
            s.u32(0x07, kib);
        } else {
            s.u32(0x07, MAX_ARRAY_KIB).u64(0x0f, ramSize);
        }
        return s.encode();
    }

    /** Type 17, Memory Device (section 7.18): one DIMM of sizeMib MiB, "DIMM n" unless loc_pfx says else. */
    static byte[] memoryDevice(int handle, int instance, long sizeMib, int arrayHandle, int noErrorInfo,
                               SmbiosInputs in) {
        SmbiosOptions o = in.options();
        int t = SmbiosTables.TYPE_MEMORY_DEVICE;
        SmbiosStructure s = new SmbiosStructure(t, MEMORY_DEVICE_LENGTH, handle)
                .u16(0x04, arrayHandle)
                .u16(0x06, noErrorInfo)
                .u16(0x08, WIDTH_UNKNOWN)
                .u16(0x0a, WIDTH_UNKNOWN);
        if (sizeMib < MAX_DEVICE_MIB) {
            s.u16(0x0c, (int) sizeMib);
        } else {
            s.u16(0x0c, (int) MAX_DEVICE_MIB).u32(0x1c, sizeMib);
        }
        return s.u8(0x0e, FORM_FACTOR_DIMM)
                .string(0x10, or(o.string(t, "loc_pfx"), "DIMM") + " " + instance)
                .string(0x11, o.string(t, "bank"))
                .u8(0x12, MEMORY_TYPE_RAM)
                .u16(0x13, TYPE_DETAIL_OTHER)
                .u16(0x15, o.memorySpeed())
                .string(0x17, or(o.string(t, "manufacturer"), in.manufacturer()))
                .string(0x18, o.string(t, "serial"))
                .string(0x19, o.string(t, "asset"))
                .string(0x1a, o.string(t, "part"))
                .u16(0x20, o.memorySpeed())
                .encode();
    }

    /** Type 19, Memory Array Mapped Address (section 7.20): one RAM range, in KiB or in bytes when large. */
    static byte[] arrayMapped(int handle, MemoryArea area, int arrayHandle) {
        long end = area.address() + area.length() - 1;
        long startKib = area.address() / KIB;
        long endKib = end / KIB;
        SmbiosStructure s = new SmbiosStructure(SmbiosTables.TYPE_MEMORY_ARRAY_MAPPED, ARRAY_MAPPED_LENGTH, handle);
        if (startKib < U32_MAX && endKib < U32_MAX) {
            s.u32(0x04, startKib).u32(0x08, endKib);
        } else {
            s.u32(0x04, U32_MAX).u32(0x08, U32_MAX).u64(0x0f, area.address()).u64(0x17, end);
        }
        return s.u16(0x0c, arrayHandle).u8(0x0e, 1).encode();
    }

    private static String or(String value, String def) {
        return value != null ? value : def;
    }
}
