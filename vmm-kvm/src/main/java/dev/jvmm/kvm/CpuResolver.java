package dev.jvmm.kvm;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    private static final Set<String> BOOL_PROPERTIES = Set.of("kvm", "check", "enforce", "pmu", "l3-cache",
            "host-phys-bits", "cpuid-0xb", "fill-mtrr-mask", "full-cpuid-auto-level", "legacy-cache",
            "vmware-cpuid-freq", "lmce", "tcg-cpuid", "kvm-no-smi-migration", "kvm-pv-enforce-cpuid",
            "x-force-features", "x-hv-synic-kvm-only", "x-intel-pt-auto-level", "x-migrate-smi-count",
            "x-vendor-cpuid-only", "start-powered-off");
    private static final Set<String> HOST_BOOL_PROPERTIES = Set.of("migratable", "host-cache-info");
    private static final Set<String> INT_PROPERTIES = Set.of("family", "model", "stepping", "tsc-frequency",
            "core-id", "die-id", "node-id", "socket-id", "thread-id", "x-hv-max-vps");
    private static final Set<String> UINT_PROPERTIES = Set.of("level", "xlevel", "xlevel2", "min-level",
            "min-xlevel", "min-xlevel2", "level-func7", "phys-bits", "host-phys-bits-limit", "apic-id",
            "hv-spinlocks", "hv-version-id-build", "hv-version-id-major", "hv-version-id-minor",
            "hv-version-id-sbranch", "hv-version-id-snumber", "hv-version-id-spack", "lbr-fmt", "ucode-rev");
    /** QEMU's description of each Hyper-V enlightenment, quoted when KVM (here: jvmm) cannot give it. */
    private static final String[][] HYPERV = {
        {"relaxed", "relaxed timing"}, {"vapic", "virtual APIC"}, {"time", "clocksources"},
        {"crash", "crash MSRs"}, {"reset", "reset"}, {"vpindex", "VP_INDEX MSR"}, {"runtime", "VP_RUNTIME"},
        {"synic", "synthetic interrupt controller"}, {"stimer", "synthetic timers"},
        {"frequencies", "frequency MSRs"}, {"reenlightenment", "reenlightenment MSRs"},
        {"tlbflush", "paravirtualized TLB flush"}, {"evmcs", "enlightened VMCS"}, {"ipi", "paravirtualized IPI"},
        {"stimer-direct", "direct mode synthetic timers"}, {"avic", "AVIC/APICv support"},
        {"apicv", "AVIC/APICv support"}, {"syndbg", "Enlightened Syndbg"},
        {"emsr-bitmap", "enlightened MSR-Bitmap"}, {"xmm-input", "XMM fast hypercall input"},
        {"tlbflush-ext", "Extended gva ranges for flush hypercalls"},
        {"tlbflush-direct", "direct TLB flush"}, {"passthrough", "passthrough"},
        {"enforce-cpuid", "enforce-cpuid"}};
    private static final int PHYS_BITS_MAX = 52;

    private final CpuTable table;
    private final HostCpu host;
    private final CpuOptions opts;
    private final CpuDefinition def;
    private final long[] features;
    private final long[] user;
    private final List<String> warnings = new ArrayList<>();
    private final List<String> hyperv = new ArrayList<>();
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
        if (!hyperv.isEmpty()) {
            String hv = hyperv.get(0);
            String what = hv;
            for (String[] h : HYPERV) {
                if (hv.equals("hv-" + h[0])) {
                    what = h[1];
                }
            }
            throw new CpuModel.CpuError("Hyper-V " + what + " (requested by '" + hv
                    + "' cpu flag) is not supported by kernel", warnings);
        }
        CpuIdentity id = new CpuIdentity(vendor, family, model, stepping, level, xlevel, xlevel2, modelId,
                features, phys, pmu, kvm);
        return new CpuModel(table, host, id, topology, warnings);
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

    private void set(String name, String value) {
        List<CpuTable.Bit> bits = table.feature(name);
        if (bits != null) {
            setBits(bits, bool(name, value));
            return;
        }
        if (name.startsWith("hv-") && !name.equals("hv-vendor-id") && !name.equals("hv-no-nonarch-coresharing")
                && !UINT_PROPERTIES.contains(name)) {
            if (!known(name)) {
                throw notFound(name);
            }
            if (bool(name, value)) {
                hyperv.add(name);
            } else {
                hyperv.remove(name);
            }
            return;
        }
        if (BOOL_PROPERTIES.contains(name) || (def.hostDerived() && HOST_BOOL_PROPERTIES.contains(name))) {
            boolean on = bool(name, value);
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
            return;
        }
        if (INT_PROPERTIES.contains(name)) {
            long v = number(name, value, "int64");
            switch (name) {
                case "family" -> family = (int) range(name, v, 0xff + 0xf);
                case "model" -> model = (int) range(name, v, 0xff);
                case "stepping" -> stepping = (int) range(name, v, 0xf);
                default -> { }
            }
            return;
        }
        if (UINT_PROPERTIES.contains(name)) {
            int v = (int) unsigned(name, value);
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
            return;
        }
        switch (name) {
            case "vendor" -> {
                if (value.length() != 12) {
                    throw new IllegalArgumentException("Property '.vendor' doesn't take value '" + value + "'");
                }
                vendor = value;
            }
            case "model-id" -> modelId = value;
            case "hv-vendor-id", "hv-no-nonarch-coresharing" -> { }
            default -> throw notFound(name);
        }
    }

    private static boolean known(String hv) {
        for (String[] h : HYPERV) {
            if (hv.equals("hv-" + h[0])) {
                return true;
            }
        }
        return false;
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

    /** Unsigned properties narrower than QEMU's default uint32_t; lbr-fmt and ucode-rev are uint64. */
    private static final Map<String, Integer> UINT_BITS = Map.of("host-phys-bits-limit", 8,
            "hv-version-id-sbranch", 8, "hv-version-id-major", 16, "hv-version-id-minor", 16, "lbr-fmt", 64,
            "ucode-rev", 64);

    /**
     * An unsigned property as QEMU's string visitor reads it: strtoull's syntax (0x hex, leading-0 octal, a
     * minus sign wraps), "expects uint64" for what is no number, then "expects uintN_t" above the width.
     */
    private static long unsigned(String name, String value) {
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
        int bits = UINT_BITS.getOrDefault(name, 32);
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
        if (BOOL_PROPERTIES.contains(name) || (def.hostDerived() && HOST_BOOL_PROPERTIES.contains(name))
                || (name.startsWith("hv-") && known(name))) {
            set(name, on ? "on" : "off");
            return;
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
