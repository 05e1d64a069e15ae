package dev.jvmm.kvm;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves a -cpu value against a host in QEMU 7.2's order: the model, the settings, the +/- edits, the
 * features a host-derived model takes from KVM, the feature dependencies, the CPUID levels the features
 * need, then KVM's filter with QEMU's warnings. Errors are {@link IllegalArgumentException}s whose message
 * is QEMU's text; warnings come back without the program-name prefix.
 */
final class CpuResolver {
    /** "feature:target" pairs: when the feature is off, the target (a word, or feature names) goes too. */
    private static final String[] DEPENDENCIES = {
        "arch-capabilities:ARCH_CAPABILITIES", "core-capability:CORE_CAPABILITY", "pdcm:PERF_CAPABILITIES",
        "vmx:VMX_PROCBASED_CTLS", "vmx:VMX_PINBASED_CTLS", "vmx:VMX_EXIT_CTLS", "vmx:VMX_ENTRY_CTLS",
        "vmx:VMX_MISC", "vmx:VMX_BASIC", "lm:vmx-entry-ia32e-mode", "vmx-secondary-ctls:VMX_SECONDARY_CTLS",
        "xsaves:vmx-xsaves", "rdrand:vmx-rdrand-exit", "invpcid:vmx-invpcid-exit",
        "mpx:vmx-exit-clear-bndcfgs", "mpx:vmx-entry-load-bndcfgs", "rdseed:vmx-rdseed-exit",
        "intel-pt:14_0_ECX", "rdtscp:vmx-rdtscp-exit", "vmx-ept:VMX_EPT_VPID_CAPS/lo",
        "vmx-ept:vmx-unrestricted-guest", "vmx-vpid:VMX_EPT_VPID_CAPS/hi", "vmx-vmfunc:VMX_VMFUNC",
        "svm:SVM", "sgx:sgxlc", "sgx:SGX_12_0_EAX", "sgx:SGX_12_0_EBX", "sgx:SGX_12_1_EAX"};
    private static final int PHYS_BITS_MAX = 52;
    /** IA32_UCODE_REV (Intel SDM vol. 4, table 2-2), a feature MSR KVM reports. */
    private static final int MSR_IA32_UCODE_REV = 0x8b;

    private final CpuTable table;
    private final HostCpu host;
    private final CpuOptions opts;
    private final CpuDefinition def;
    private final long[] features;
    private final long[] filtered;
    private final long[] user;
    private final List<String> warnings = new ArrayList<>();
    private final List<String> hyperv = new ArrayList<>();
    private final Map<String, Object> values = new LinkedHashMap<>();
    private String vendor;
    private int family;
    private int model;
    private int stepping;
    private String modelId;
    private Integer level;
    private Integer xlevel;
    private Integer xlevel2;
    private int minLevel;
    private int minXlevel;
    private int minXlevel2;
    private int physBits;
    private boolean hostPhysBits;
    private boolean pmu;
    private boolean kvm = true;
    private boolean check = true;
    private boolean enforce;
    private boolean migratable = true;
    private boolean autoLevel = true;

    CpuResolver(CpuTable table, HostCpu host, String spec) {
        this.table = table;
        this.host = host;
        this.opts = CpuOptions.parse(spec);
        this.def = table.model(opts.model());
        if (def == null) {
            throw new IllegalArgumentException("unable to find CPU model '" + opts.model() + "'");
        }
        int n = table.words().size();
        features = def.hostDerived() ? new long[n] : def.features().clone();
        user = new long[n];
        filtered = new long[n];
        vendor = host.vendor();
        if (def.hostDerived()) {
            int eax = host.reg(1, 0, CpuidReg.EAX);
            int baseFamily = (eax >>> 8) & 0xf;
            family = baseFamily == 0xf ? baseFamily + ((eax >>> 20) & 0xff) : baseFamily;
            model = ((eax >>> 4) & 0xf) | (((eax >>> 16) & 0xf) << 4);
            stepping = eax & 0xf;
            modelId = host.brand();
            minLevel = host.reg(0, 0, CpuidReg.EAX);
            minXlevel = host.reg(0x80000000, 0, CpuidReg.EAX);
            minXlevel2 = host.reg(0xc0000000, 0, CpuidReg.EAX);
            hostPhysBits = true;
            pmu = true;
        } else {
            family = def.family();
            model = def.model();
            stepping = def.stepping();
            modelId = def.modelId();
            minLevel = def.level();
            minXlevel = def.xlevel();
            minXlevel2 = def.xlevel2();
        }
    }

    /** Runs every step; the result's warnings are in QEMU's order. */
    CpuModel resolve(CpuTopology topology) {
        for (String[] s : opts.settings()) {
            try {
                set(s[0], s[1]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("can't apply global " + opts.typeName() + "." + s[0] + "="
                        + s[1] + ": " + e.getMessage(), e);
            }
        }
        for (String f : opts.plus()) {
            setFeature(f, true);
        }
        for (String f : opts.minus()) {
            setFeature(f, false);
        }
        if (def.hostDerived()) {
            for (FeatureWord w : table.words()) {
                long allowed = host.supported(w, table) & ~noAutoEnable(w);
                if (migratable) {
                    allowed &= w.namedMask() & ~unmigratable(w);
                }
                features[w.index()] |= allowed & ~user[w.index()];
            }
        }
        dependencies();
        xsaveComponents();
        adjustLevels();
        filter();
        if (vendor.equals("AuthenticAMD")) {
            int edx = table.word("8000_0001_EDX").index();
            features[edx] = (features[edx] & ~CpuidEncoder.AMD_ALIASES)
                    | (features[table.word("1_EDX").index()] & CpuidEncoder.AMD_ALIASES);
        }
        int phys = physBits(host.physBits());
        Map<String, Object> realized = realizedValues(phys);
        if (!hyperv.isEmpty()) {
            String hv = hyperv.get(0);
            String what = CpuTypes.hyperv(hv).map(CpuTypes.Hyperv::description).orElse(hv);
            throw new CpuModel.CpuError("Hyper-V " + what + " (requested by '" + hv
                    + "' cpu flag) is not supported by kernel", warnings);
        }
        CpuIdentity id = new CpuIdentity(vendor, family, model, stepping, level, xlevel, xlevel2, modelId,
                features, phys, pmu, kvm);
        return new CpuModel(table, host, opts, id, filtered, realized, topology, warnings);
    }

    private static long noAutoEnable(FeatureWord w) {
        return switch (w.name()) {
            case "1_EDX" -> 1L << 28;
            case "8000_0001_ECX" -> 1L << 22;
            case "KVM_HINTS" -> ~0L;
            default -> 0;
        };
    }

    private static long unmigratable(FeatureWord w) {
        return w.name().equals("8000_0007_EDX") ? 1L << 8 : 0;
    }

    /**
     * One name=value setting: a feature, a Hyper-V enlightenment, or another property of the model's type
     * ({@link CpuTypes}), read as QEMU's string visitor reads it.
     */
    private void set(String name, String value) {
        List<CpuTable.Bit> bits = table.feature(name);
        if (bits != null) {
            setBits(bits, bool(name, value));
            return;
        }
        if (CpuTypes.hyperv(name).isPresent()) {
            boolean on = bool(name, value);
            if (on) {
                hyperv.add(name);
            } else {
                hyperv.remove(name);
            }
            values.put(name, on);
            return;
        }
        Property p = CpuTypes.property(name, def.hostDerived()).orElseThrow(() -> notFound(name));
        if (!p.settable()) {
            // QEMU's link setter looks the value up as an object path; the views have no setter.
            throw new IllegalArgumentException(name.equals("memory") ? "Device '" + value + "' not found"
                    : "Property '" + opts.typeName() + "." + name + "' is not writable");
        }
        switch (p.type().kind()) {
            case BOOL -> {
                boolean on = bool(name, value);
                setBool(name, on);
                values.put(name, on);
            }
            case INT32, INT64 -> {
                long v = number(name, value, "int64");
                switch (name) {
                    case "family" -> family = (int) range(name, v, 0xff + 0xf);
                    case "model" -> model = (int) range(name, v, 0xff);
                    case "stepping" -> stepping = (int) range(name, v, 0xf);
                    default -> { }
                }
                values.put(name, v);
            }
            case UINT8, UINT16, UINT32, UINT64 -> {
                long v = unsigned(name, value, p.type().kind());
                setUnsigned(name, (int) v);
                values.put(name, v);
            }
            case STR, ENUM -> {
                try {
                    values.put(name, p.type().parseGlobal(opts.typeName(), name, value));
                } catch (PropertyException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
                if (name.equals("vendor")) {
                    if (value.length() != 12) {
                        throw new IllegalArgumentException("Property '.vendor' doesn't take value '" + value + "'");
                    }
                    vendor = value;
                } else if (name.equals("model-id")) {
                    modelId = value;
                }
            }
            default -> { }
        }
    }

    /**
     * The values QEMU's CPU object shows once realized, where they differ from the settings: identity and
     * levels as resolved, and what QEMU's realize fills in for unset properties.
     */
    private Map<String, Object> realizedValues(int phys) {
        Map<String, Object> v = new LinkedHashMap<>(values);
        v.put("family", (long) family);
        v.put("model", (long) model);
        v.put("stepping", (long) stepping);
        v.put("model-id", modelId);
        v.put("vendor", vendor);
        v.put("level", Integer.toUnsignedLong(level));
        v.put("xlevel", Integer.toUnsignedLong(xlevel));
        v.put("xlevel2", Integer.toUnsignedLong(xlevel2));
        v.put("min-level", Integer.toUnsignedLong(minLevel));
        v.put("min-xlevel", Integer.toUnsignedLong(minXlevel));
        v.put("min-xlevel2", Integer.toUnsignedLong(minXlevel2));
        // Leaf 7's subleaf count: 1 where a 7_1 feature is on and the level follows the features.
        v.computeIfAbsent("level-func7", k -> autoLevel && features[table.word("7_1_EAX").index()] != 0 ? 1L : 0L);
        v.put("phys-bits", (long) phys);
        v.put("pmu", pmu);
        v.put("host-phys-bits", hostPhysBits);
        v.putIfAbsent("legacy-cache", def.legacyCache());
        v.putIfAbsent("hv-vendor-id", "Microsoft Hv");
        // ~PERF_CAP_LBR_FMT: QEMU's "not set" marker, which qom-get shows as it is.
        v.putIfAbsent("lbr-fmt", ~0x3fL);
        if ((long) v.getOrDefault("ucode-rev", 0L) == 0) {
            // KVM's microcode revision for host-derived models, else QEMU's fixed default per vendor.
            long rev = def.hostDerived() ? host.featureMsrs().getOrDefault(MSR_IA32_UCODE_REV, 0L) : 0;
            v.put("ucode-rev", rev != 0 ? rev : vendor.equals("AuthenticAMD") ? 0x01000065L : 0x1_0000_0000L);
        }
        return v;
    }

    private void setBool(String name, boolean on) {
        switch (name) {
            case "kvm" -> kvm = on;
            case "check" -> check = on;
            case "enforce" -> enforce = on;
            case "pmu" -> pmu = on;
            case "host-phys-bits" -> hostPhysBits = on;
            case "migratable" -> migratable = on;
            case "full-cpuid-auto-level" -> autoLevel = on;
            default -> { }
        }
    }

    private void setUnsigned(String name, int v) {
        switch (name) {
            case "level" -> level = v;
            case "xlevel" -> xlevel = v;
            case "xlevel2" -> xlevel2 = v;
            case "min-level" -> minLevel = v;
            case "min-xlevel" -> minXlevel = v;
            case "min-xlevel2" -> minXlevel2 = v;
            case "phys-bits" -> physBits = v;
            default -> { }
        }
    }

    private IllegalArgumentException notFound(String name) {
        return new IllegalArgumentException("Property '" + opts.typeName() + "." + name + "' not found");
    }

    private static boolean bool(String name, String value) {
        return switch (value) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new IllegalArgumentException("Parameter '" + name + "' expects 'on' or 'off'");
        };
    }

    private static long number(String name, String value, String type) {
        try {
            return Long.decode(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects " + type);
        }
    }

    /**
     * An unsigned property as QEMU's string visitor reads it: strtoull's syntax (0x hex, leading-0 octal, a
     * minus sign wraps), "expects uint64" for what is no number, then "expects uintN_t" above the width.
     */
    private static long unsigned(String name, String value, PropType.Kind kind) {
        String digits = value;
        boolean negative = digits.startsWith("-");
        if (negative || digits.startsWith("+")) {
            digits = digits.substring(1);
        }
        int radix = 10;
        if (digits.startsWith("0x") || digits.startsWith("0X")) {
            radix = 16;
            digits = digits.substring(2);
        } else if (digits.length() > 1 && digits.startsWith("0")) {
            radix = 8;
            digits = digits.substring(1);
        }
        BigInteger magnitude;
        try {
            magnitude = new BigInteger(digits, radix);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects uint64");
        }
        if (magnitude.signum() < 0 || magnitude.bitLength() > 64) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects uint64");
        }
        long v = negative ? -magnitude.longValue() : magnitude.longValue();
        int bits = switch (kind) {
            case UINT8 -> 8;
            case UINT16 -> 16;
            case UINT32 -> 32;
            default -> 64;
        };
        if (bits < 64 && Long.compareUnsigned(v, (1L << bits) - 1) > 0) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects uint" + bits + "_t");
        }
        return v;
    }

    private static long range(String name, long v, long max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("Property ." + name + " doesn't take value " + v
                    + " (minimum: 0, maximum: " + max + ")");
        }
        return v;
    }

    /** A legacy +feat/-feat edit: features and boolean properties, QEMU's plain error for anything else. */
    private void setFeature(String raw, boolean on) {
        List<CpuTable.Bit> bits = table.feature(raw);
        if (bits != null) {
            setBits(bits, on);
            return;
        }
        String name = raw.replace('_', '-');
        Property p = CpuTypes.property(name, def.hostDerived()).orElse(null);
        boolean settableBool = p != null && p.settable() && p.type().kind() == PropType.Kind.BOOL;
        if (CpuTypes.hyperv(name).isPresent() || settableBool) {
            set(name, on ? "on" : "off");
            return;
        }
        if (p != null && !p.settable()) {
            throw new IllegalArgumentException(name.equals("memory")
                    ? "Invalid parameter type for 'memory', expected: string"
                    : "Property '" + opts.typeName() + "." + name + "' is not writable");
        }
        throw notFound(raw);
    }

    private void setBits(List<CpuTable.Bit> bits, boolean on) {
        for (CpuTable.Bit b : bits) {
            long m = 1L << b.bit();
            features[b.word()] = on ? features[b.word()] | m : features[b.word()] & ~m;
            user[b.word()] |= m;
        }
    }

    private void dependencies() {
        for (String d : DEPENDENCIES) {
            String from = d.substring(0, d.indexOf(':'));
            String to = d.substring(d.indexOf(':') + 1);
            boolean fromOn = true;
            for (CpuTable.Bit b : table.feature(from)) {
                fromOn &= (features[b.word()] & (1L << b.bit())) != 0;
            }
            if (fromOn) {
                continue;
            }
            List<CpuTable.Bit> targets = table.feature(to);
            if (targets != null) {
                for (CpuTable.Bit b : targets) {
                    drop(b.word(), 1L << b.bit());
                }
            } else {
                String[] w = to.split("/");
                long mask = w.length == 1 ? ~0L : w[1].equals("lo") ? 0xffffffffL : 0xffffffff00000000L;
                drop(table.word(w[0]).index(), mask);
            }
        }
    }

    private void drop(int word, long mask) {
        long gone = features[word] & mask;
        long explicit = gone & user[word];
        FeatureWord w = table.words().get(word);
        for (int bit = 0; bit < 64; bit++) {
            if ((explicit & (1L << bit)) != 0) {
                warnings.add(warning("This feature depends on other features that were not requested", w, bit));
            }
        }
        features[word] &= ~mask;
        user[word] |= gone;
    }

    private static String warning(String prefix, FeatureWord w, int bit) {
        String name = w.bitNames().get(bit);
        return prefix + ": " + w.describe() + (name != null ? "." + name : "") + " [bit " + bit + "]";
    }

    /**
     * The XSAVE state components (CPUID.0DH:EAX/EDX) the features need, computed before the filter as QEMU
     * does, so that a component KVM lacks gets its own warning (Intel SDM vol. 1, 13.1).
     */
    private void xsaveComponents() {
        long mask = 0;
        if ((features[table.word("1_ECX").index()] & (1L << 26)) != 0) {
            mask = 3;
            for (int i = 0; i < CpuidEncoder.XSAVE_FEATURES.length; i++) {
                boolean on = true;
                for (CpuTable.Bit b : table.feature(CpuidEncoder.XSAVE_FEATURES[i])) {
                    on &= (features[b.word()] & (1L << b.bit())) != 0;
                }
                if (on) {
                    for (int comp : CpuidEncoder.XSAVE_COMPONENTS[i]) {
                        mask |= 1L << comp;
                    }
                }
            }
        }
        features[table.word("XSAVE_COMP_LO").index()] = mask & 0xffffffffL;
        features[table.word("XSAVE_COMP_HI").index()] = mask >>> 32;
    }

    /** CPUID levels: the model's, raised to the leaves the requested features live in (QEMU's auto-level). */
    private void adjustLevels() {
        if (autoLevel) {
            for (FeatureWord w : table.words()) {
                if (w.msr() || features[w.index()] == 0 || w.name().startsWith("XSAVE_COMP")
                        || w.name().startsWith("XSAVE_XSS")) {
                    continue;
                }
                switch (w.leaf() & 0xf0000000) {
                    case 0 -> minLevel = maxUnsigned(minLevel, w.leaf());
                    case 0x80000000 -> minXlevel = maxUnsigned(minXlevel, w.leaf());
                    case 0xc0000000 -> minXlevel2 = maxUnsigned(minXlevel2, w.leaf());
                    default -> { }
                }
            }
            if ((features[table.word("8000_0001_ECX").index()] & (1L << 2)) != 0) {
                minXlevel = maxUnsigned(minXlevel, CpuidEncoder.LEAF_SVM);
            }
        }
        level = level != null ? level : minLevel;
        xlevel = xlevel != null ? xlevel : minXlevel;
        xlevel2 = xlevel2 != null ? xlevel2 : minXlevel2;
    }

    private static int maxUnsigned(int a, int b) {
        return Integer.compareUnsigned(a, b) >= 0 ? a : b;
    }

    /** KVM's filter: each requested bit the host cannot give is dropped, with QEMU's warning. */
    private void filter() {
        boolean dropped = false;
        for (FeatureWord w : table.words()) {
            long missing = features[w.index()] & ~host.supported(w, table);
            for (int bit = 0; bit < 64; bit++) {
                if ((missing & (1L << bit)) != 0) {
                    dropped = true;
                    if (check || enforce) {
                        warnings.add(warning("host doesn't support requested feature", w, bit));
                    }
                }
            }
            features[w.index()] &= ~missing;
            filtered[w.index()] |= missing;
        }
        if (enforce && dropped) {
            throw new CpuModel.CpuError("Host doesn't support requested features", warnings);
        }
    }

    private int physBits(int hostBits) {
        int bits = physBits;
        if (hostPhysBits) {
            bits = hostBits;
        } else if (bits != 0 && bits != hostBits) {
            warnings.add("Host physical bits (" + hostBits + ") does not match phys-bits property (" + bits + ")");
        }
        if ((features[table.word("8000_0001_EDX").index()] & (1L << 29)) != 0) {
            if (bits != 0 && (bits > PHYS_BITS_MAX || bits < 32)) {
                throw new CpuModel.CpuError("phys-bits should be between 32 and " + PHYS_BITS_MAX
                        + "  (but is " + bits + ")", warnings);
            }
            return bits == 0 ? 40 : bits;
        }
        return (features[table.word("1_EDX").index()] & (1L << 17)) != 0 ? 36 : 32;
    }
}
