package dev.jvmm.kvm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest CPU: a QEMU 7.2 model ("qemu64", "Skylake-Client", "EPYC-Rome", "host", "max", ...) with
 * -cpu's settings and edits, filtered by what KVM supports, and the -smp topology. Produces each vCPU's
 * CPUID table and the feature MSRs to set. Immutable.
 */
public final class CpuModel {
    /** The model when -cpu is absent, as in QEMU. */
    public static final String DEFAULT = "qemu64";

    /** A -cpu value QEMU refuses; the warnings QEMU prints before the error come with it. */
    public static final class CpuError extends IllegalArgumentException {
        private final List<String> warnings;

        CpuError(String message, List<String> warnings) {
            super(message);
            this.warnings = List.copyOf(warnings);
        }

        public List<String> warnings() {
            return warnings;
        }
    }

    private static final class Tables {
        static final CpuTable TABLE = CpuTable.load();
    }

    private final CpuTable table;
    private final HostCpu host;
    private final CpuOptions options;
    private final CpuIdentity identity;
    private final long[] filtered;
    private final Map<String, Object> values;
    private final List<CpuidEntry> base;
    private final CpuTopology topology;
    private final List<String> warnings;

    CpuModel(CpuTable table, HostCpu host, CpuOptions options, CpuIdentity identity, long[] filtered,
             Map<String, Object> values, CpuTopology topology, List<String> warnings) {
        this.table = table;
        this.host = host;
        this.options = options;
        this.identity = identity;
        this.filtered = filtered.clone();
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.topology = topology;
        this.warnings = List.copyOf(warnings);
        this.base = List.copyOf(CpuidEncoder.encode(identity, host, table));
    }

    /** The shipped model table. */
    public static CpuTable table() {
        return Tables.TABLE;
    }

    /** -cpu help, as QEMU 7.2 prints it for the models jvmm has. */
    public static String help() {
        return table().helpText();
    }

    /**
     * Parses a -cpu value over a host. Errors are {@link IllegalArgumentException}s carrying QEMU's one-line
     * message ({@link CpuError} where QEMU prints warnings first).
     */
    public static CpuModel parse(String spec, HostCpu host, CpuTopology topology) {
        return new CpuResolver(table(), host, spec).resolve(topology);
    }

    /** Parses over a bare supported-CPUID table (no feature MSRs, no brand string). */
    public static CpuModel parse(String spec, CpuidEntry[] supported, CpuTopology topology) {
        return parse(spec, HostCpu.of(supported), topology);
    }

    /** Warnings for the CLI to print, one line each, in QEMU's order and text (without the program name). */
    public List<String> warnings() {
        return warnings;
    }

    /** The model name as -cpu gave it ("qemu64", "Skylake-Client", "host"): QEMU names the vCPU type after it. */
    public String name() {
        return options.model();
    }

    /** The QOM type of each vCPU object: "qemu64-x86_64-cpu" for -cpu qemu64. */
    public String typeName() {
        return CpuTypes.typeName(name());
    }

    /** The -cpu value split into its settings. */
    public CpuOptions options() {
        return options;
    }

    /** The bits KVM's filter took away, per feature word (QEMU's filtered_features). */
    public long[] filtered() {
        return filtered.clone();
    }

    /**
     * The CPU object's non-feature property values that -cpu set or QEMU's realize fills in (identity,
     * levels, phys-bits, pmu, ucode-rev, ...), by property name; Boolean, Long or String. Properties absent
     * here hold their declared default ({@link CpuTypes}).
     */
    public Map<String, Object> propertyValues() {
        return values;
    }

    /** The table the model was resolved with. */
    public CpuTable cpuTable() {
        return table;
    }

    public CpuTopology topology() {
        return topology;
    }

    public CpuIdentity identity() {
        return identity;
    }

    /** True when every bit of the feature (QEMU name or alias) is on. */
    public boolean has(String feature) {
        if (table.feature(feature) == null) {
            throw new IllegalArgumentException("unknown CPU feature '" + feature + "'");
        }
        return identity.has(table, feature);
    }

    /**
     * The feature MSRs each vCPU gets, as (index, value) pairs: IA32_ARCH_CAPABILITIES when the
     * arch-capabilities bit (CPUID.07H:EDX[29]) is on. QEMU writes it from its ARCH_CAPABILITIES word.
     */
    public List<long[]> featureMsrs() {
        List<long[]> out = new ArrayList<>();
        if (has("arch-capabilities")) {
            out.add(new long[] {HostCpu.MSR_IA32_ARCH_CAPABILITIES,
                    identity.features()[table.word("ARCH_CAPABILITIES").index()]});
        }
        return out;
    }

    /** This model with a feature off (and what depends on it), for a feature KVM refused at vCPU setup. */
    public CpuModel without(String feature) {
        long[] f = identity.features().clone();
        for (CpuTable.Bit b : table.feature(feature)) {
            f[b.word()] &= ~(1L << b.bit());
        }
        if (feature.equals("arch-capabilities")) {
            f[table.word("ARCH_CAPABILITIES").index()] = 0;
        }
        CpuIdentity c = identity;
        CpuIdentity d = new CpuIdentity(c.vendor(), c.family(), c.model(), c.stepping(), c.level(), c.xlevel(),
                c.xlevel2(), c.modelId(), f, c.physBits(), c.pmu(), c.kvmLeaves());
        return new CpuModel(table, host, options, d, filtered, values, topology, warnings);
    }

    /** The CPUID table for vCPU index: APIC IDs and topology counts filled in. */
    public List<CpuidEntry> entriesFor(int index) {
        int apicId = topology.apicId(index);
        int logical = topology.cores() * topology.threads();
        int threadBits = topology.threadBits();
        int pkgBits = topology.coreBits() + threadBits;
        boolean intel = identity.vendor().equals("GenuineIntel");
        List<CpuidEntry> out = new ArrayList<>();
        for (CpuidEntry e : base) {
            switch (e.function()) {
                case CpuidEncoder.LEAF_VERSION -> {
                    int ebx = (e.ebx() & 0x0000ffff) | (apicId << 24);
                    int edx = e.edx();
                    if (logical > 1) {
                        ebx |= Math.min(logical, 255) << 16;
                        edx |= 1 << 28;
                    }
                    out.add(e.withRegs(e.eax(), ebx, e.ecx(), edx));
                }
                case CpuidEncoder.LEAF_CACHE_PARAMS -> {
                    if ((e.eax() & 0x1f) == 0) {
                        out.add(e);
                    } else {
                        int level = (e.eax() >>> 5) & 7;
                        int sharing = level >= 3 ? logical - 1 : topology.threads() - 1;
                        int eax = (e.eax() & 0x3fff) | ((sharing & 0xfff) << 14) | (((topology.cores() - 1) & 0x3f) << 26);
                        out.add(e.withRegs(eax, e.ebx(), e.ecx(), e.edx()));
                    }
                }
                case CpuidEncoder.LEAF_TOPOLOGY -> {
                    // Extended topology: subleaf 0 is the SMT level, 1 the core level, 2 an invalid level that
                    // ends the list; EDX is the x2APIC ID.
                    int sig = KvmIoctls.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
                    out.add(new CpuidEntry(e.function(), 0, sig, threadBits, topology.threads(), (1 << 8), apicId));
                    out.add(new CpuidEntry(e.function(), 1, sig, pkgBits, logical, (2 << 8) | 1, apicId));
                    out.add(new CpuidEntry(e.function(), 2, sig, 0, 0, 2, apicId));
                }
                case CpuidEncoder.LEAF_EXT_FEATURES -> out.add(logical > 1 && !intel
                        ? e.withReg(CpuidReg.ECX, e.ecx() | (1 << 1)) : e);
                // ECX (AMD APM vol. 3, E.4.7): ApicIdSize in bits 15:12 (the APIC ID bits below the package
                // field) and NC in 7:0 (threads per package minus one), as QEMU fills it for every vendor.
                case CpuidEncoder.LEAF_ADDRESS_SIZES -> out.add(logical > 1
                        ? e.withReg(CpuidReg.ECX, (pkgBits << 12) | (logical - 1)) : e);
                default -> out.add(e);
            }
        }
        return out;
    }
}
