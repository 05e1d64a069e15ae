package dev.jvmm.devices.pc;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The -machine properties of QEMU 7.2's pc machine as jvmm applies them, after {@link #parse} has checked
 * every one against its declaration in {@link PcMachineType}.
 *
 * @param acpi          acpi=on|auto (ACPI tables and the PIIX4 PM function)
 * @param pit           pit=on|auto: KVM's in-kernel 8254 PIT, and with it the speaker port 0x61
 * @param i8042         i8042=on: the keyboard controller (ports 0x60/0x64), its ACPI devices, and port 0x92
 * @param hpet          hpet=on (QEMU's default): the board has an HPET
 * @param vmport        vmport=auto (on under KVM): QEMU would create vmport and vmmouse, counted likewise
 * @param maxRamBelow4g max-ram-below-4g in bytes, 0 for QEMU's default
 * @param memMerge      mem-merge: guest RAM offered to KSM
 * @param dumpGuestCore dump-guest-core: guest RAM kept in a core dump of jvmm
 * @param kernel        kernel=, as -kernel
 * @param initrd        initrd=, as -initrd
 * @param append        append=, as -append
 * @param memory        memory.size/slots/maxmem, as an -m value
 * @param smp           smp.cpus/sockets/..., as an -smp value
 * @param values        every property given, by name, as its type reads it (Boolean, Long or String); struct
 *                      members by their full name ("boot.order")
 */
public record PcProperties(boolean acpi, boolean pit, boolean i8042, boolean hpet, boolean vmport,
                           long maxRamBelow4g, boolean memMerge, boolean dumpGuestCore, Optional<String> kernel,
                           Optional<String> initrd, Optional<String> append, Optional<String> memory,
                           Optional<String> smp, Map<String, Object> values) {
    public static final long MAX_RAM_BELOW_4G_LIMIT = 4L << 30;
    /** The least RAM below 4 GiB jvmm boots with (vmm-kvm's MemoryLayout.MIN_BELOW_4G). */
    public static final long MIN_RAM_BELOW_4G = 2L << 20;
    /** QEMU 7.2 pc.c: the flash size above which max-fw-size is refused. */
    public static final long MAX_FW_SIZE_LIMIT = 16L << 20;
    static final int OEM_ID_SIZE = 6;
    static final int OEM_TABLE_ID_SIZE = 8;

    public PcProperties {
        values = Map.copyOf(values);
    }

    private static final Map<String, Property> BY_NAME = index();

    private static Map<String, Property> index() {
        Map<String, Property> m = new LinkedHashMap<>();
        for (TypeInfo t : PcMachineType.all()) {
            for (Property p : t.properties()) {
                if (m.put(p.name(), p) != null) {
                    throw new IllegalStateException("machine property declared twice: " + p.name());
                }
            }
        }
        for (Property p : PcMachineType.ACCEL_PROPERTIES) {
            if (m.put(p.name(), p) != null) {
                throw new IllegalStateException("machine property declared twice: " + p.name());
            }
        }
        return m;
    }

    /** What -machine pc alone gives. */
    public static final PcProperties DEFAULTS = parse(Map.of());

    /** The declaration of a property -machine takes (the machine's own and -accel's), by name. */
    public static Optional<Property> find(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** A property's value as -machine gave it; empty where it was not given. */
    public Optional<Object> given(String name) {
        return Optional.ofNullable(values.get(name));
    }

    /** A given property's value, or its declared default. */
    public Optional<Object> value(String name) {
        return Optional.ofNullable(values.get(name)).or(() -> find(name).map(Property::defaultValue));
    }

    /**
     * Checks the merged -machine properties (type excluded; later values already won) and returns what jvmm
     * applies. As QEMU does, '_' in a name reads as '-'. Struct members (memory.size, smp.cpus, boot.order,
     * sgx-epc.0.memdev) belong to their struct.
     */
    public static PcProperties parse(Map<String, String> props) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, Map<String, String>> structs = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : props.entrySet()) {
            String key = e.getKey().replace('_', '-');
            int dot = key.indexOf('.');
            String name = dot < 0 ? key : key.substring(0, dot);
            if (name.equals("unattached")) {
                // a child of every machine object, there before -machine applies
                throw new OptionException(null, "Property '" + PcMachineType.NAME + "." + name + "' is not writable");
            }
            Property p = find(name).orElseThrow(() ->
                    new OptionException(null, "Property '" + PcMachineType.NAME + "." + name + "' not found"));
            if (!p.settable()) {
                throw new OptionException(null, "Property '" + PcMachineType.NAME + "." + name + "' is not writable");
            }
            String struct = PcMachineType.structKind(p.type());
            if (struct != null) {
                if (dot < 0) {
                    throw new OptionException(null, "Invalid parameter type for '" + name + "', expected: " + struct);
                }
                checkSupported(p, e.getValue());
                structs.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(key.substring(dot + 1), e.getValue());
                values.put(key, e.getValue());
                continue;
            }
            if (dot >= 0) {
                throw new OptionException(null, "Parameters '" + name + ".*' are unexpected");
            }
            Object v = read(p, e.getValue());
            if (name.equals("x-oem-id") || name.equals("x-oem-table-id")) {
                checkOemLength(name, (String) v);
            }
            checkSupported(p, v);
            values.put(name, v);
        }
        checkValues(values);
        return new PcProperties(
                !"off".equals(values.get("acpi")),
                !"off".equals(values.get("pit")),
                !Boolean.FALSE.equals(values.get("i8042")),
                !Boolean.FALSE.equals(values.get("hpet")),
                !"off".equals(values.get("vmport")),
                (Long) values.getOrDefault("max-ram-below-4g", 0L),
                !Boolean.FALSE.equals(values.get("mem-merge")),
                !Boolean.FALSE.equals(values.get("dump-guest-core")),
                Optional.ofNullable((String) values.get("kernel")),
                Optional.ofNullable((String) values.get("initrd")),
                Optional.ofNullable((String) values.get("append")),
                Optional.ofNullable(structs.get("memory")).map(PcProperties::optsText),
                Optional.ofNullable(structs.get("smp")).map(PcProperties::optsText),
                values);
    }

    /** A value as -machine (QEMU's keyval input) reads the property's type, with QEMU's error texts. */
    private static Object read(Property p, String value) {
        String name = p.name();
        PropType t = p.type();
        return switch (t.kind()) {
            case ENUM -> {
                if (!t.members().contains(value)) {
                    throw new OptionException(null, "Parameter '" + name + "' does not accept value '" + value + "'");
                }
                yield value;
            }
            case BOOL -> switch (value) {
                case "on", "yes", "true", "y" -> Boolean.TRUE;
                case "off", "no", "false", "n" -> Boolean.FALSE;
                default -> throw new OptionException(null, "Parameter '" + name + "' expects 'on' or 'off'");
            };
            case SIZE -> {
                try {
                    yield QemuOpts.parseSize(value, 1);
                } catch (NumberFormatException e) {
                    throw new OptionException(null, "Parameter '" + name + "' expects size");
                }
            }
            case UINT8, UINT16, UINT32, UINT64, INT32, INT64 -> {
                try {
                    yield QemuOpts.parseNumber(value);
                } catch (NumberFormatException e) {
                    throw new OptionException(null, "Parameter '" + name + "' expects integer");
                }
            }
            default -> value;
        };
    }

    /** Fails with the property's refusal when jvmm cannot run with the value. */
    private static void checkSupported(Property p, Object value) {
        if (p.only() != null && !p.only().contains(value)) {
            throw new OptionException(null, p.refusal().replace("VALUE", spelled(value)));
        }
    }

    /** A value as the refusal names it: booleans "on"/"off", sizes and numbers in decimal. */
    private static String spelled(Object v) {
        if (v instanceof Boolean b) {
            return b ? "on" : "off";
        }
        if (v instanceof Long l) {
            return Long.toUnsignedString(l);
        }
        return String.valueOf(v);
    }

    /** QEMU's length check, made before jvmm's own refusal of any OEM id. */
    private static void checkOemLength(String name, String value) {
        int size = name.equals("x-oem-id") ? OEM_ID_SIZE : OEM_TABLE_ID_SIZE;
        if (value.getBytes(StandardCharsets.UTF_8).length > size) {
            throw new OptionException(null, "User specified " + name + " value is bigger than " + size
                    + " bytes in size");
        }
    }

    /** The range checks QEMU's property setters make, in QEMU's words, and the least RAM jvmm boots with. */
    private static void checkValues(Map<String, Object> values) {
        Long below = (Long) values.get("max-ram-below-4g");
        if (below != null) {
            long v = below;
            if (Long.compareUnsigned(v, MAX_RAM_BELOW_4G_LIMIT) > 0) {
                throw new OptionException(null, "Machine option 'max-ram-below-4g=" + Long.toUnsignedString(v)
                        + "' expects size less than or equal to 4G");
            }
            if (v != 0 && v < MIN_RAM_BELOW_4G) {
                throw new OptionException(null, "Machine option 'max-ram-below-4g=" + v + "' is not supported:"
                        + " jvmm needs at least 2 MiB of RAM below 4 GiB");
            }
        }
        Long fw = (Long) values.get("max-fw-size");
        if (fw != null && Long.compareUnsigned(fw, MAX_FW_SIZE_LIMIT) > 0) {
            // QEMU 7.2's text, spelling included.
            throw new OptionException(null, "User specified max allowed firmware size " + Long.toUnsignedString(fw)
                    + " is greater than 16MiB. If combined firwmare size exceeds 16MiB the system may not boot,"
                    + " or experience intermittentstability issues.");
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
