package dev.jvmm.cli;

import dev.jvmm.cli.MachineProperty.Type;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.kvm.boot.MemoryLayout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static dev.jvmm.cli.MachineProperty.honoured;
import static dev.jvmm.cli.MachineProperty.limited;
import static dev.jvmm.cli.MachineProperty.noEffect;

/**
 * The -machine properties of QEMU 7.2's pc machine as jvmm applies them, after {@link #parse} has checked
 * every property against {@link #PROPERTIES}.
 *
 * @param acpi           acpi=on|auto (ACPI tables and the PIIX4 PM function)
 * @param pit            pit=on|auto: KVM's in-kernel 8254 PIT, and with it the speaker port 0x61
 * @param i8042          i8042=on: the keyboard controller (ports 0x60/0x64), its ACPI devices, and port 0x92
 * @param maxRamBelow4g  max-ram-below-4g in bytes, 0 for QEMU's default
 * @param memMerge       mem-merge: guest RAM offered to KSM
 * @param dumpGuestCore  dump-guest-core: guest RAM kept in a core dump of jvmm
 * @param kernel         kernel=, as -kernel
 * @param initrd         initrd=, as -initrd
 * @param append         append=, as -append
 * @param memory         memory.size/slots/maxmem, as an -m value
 * @param smp            smp.cpus/sockets/..., as an -smp value
 */
record PcProperties(boolean acpi, boolean pit, boolean i8042, long maxRamBelow4g, boolean memMerge,
                    boolean dumpGuestCore, Optional<String> kernel, Optional<String> initrd, Optional<String> append,
                    Optional<String> memory, Optional<String> smp) {
    /** QEMU's own name for the machine, used in "Property 'pc-i440fx-7.2-machine.foo' not found". */
    static final String QOM_TYPE = "pc-i440fx-7.2-machine";
    static final long MAX_RAM_BELOW_4G_LIMIT = 4L << 30;
    /** QEMU 7.2 pc.c: the flash size above which max-fw-size is refused. */
    static final long MAX_FW_SIZE_LIMIT = 16L << 20;
    static final int OEM_ID_SIZE = 6;
    static final int OEM_TABLE_ID_SIZE = 8;

    /** What -machine pc alone gives. */
    static final PcProperties DEFAULTS = new PcProperties(true, true, true, 0, true, true, Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    /**
     * Every property QEMU 7.2 accepts on -machine pc (those -machine pc,help lists, the instance properties
     * pcspk-audiodev and pflash0/1, and the accelerator properties -machine still passes on to -accel).
     */
    static final List<MachineProperty> PROPERTIES = List.of(
            honoured("accel", Type.STRING, "kvm only"),
            honoured("acpi", Type.ON_OFF_AUTO, "off: no ACPI tables, no PIIX4 PM function"),
            honoured("pit", Type.ON_OFF_AUTO, "off: no in-kernel PIT; ports 0x40-0x43 and 0x61 unassigned"),
            honoured("i8042", Type.BOOL, "off: no keyboard controller, no port 0x92, no KBD/MOU in the DSDT"),
            honoured("max-ram-below-4g", Type.SIZE, "where low RAM ends, as QEMU's pc_init1 splits it"),
            honoured("mem-merge", Type.BOOL, "MADV_MERGEABLE on guest RAM"),
            honoured("dump-guest-core", Type.BOOL, "off: MADV_DONTDUMP on guest RAM"),
            honoured("kernel", Type.STRING, "as -kernel"),
            honoured("initrd", Type.STRING, "as -initrd"),
            honoured("append", Type.STRING, "as -append"),
            honoured("memory", Type.STRUCT, "as -m"),
            honoured("smp", Type.STRUCT, "as -smp"),
            noEffect("boot", Type.STRUCT, "no firmware chooses a boot device; -kernel boots"),
            noEffect("default-bus-bypass-iommu", Type.BOOL, "no IOMMU"),
            noEffect("dt-compatible", Type.STRING, "no device tree on a PC"),
            noEffect("dtb", Type.STRING, "no device tree on a PC"),
            noEffect("dumpdtb", Type.STRING, "no device tree on a PC"),
            noEffect("phandle-start", Type.INTEGER, "no device tree on a PC"),
            noEffect("graphics", Type.BOOL,
                    "no display; graphics=off also sends QEMU's SeaBIOS banner to the serial port, and jvmm runs"
                            + " no firmware"),
            noEffect("max-fw-size", Type.SIZE, "no firmware flash"),
            noEffect("sata", Type.BOOL, "QEMU's pc machine has no SATA either (q35 only)"),
            noEffect("smbus", Type.BOOL, "QEMU's pc machine ignores it too"),
            noEffect("suppress-vmdesc", Type.BOOL, "migration only"),
            noEffect("smbios-entry-point-type", Type.ENUM, "no SMBIOS tables without firmware"),
            noEffect("nvdimm-persistence", Type.STRING, "only with nvdimm=on, which is refused"),
            limited("hpet", Type.BOOL, Set.of("off"), "jvmm has no HPET"),
            limited("vmport", Type.ON_OFF_AUTO, Set.of("off", "auto"), "jvmm has no VMware I/O port"),
            limited("smm", Type.ON_OFF_AUTO, Set.of("off", "auto"),
                    v -> "System Management Mode not supported by this hypervisor."),
            limited("pic", Type.ON_OFF_AUTO, Set.of("on", "auto"),
                    "jvmm's interrupts go through KVM's in-kernel PIC and IOAPIC, which come together"),
            limited("usb", Type.BOOL, Set.of("off"), "jvmm has no USB controller"),
            limited("nvdimm", Type.BOOL, Set.of("off"), "jvmm has no NVDIMM"),
            limited("sgx-epc", Type.STRUCT, Set.of(),
                    v -> "Machine option 'sgx-epc' is not supported: jvmm has no SGX EPC"),
            limited("kernel-irqchip", Type.ENUM, Set.of("on"), "jvmm needs KVM's in-kernel irqchip"),
            limited("kvm-shadow-mem", Type.SIZE, Set.of(), "jvmm leaves KVM's MMU page count to KVM"),
            limited("bus-lock-ratelimit", Type.INTEGER, Set.of("0"), v -> "kvm: bus lock detection unsupported"),
            limited("firmware", Type.STRING, Set.of("bios.bin"), "jvmm boots -kernel without firmware"),
            limited("pflash0", Type.STRING, Set.of(), "jvmm boots -kernel without firmware"),
            limited("pflash1", Type.STRING, Set.of(), "jvmm boots -kernel without firmware"),
            limited("confidential-guest-support", Type.STRING, Set.of(), v -> "Device '" + v + "' not found"),
            limited("memory-encryption", Type.STRING, Set.of(),
                    v -> "No such memory encryption object '" + v + "'"),
            limited("memory-backend", Type.STRING, Set.of(), v -> "Memory backend '" + v + "' not found"),
            limited("pcspk-audiodev", Type.STRING, Set.of(),
                    v -> "Property 'isa-pcspk.audiodev' can't find value '" + v + "'"),
            limited("x-oem-id", Type.STRING, Set.of(), v -> oemRefusal("x-oem-id", v, OEM_ID_SIZE)),
            limited("x-oem-table-id", Type.STRING, Set.of(), v -> oemRefusal("x-oem-table-id", v, OEM_TABLE_ID_SIZE)));

    /** QEMU's length check comes first; a value that passes it is still one jvmm's tables do not carry. */
    private static String oemRefusal(String name, String value, int size) {
        if (value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > size) {
            return "User specified " + name + " value is bigger than " + size + " bytes in size";
        }
        return "Machine option '" + name + "=" + value + "' is not supported: jvmm's ACPI tables carry QEMU's"
                + " default OEM IDs";
    }

    private static final Map<String, MachineProperty> BY_NAME = index();

    private static Map<String, MachineProperty> index() {
        Map<String, MachineProperty> m = new LinkedHashMap<>();
        for (MachineProperty p : PROPERTIES) {
            if (m.put(p.name(), p) != null) {
                throw new IllegalStateException("machine property declared twice: " + p.name());
            }
        }
        return Map.copyOf(m);
    }

    /** The declaration of a property, or empty when QEMU's pc machine has none by that name. */
    static Optional<MachineProperty> find(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /**
     * Checks the merged -machine properties (type excluded; later values already won) and returns what jvmm
     * applies. Struct members (memory.size, smp.cpus, boot.order, sgx-epc.0.memdev) belong to their struct.
     */
    static PcProperties parse(Map<String, String> props) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, Map<String, String>> structs = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : props.entrySet()) {
            String key = e.getKey();
            int dot = key.indexOf('.');
            String name = dot < 0 ? key : key.substring(0, dot);
            MachineProperty p = find(name).orElseThrow(() ->
                    new OptionException(null, "Property '" + QOM_TYPE + "." + key + "' not found"));
            if (p.type() == Type.STRUCT) {
                if (dot < 0) {
                    throw new OptionException(null, "Invalid parameter type for '" + name + "', expected: object");
                }
                p.check(e.getValue());
                structs.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(key.substring(dot + 1), e.getValue());
                continue;
            }
            if (dot >= 0) {
                throw new OptionException(null, "Property '" + QOM_TYPE + "." + key + "' not found");
            }
            String v = p.canonical(e.getValue());
            p.check(v);
            values.put(name, v);
        }
        checkValues(values);
        return new PcProperties(
                !"off".equals(values.get("acpi")),
                !"off".equals(values.get("pit")),
                !"off".equals(values.get("i8042")),
                Long.parseLong(values.getOrDefault("max-ram-below-4g", "0")),
                !"off".equals(values.get("mem-merge")),
                !"off".equals(values.get("dump-guest-core")),
                Optional.ofNullable(values.get("kernel")),
                Optional.ofNullable(values.get("initrd")),
                Optional.ofNullable(values.get("append")),
                Optional.ofNullable(structs.get("memory")).map(PcProperties::optsText),
                Optional.ofNullable(structs.get("smp")).map(PcProperties::optsText));
    }

    /** The range checks QEMU's property setters make, in QEMU's words, and the least RAM jvmm boots with. */
    private static void checkValues(Map<String, String> values) {
        String below = values.get("max-ram-below-4g");
        if (below != null) {
            long v = Long.parseLong(below);
            if (Long.compareUnsigned(v, MAX_RAM_BELOW_4G_LIMIT) > 0) {
                throw new OptionException(null, "Machine option 'max-ram-below-4g=" + Long.toUnsignedString(v)
                        + "' expects size less than or equal to 4G");
            }
            if (v != 0 && v < MemoryLayout.MIN_BELOW_4G) {
                throw new OptionException(null, "Machine option 'max-ram-below-4g=" + v + "' is not supported:"
                        + " jvmm needs at least 2 MiB of RAM below 4 GiB");
            }
        }
        String fw = values.get("max-fw-size");
        if (fw != null && Long.compareUnsigned(Long.parseLong(fw), MAX_FW_SIZE_LIMIT) > 0) {
            // QEMU 7.2's text, spelling included.
            throw new OptionException(null, "User specified max allowed firmware size " + Long.toUnsignedString(
                    Long.parseLong(fw)) + " is greater than 16MiB. If combined firwmare size exceeds 16MiB the"
                    + " system may not boot, or experience intermittentstability issues.");
        }
    }

    /** A struct's members as QemuOpts text for the option they stand for ("size=256M,maxmem=1G"). */
    private static String optsText(Map<String, String> members) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> m : members.entrySet()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(m.getKey()).append('=').append(m.getValue().replace(",", ",,"));
        }
        return sb.toString();
    }
}
