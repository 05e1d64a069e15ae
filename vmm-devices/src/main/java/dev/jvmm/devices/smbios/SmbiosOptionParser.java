package dev.jvmm.devices.smbios;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * QEMU 7.2's -smbios option rules (DMTF SMBIOS 3.x, section 7: which fields each structure type offers):
 * {@code file=} loads a raw blob, {@code type=N} sets fields of structure N, each type with its own
 * accepted keys; state accumulates over the options in order. Used once per command line.
 */
final class SmbiosOptionParser {
    private static final int TYPE_BIOS = 0;
    private static final int TYPE_SYSTEM = 1;
    private static final int TYPE_BASEBOARD = 2;
    private static final int TYPE_CHASSIS = 3;
    private static final int TYPE_PROCESSOR = 4;
    private static final int TYPE_PORT = 8;
    private static final int TYPE_OEM_STRINGS = 11;
    private static final int TYPE_MEMORY_DEVICE = 17;
    private static final int TYPE_ONBOARD_DEVICE = 41;
    /** Type 41 device types in the order of their codes (1 = other); QEMU accepts these names for kind=. */
    private static final List<String> ONBOARD_KINDS = List.of("other", "unknown", "video", "scsi", "ethernet",
            "tokenring", "sound", "pata", "sata", "sas");
    /** Type 41 device type bit 7: the device is enabled. */
    private static final int ONBOARD_ENABLED = 0x80;
    private static final BigInteger U64_LIMIT = BigInteger.ONE.shiftLeft(64);
    private static final long U16_MAX = 0xffff;

    private final Map<Integer, Map<String, String>> strings = new HashMap<>();
    private final Set<Integer> fieldTypes = new HashSet<>();
    private final Set<Integer> binaryTypes = new HashSet<>();
    private SmbiosOptions.Release release;
    private boolean uefi;
    private long processorId;
    private int maxSpeed = SmbiosOptions.DEFAULT_CPU_SPEED;
    private int currentSpeed = SmbiosOptions.DEFAULT_CPU_SPEED;
    private int memorySpeed;
    private final List<SmbiosOptions.Port> ports = new ArrayList<>();
    private final List<SmbiosOptions.OnboardDevice> onboardDevices = new ArrayList<>();
    private final List<byte[]> oemStrings = new ArrayList<>();
    private final List<SmbiosOptions.RawStructure> files = new ArrayList<>();
    private UUID uuid;
    private int uuidOption = -1;

    /** One option as written, in order: keys with their values, duplicates kept (type 11 lists them). */
    private record Opt(String key, String value) {
    }

    /** Applies the index-th -smbios option (0-based, for the UUID's precedence) on top of the earlier ones. */
    void add(int index, String text) {
        String option = "-smbios " + text;
        List<Opt> opts = split(option, text);
        Map<String, String> last = new LinkedHashMap<>();
        opts.forEach(o -> last.put(o.key(), o.value()));
        if (last.containsKey("file")) {
            loadFile(option, opts, last.get("file"));
            return;
        }
        String typeText = last.get("type");
        if (typeText == null) {
            throw new OptionException(option, "Must specify type= or file=");
        }
        long type = strtoul(typeText);
        if (type < 0 || type > SmbiosOptions.MAX_TYPE) {
            throw new OptionException(option, "out of range!");
        }
        int t = (int) type;
        if (binaryTypes.contains(t)) {
            throw new OptionException(option, "can't add fields, binary file already loaded!");
        }
        fieldTypes.add(t);
        switch (t) {
            case TYPE_BIOS -> {
                validate(option, opts, List.of("vendor", "version", "date", "release"), List.of(), List.of("uefi"));
                saveStrings(t, last, "vendor", "version", "date");
                uefi = new QemuOpts(option, null, last).getBool("uefi", false);
                if (last.containsKey("release")) {
                    release = parseRelease(last.get("release"))
                            .orElseThrow(() -> new OptionException(option, "Invalid release"));
                }
            }
            case TYPE_SYSTEM -> {
                validate(option, opts, List.of("manufacturer", "product", "version", "serial", "uuid", "sku",
                        "family"), List.of(), List.of());
                saveStrings(t, last, "manufacturer", "product", "version", "serial", "sku", "family");
                if (last.containsKey("uuid")) {
                    uuid = SmbiosOptions.parseUuid(last.get("uuid"))
                            .orElseThrow(() -> new OptionException(option, "Invalid UUID"));
                    uuidOption = index;
                }
            }
            case TYPE_BASEBOARD -> {
                validate(option, opts, List.of("manufacturer", "product", "version", "serial", "asset",
                        "location"), List.of(), List.of());
                saveStrings(t, last, "manufacturer", "product", "version", "serial", "asset", "location");
            }
            case TYPE_CHASSIS -> {
                validate(option, opts, List.of("manufacturer", "version", "serial", "asset", "sku"),
                        List.of(), List.of());
                saveStrings(t, last, "manufacturer", "version", "serial", "asset", "sku");
            }
            case TYPE_PROCESSOR -> processor(option, opts, last);
            case TYPE_PORT -> {
                validate(option, opts, List.of("internal_reference", "external_reference"),
                        List.of("connector_type", "port_type"), List.of());
                ports.add(new SmbiosOptions.Port(last.get("internal_reference"), last.get("external_reference"),
                        (int) number(option, last, "connector_type", 0) & 0xff,
                        (int) number(option, last, "port_type", 0) & 0xff));
            }
            case TYPE_OEM_STRINGS -> oemStrings(option, opts);
            case TYPE_MEMORY_DEVICE -> {
                validate(option, opts, List.of("loc_pfx", "bank", "manufacturer", "serial", "asset", "part"),
                        List.of("speed"), List.of());
                saveStrings(t, last, "loc_pfx", "bank", "manufacturer", "serial", "asset", "part");
                memorySpeed = (int) (number(option, last, "speed", 0) & U16_MAX);
            }
            case TYPE_ONBOARD_DEVICE -> {
                validate(option, opts, List.of("designation", "kind", "pcidev"), List.of("instance"), List.of());
                String kind = last.get("kind");
                int code = kind == null ? 0 : ONBOARD_KINDS.indexOf(kind);
                if (code < 0) {
                    throw new OptionException(option, "invalid parameter value: " + kind);
                }
                onboardDevices.add(new SmbiosOptions.OnboardDevice(last.get("designation"), (code + 1) | ONBOARD_ENABLED,
                        (int) number(option, last, "instance", 1) & 0xff, last.get("pcidev")));
            }
            default -> throw new OptionException(option,
                    "Don't know how to build fields for SMBIOS type " + t);
        }
    }

    /** What all options so far asked for. */
    SmbiosOptions result() {
        return new SmbiosOptions(strings, fieldTypes, binaryTypes, Optional.ofNullable(release), uefi,
                processorId, maxSpeed, currentSpeed, memorySpeed, ports, onboardDevices, oemStrings, files,
                Optional.ofNullable(uuid), uuidOption);
    }

    private void processor(String option, List<Opt> opts, Map<String, String> last) {
        validate(option, opts, List.of("sock_pfx", "manufacturer", "version", "serial", "asset", "part"),
                List.of("max-speed", "current-speed", "processor-id"), List.of());
        saveStrings(TYPE_PROCESSOR, last, "sock_pfx", "manufacturer", "version", "serial", "asset", "part");
        processorId = number(option, last, "processor-id", 0);
        long max = number(option, last, "max-speed", SmbiosOptions.DEFAULT_CPU_SPEED);
        long current = number(option, last, "current-speed", SmbiosOptions.DEFAULT_CPU_SPEED);
        if (Long.compareUnsigned(max, U16_MAX) > 0 || Long.compareUnsigned(current, U16_MAX) > 0) {
            throw new OptionException(option, "SMBIOS CPU speed is too large (> " + U16_MAX + ")");
        }
        maxSpeed = (int) max;
        currentSpeed = (int) current;
    }

    private void oemStrings(String option, List<Opt> opts) {
        validate(option, opts, List.of("value", "path"), List.of(), List.of());
        for (Opt o : opts) {
            if (o.key().equals("value")) {
                oemStrings.add(o.value().getBytes(StandardCharsets.UTF_8));
            } else if (o.key().equals("path")) {
                oemStrings.add(readOemFile(option, o.value()));
            }
        }
    }

    private static byte[] readOemFile(String option, String path) {
        byte[] data;
        try {
            if (Files.isDirectory(Path.of(path))) {
                throw new OptionException(option, "Unable to read from " + path + ": Is a directory");
            }
            data = Files.readAllBytes(Path.of(path));
        } catch (NoSuchFileException e) {
            throw new OptionException(option, "Could not open '" + path + "': No such file or directory");
        } catch (AccessDeniedException e) {
            throw new OptionException(option, "Could not open '" + path + "': Permission denied");
        } catch (IOException | InvalidPathException e) {
            throw new OptionException(option, "Could not open '" + path + "': " + e.getMessage());
        }
        for (byte b : data) {
            if (b == 0) {
                throw new OptionException(option, "NUL in OEM strings value in " + path);
            }
        }
        return data;
    }

    private void loadFile(String option, List<Opt> opts, String path) {
        for (Opt o : opts) {
            if (!o.key().equals("file")) {
                throw new OptionException(option, "Invalid parameter '" + o.key() + "'");
            }
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of(path));
        } catch (IOException | InvalidPathException e) {
            bytes = null;
        }
        if (bytes == null || bytes.length < SmbiosStructure.HEADER_SIZE) {
            throw new OptionException(option, "Cannot read SMBIOS file " + path);
        }
        SmbiosOptions.RawStructure raw = new SmbiosOptions.RawStructure(path, bytes);
        int type = raw.type();
        if (type <= SmbiosOptions.MAX_TYPE) {
            if (fieldTypes.contains(type)) {
                throw new OptionException(option,
                        "can't load type " + type + " struct, fields already specified!");
            }
            binaryTypes.add(type);
        }
        files.add(raw);
    }

    private void saveStrings(int type, Map<String, String> last, String... names) {
        Map<String, String> fields = strings.computeIfAbsent(type, k -> new HashMap<>());
        for (String name : names) {
            if (last.containsKey(name)) {
                fields.put(name, last.get(name));
            }
        }
    }

    /**
     * QEMU's qemu_opts_validate in option order: every key must be "type" or one of the type's, numbers and
     * booleans must parse.
     */
    private static void validate(String option, List<Opt> opts, List<String> stringKeys, List<String> numberKeys,
                                 List<String> boolKeys) {
        for (Opt o : opts) {
            String k = o.key();
            if (k.equals("type") || numberKeys.contains(k)) {
                parseU64(option, k, o.value());
            } else if (boolKeys.contains(k)) {
                new QemuOpts(option, null, Map.of(k, o.value())).getBool(k, false);
            } else if (!stringKeys.contains(k)) {
                throw new OptionException(option, "Invalid parameter '" + k + "'");
            }
        }
    }

    private static long number(String option, Map<String, String> last, String key, long def) {
        String v = last.get(key);
        return v == null ? def : parseU64(option, key, v);
    }

    /**
     * QEMU's qemu_strtou64 with base 0 on a whole option value: leading white space, an optional sign (a
     * negative number wraps modulo 2^64 as strtoull's does), 0x hex, 0 octal or decimal, nothing after.
     */
    static long parseU64(String option, String key, String value) {
        Prefix p = scan(value);
        if (p == null || p.end != value.length()) {
            throw new OptionException(option, "Parameter '" + key + "' expects a number");
        }
        if (p.magnitude.compareTo(U64_LIMIT) >= 0) {
            throw new OptionException(option, "Value '" + value + "' is too large for parameter '" + key + "'");
        }
        long v = p.magnitude.longValue();
        return p.negative ? -v : v;
    }

    /** C's strtoul(text, NULL, 0) as QEMU reads type=: the leading number, 0 without one, saturated. */
    static long strtoul(String text) {
        Prefix p = scan(text);
        if (p == null) {
            return 0;
        }
        if (p.magnitude.compareTo(U64_LIMIT) >= 0) {
            return -1;
        }
        long v = p.magnitude.longValue();
        return p.negative ? -v : v;
    }

    /** The number strtoull reads from the start of text, with where it stops; null without digits. */
    private record Prefix(BigInteger magnitude, boolean negative, int end) {
    }

    private static Prefix scan(String text) {
        int i = 0;
        while (i < text.length() && isCSpace(text.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
            negative = text.charAt(i) == '-';
            i++;
        }
        int radix = 10;
        if (text.startsWith("0x", i) || text.startsWith("0X", i)) {
            if (i + 2 < text.length() && hexDigit(text.charAt(i + 2), 16) >= 0) {
                radix = 16;
                i += 2;
            }
        } else if (text.startsWith("0", i)) {
            radix = 8;
        }
        int start = i;
        BigInteger m = BigInteger.ZERO;
        BigInteger r = BigInteger.valueOf(radix);
        while (i < text.length() && hexDigit(text.charAt(i), radix) >= 0) {
            m = m.multiply(r).add(BigInteger.valueOf(hexDigit(text.charAt(i), radix)));
            i++;
        }
        return i == start ? null : new Prefix(m, negative, i);
    }

    private static int hexDigit(char c, int radix) {
        return c < 128 ? Character.digit(c, radix) : -1;
    }

    private static boolean isCSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b;
    }

    /** sscanf(text, "%hhu.%hhu") succeeding with both conversions; each value wraps to a byte. */
    static Optional<SmbiosOptions.Release> parseRelease(String text) {
        int[] pos = {0};
        Integer major = scanByte(text, pos);
        if (major == null || pos[0] >= text.length() || text.charAt(pos[0]) != '.') {
            return Optional.empty();
        }
        pos[0]++;
        Integer minor = scanByte(text, pos);
        return minor == null ? Optional.empty() : Optional.of(new SmbiosOptions.Release(major, minor));
    }

    private static Integer scanByte(String text, int[] pos) {
        int i = pos[0];
        while (i < text.length() && isCSpace(text.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
            negative = text.charAt(i) == '-';
            i++;
        }
        int start = i;
        long v = 0;
        while (i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            v = Math.min(v * 10 + (text.charAt(i) - '0'), Long.MAX_VALUE / 16);
            i++;
        }
        if (i == start) {
            return null;
        }
        pos[0] = i;
        return (int) ((negative ? -v : v) & 0xff);
    }

    /**
     * The option's keys and values in order: QEMU's k=v syntax with ",," for a comma; a bare key is key=on,
     * "nokey" is key=off; "" has no keys at all.
     */
    private static List<Opt> split(String option, String text) {
        List<Opt> opts = new ArrayList<>();
        if (text.isEmpty()) {
            return opts;
        }
        QemuOpts.parse(option, text, null); // QEMU's errors for empty keys
        for (String part : QemuOpts.splitCommas(text)) {
            int eq = part.indexOf('=');
            if (part.isEmpty()) {
                continue; // only a trailing comma gets here: QemuOpts.parse refused the others
            } else if (eq >= 0) {
                opts.add(new Opt(part.substring(0, eq), part.substring(eq + 1)));
            } else if (part.startsWith("no") && part.length() > 2) {
                opts.add(new Opt(part.substring(2), "off"));
            } else {
                opts.add(new Opt(part, "on"));
            }
        }
        return opts;
    }
}
