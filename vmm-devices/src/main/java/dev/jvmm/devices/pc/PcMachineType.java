package dev.jvmm.devices.pc;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;

/**
 * QEMU 7.2's pc machine type and its ancestors (machine, x86-machine, generic-pc-machine), each with the
 * properties qom-list-properties shows for it: the one declaration behind -machine parsing
 * ({@link PcProperties#parse}), qom-list /machine and qom-get /machine. Where jvmm runs with only some
 * values, the others are refused with the reason given (VALUE stands for the refused value, spelled as
 * -machine help spells it); the rest are honoured or, as the comments say, have nothing in jvmm to change.
 */
public final class PcMachineType {
    private PcMachineType() {
    }

    /** QEMU's name of the type, also used in "Property 'pc-i440fx-7.2-machine.foo' not found". */
    public static final String NAME = "pc-i440fx-7.2-machine";

    /** A limited property's refusal: "Machine option 'NAME=VALUE' is not supported: why". */
    private static String notSupported(String name, String why) {
        return "Machine option '" + name + "=VALUE' is not supported: " + why;
    }

    private static final String NO_FIRMWARE = "jvmm has no flash memory for UEFI firmware";

    // QOM types of the machine's own properties, each with QEMU's description of that property.
    private static PropType string(String description) {
        return new PropType("string", "string", description, PropType.Kind.STR, List.of());
    }

    private static PropType str(String description) {
        return new PropType("str", "str", description, PropType.Kind.STR, List.of());
    }

    private static PropType bool(String description) {
        return new PropType("bool", "bool", description, PropType.Kind.BOOL, List.of());
    }

    private static PropType onOffAuto(String description) {
        return new PropType("OnOffAuto", "OnOffAuto", description, PropType.Kind.ENUM, List.of("on", "off", "auto"));
    }

    private static PropType size(String description) {
        return new PropType("size", "size", description, PropType.Kind.SIZE, List.of());
    }

    private static PropType link(String target, String description) {
        return new PropType("link", "link<" + target + ">", description, PropType.Kind.STR, List.of());
    }

    /** A QAPI struct or list, set only member by member (NAME.member=VALUE). */
    private static PropType struct(String qapiType, String description) {
        return new PropType(qapiType, qapiType, description, PropType.Kind.OBJECT, List.of());
    }

    /** The struct and list types: -machine NAME=VALUE alone is refused with the QAPI type QEMU expects. */
    static String structKind(PropType t) {
        return switch (t.qapiType()) {
            case "SgxEPC", "CXLFixedMemoryWindow" -> "array";
            case "BootConfiguration", "MemorySizeConfiguration", "SMPConfiguration" -> "object";
            default -> null;
        };
    }

    public static final TypeInfo MACHINE = TypeInfo.abstractType("machine", "object")
            .props(Property.of("kernel", string("Linux kernel image file"), ""),
                    // no device tree on a PC: dt-compatible, dtb, dumpdtb, phandle-start change nothing
                    Property.of("dt-compatible", string("Overrides the \"compatible\" property of the dt root node"),
                            ""),
                    // -boot's settings, as -boot gives them
                    Property.of("boot", struct("BootConfiguration", "Boot configuration")),
                    Property.of("memory", struct("MemorySizeConfiguration", "Memory size configuration")),
                    Property.of("initrd", string("Linux initial ramdisk file"), ""),
                    Property.of("confidential-guest-support",
                            link("confidential-guest-support", "Set confidential guest scheme to support"))
                            .only("Device 'VALUE' not found"),
                    // no display; graphics=off (-nographic) makes SeaBIOS use the serial port as its console
                    Property.of("graphics", bool("Set on/off to enable/disable graphics emulation"), true),
                    Property.of("usb", bool("Set on/off to enable/disable usb"), false)
                            .only(notSupported("usb", "jvmm has no USB controller"), false),
                    // the same as -bios
                    Property.of("firmware", string("Firmware image"), "bios-256k.bin"),
                    Property.of("memory-encryption", string("Set memory encryption object to use"), "")
                            .only("No such memory encryption object 'VALUE'"),
                    Property.of("smp", struct("SMPConfiguration", "CPU topology")),
                    Property.of("dump-guest-core", bool("Include guest memory in a core dump"), true),
                    Property.of("phandle-start", new PropType("int", "int",
                            "The first phandle ID we may generate dynamically", PropType.Kind.INT64, List.of()), 0L),
                    Property.of("dumpdtb", string("Dump current dtb to a file and quit"), ""),
                    Property.of("memory-backend",
                            link("memory-backend", "Set RAM backendValid value is ID of hostmem based backend")),
                    Property.of("dtb", string("Linux kernel device tree file"), ""),
                    Property.of("mem-merge", bool("Enable/disable memory merge support"), true),
                    Property.of("append", string("Linux kernel command line"), ""),
                    // migration only
                    Property.of("suppress-vmdesc", bool("Set on to disable self-describing migration"), false))
            .build();

    public static final TypeInfo X86_MACHINE = TypeInfo.abstractType("x86-machine", "machine")
            .implementing("nmi")
            .props(Property.of("smm", onOffAuto("Enable SMM"), "auto")
                            .only("System Management Mode not supported by this hypervisor.", "off", "auto"),
                    Property.of("acpi", onOffAuto("Enable ACPI"), "auto"),
                    Property.of("pit", onOffAuto("Enable i8254 PIT"), "auto"),
                    Property.of("pic", onOffAuto("Enable i8259 PIC"), "auto")
                            .only(notSupported("pic", "jvmm's interrupts go through KVM's in-kernel PIC and IOAPIC,"
                                    + " which come together"), "on", "auto"),
                    Property.of("x-oem-table-id", string("Override the default value of field OEM Table ID in ACPI"
                            + " table header.The string may be up to 8 bytes in size"), "BXPC    ")
                            .only(notSupported("x-oem-table-id", "jvmm's ACPI tables carry QEMU's default OEM IDs")),
                    Property.of("bus-lock-ratelimit", new PropType("uint64_t", "uint64_t",
                            "Set the ratelimit for the bus locks acquired in VMs", PropType.Kind.UINT64, List.of()), 0L)
                            .only("kvm: bus lock detection unsupported", 0L),
                    Property.of("sgx-epc", struct("SgxEPC", "SGX EPC device"))
                            .only("Machine option 'sgx-epc' is not supported: jvmm has no SGX EPC"),
                    Property.of("x-oem-id", string("Override the default value of field OEMID in ACPI table header."
                            + "The string may be up to 6 bytes in size"), "BOCHS ")
                            .only(notSupported("x-oem-id", "jvmm's ACPI tables carry QEMU's default OEM IDs")))
            .build();

    public static final TypeInfo GENERIC_PC_MACHINE = TypeInfo.abstractType("generic-pc-machine", "x86-machine")
            .implementing("hotplug-handler")
            .props(// no firmware flash
                    Property.of("max-fw-size", size("Maximum combined firmware size"), 8L << 20),
                    // no IOMMU
                    Property.of("default-bus-bypass-iommu", PropType.BOOL, false),
                    Property.object("device-memory-region-size", PropType.object("int")),
                    // QEMU's pc machine has no SATA either (q35 only)
                    Property.of("sata", bool("Enable/disable Serial ATA bus"), true),
                    Property.of("vmport", onOffAuto("Enable vmport (pc & q35)"), "auto")
                            .only(notSupported("vmport", "jvmm has no VMware I/O port"), "off", "auto"),
                    Property.of("i8042", PropType.BOOL, true),
                    Property.of("hpet", bool("Enable/disable high precision event timer emulation"), true),
                    // no SMBIOS tables without firmware
                    Property.of("smbios-entry-point-type", new PropType("SmbiosEntryPointType", "str",
                            "SMBIOS Entry Point type [32, 64]", PropType.Kind.ENUM, List.of("32", "64")), "32"),
                    Property.of("max-ram-below-4g", size("Maximum ram below the 4G boundary (32bit boundary)"), 0L),
                    // QEMU's pc machine ignores it too
                    Property.of("smbus", bool("Enable/disable system management bus"), true))
            .build();

    public static final TypeInfo PC_I440FX_72 = TypeInfo.type(NAME, "generic-pc-machine")
            .props(Property.of("pflash0", PropType.DRIVE).only(notSupported("pflash0", NO_FIRMWARE)),
                    Property.of("hmat", bool("Set on/off to enable/disable ACPI Heterogeneous Memory Attribute Table"
                            + " (HMAT)"), false).only(notSupported("hmat", "jvmm has no NUMA nodes"), false),
                    Property.of("pflash1", PropType.DRIVE).only(notSupported("pflash1", NO_FIRMWARE)),
                    Property.of("cxl", bool("Set on/off to enable/disable CXL instantiation"), false)
                            .only(notSupported("cxl", "jvmm has no CXL host bridge"), false),
                    Property.object("peripheral", PropType.child("container")),
                    Property.of("pcspk-audiodev", str("ID of an audiodev to use as a backend"), "")
                            .only("Property 'isa-pcspk.audiodev' can't find value 'VALUE'"),
                    Property.of("nvdimm", bool("Set on/off to enable/disable NVDIMM instantiation"), false)
                            .only(notSupported("nvdimm", "jvmm has no NVDIMM"), false),
                    Property.object("peripheral-anon", PropType.child("container")),
                    Property.of("cxl-fmw", struct("CXLFixedMemoryWindow", "CXL Fixed Memory Windows (array)"))
                            .only("Machine option 'cxl-fmw' is not supported: jvmm has no CXL host bridge"),
                    Property.object("system.flash0", PropType.child("cfi.pflash01")),
                    // only with nvdimm=on, which is refused
                    Property.of("nvdimm-persistence", string("Set NVDIMM persistenceValid values are cpu, mem-ctrl"),
                            ""),
                    Property.object("system.flash1", PropType.child("cfi.pflash01")))
            .build();

    /**
     * What -machine still passes on to -accel in QEMU 7.2: accepted on -machine, but no properties of the
     * machine object (qom-list /machine has none of them).
     */
    public static final List<Property> ACCEL_PROPERTIES = List.of(
            // kvm only: the -machine parser checks the accelerator
            Property.of("accel", PropType.STR),
            Property.of("kernel-irqchip", PropType.enumeration("OnOffSplit", null, List.of("on", "off", "split")))
                    .only(notSupported("kernel-irqchip", "jvmm needs KVM's in-kernel irqchip"), "on"),
            Property.of("kvm-shadow-mem", PropType.SIZE)
                    .only(notSupported("kvm-shadow-mem", "jvmm leaves KVM's MMU page count to KVM")));

    /** Machine properties QEMU's instance has but its qom-list /machine drops once no firmware flash is used. */
    static final List<String> FLASH_ONLY = List.of("pflash0", "pflash1", "system.flash0", "system.flash1");

    /** The machine types, root first. */
    public static List<TypeInfo> all() {
        return List.of(MACHINE, X86_MACHINE, GENERIC_PC_MACHINE, PC_I440FX_72);
    }

    /** The machine types and the interface only they list. */
    public static List<TypeInfo> types() {
        return List.of(MACHINE, X86_MACHINE, GENERIC_PC_MACHINE, PC_I440FX_72, TypeInfo.iface("nmi"));
    }
}
