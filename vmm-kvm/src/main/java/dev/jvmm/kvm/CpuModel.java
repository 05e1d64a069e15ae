package dev.jvmm.kvm;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest CPU: KVM's supported CPUID ("-cpu host") with +feat/-feat/feat=on|off edits and the -smp
 * topology, producing each vCPU's CPUID table. Immutable.
 */
public final class CpuModel {
    /** "KVMKVMKVM\0\0\0" as EBX, ECX, EDX of leaf 0x4000_0000, the signature KVM guests probe for. */
    private static final int KVM_SIG_EBX = 0x4b4d564b;
    private static final int KVM_SIG_ECX = 0x564b4d56;
    private static final int KVM_SIG_EDX = 0x4d;
    private static final int KVM_CPUID_SIGNATURE = 0x40000000;
    private static final int KVM_CPUID_FEATURES = 0x40000001;

    private final List<CpuidEntry> base;
    private final CpuTopology topology;
    /** False with kvm=off: the 0x4000_00xx leaves are hidden, as QEMU does. */
    private final boolean kvmSignature;

    private final List<String> warnings;

    private CpuModel(List<CpuidEntry> base, CpuTopology topology, boolean kvmSignature, List<String> warnings) {
        this.warnings = List.copyOf(warnings);
        this.base = List.copyOf(base);
        this.topology = topology;
        this.kvmSignature = kvmSignature;
    }

    /**
     * Parses a -cpu value ("host", "host,+avx,-x2apic,rdrand=off", "max" is taken as host) over the
     * supported CPUID. Errors are {@link IllegalArgumentException}s with a one-line message.
     */
    public static CpuModel parse(String spec, CpuidEntry[] supported, CpuTopology topology) {
        String[] parts = spec.split(",", -1);
        boolean kvmSignature = true;
        List<String> warnings = new ArrayList<>();
        String model = parts[0];
        if (!model.equals("host") && !model.equals("max")) {
            throw new IllegalArgumentException("-cpu " + spec + ": unsupported CPU model '" + model
                    + "' (only 'host' is supported)");
        }
        List<CpuidEntry> t = new ArrayList<>(List.of(supported));
        // Set the hypervisor bit as QEMU does for every KVM guest, before user edits so -hypervisor works.
        t = setBit(t, CpuFeature.byName("hypervisor"), true);
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            String name;
            boolean on;
            if (p.startsWith("+") || p.startsWith("-")) {
                name = p.substring(1);
                on = p.charAt(0) == '+';
            } else if (p.endsWith("=on") || p.endsWith("=off")) {
                name = p.substring(0, p.indexOf('='));
                on = p.endsWith("=on");
            } else if (p.isEmpty()) {
                continue;
            } else if (p.contains("=")) {
                throw new IllegalArgumentException("-cpu " + spec + ": bad CPU property '" + p
                        + "' (use on or off)");
            } else {
                // A bare name means name=on, as QEMU's legacy feature syntax has it.
                name = p;
                on = true;
            }
            if (name.equals("kvm")) {
                kvmSignature = on;
                continue;
            }
            if (IGNORED_PROPERTIES.contains(name)) {
                continue;
            }
            CpuFeature f = CpuFeature.byName(name);
            if (f == null) {
                throw new IllegalArgumentException("-cpu " + spec + ": unknown CPU feature '" + name + "'");
            }
            if (on && !f.name().equals("hypervisor") && !bitIn(supported, f)) {
                // As QEMU: a feature the host's KVM cannot give is dropped with a warning, not an error.
                warnings.add(String.format("host doesn't support requested feature: CPUID.%02XH:%s.%s [bit %d]",
                        f.leaf(), f.reg(), f.name(), f.bit()));
                continue;
            }
            t = setBit(t, f, on);
            if (!on) {
                for (CpuFeature d : f.dependants()) {
                    t = setBit(t, d, false);
                }
            }
        }
        if (!kvmSignature) {
            t.removeIf(e -> (e.function() & 0xffffff00) == KVM_CPUID_SIGNATURE);
        }
        return new CpuModel(t, topology, kvmSignature, warnings);
    }

    private static boolean bitIn(CpuidEntry[] table, CpuFeature f) {
        for (CpuidEntry e : table) {
            if (e.function() == f.leaf() && e.index() == f.subleaf()) {
                return (e.reg(f.reg()) & (1 << f.bit())) != 0;
            }
        }
        return false;
    }

    /** Warnings for the CLI to print, one line each (features requested but not supported by the host). */
    public List<String> warnings() {
        return warnings;
    }

    /** Host-model properties QEMU accepts that change nothing here (no migration, PMU or cache model). */
    private static final java.util.Set<String> IGNORED_PROPERTIES = java.util.Set.of(
            "check", "enforce", "migratable", "pmu", "host-cache-info", "l3-cache", "host-phys-bits");

    /** A model straight from a CPUID table, for tests. */
    public static CpuModel of(List<CpuidEntry> table, CpuTopology topology) {
        return new CpuModel(table, topology, true, List.of());
    }

    private static List<CpuidEntry> setBit(List<CpuidEntry> t, CpuFeature f, boolean on) {
        List<CpuidEntry> out = new ArrayList<>(t.size());
        boolean found = false;
        for (CpuidEntry e : t) {
            if (e.function() == f.leaf() && e.index() == f.subleaf()) {
                int v = e.reg(f.reg());
                v = on ? v | (1 << f.bit()) : v & ~(1 << f.bit());
                e = e.withReg(f.reg(), v);
                found = true;
            }
            out.add(e);
        }
        if (!found && on) {
            // Leaf absent from KVM's table: add it so the bit can be set (KVM will mask what it cannot do).
            int flags = f.subleaf() != 0 || f.leaf() == 7 || f.leaf() == 0xd ? KvmIoctls.KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
            out.add(new CpuidEntry(f.leaf(), f.subleaf(), flags, 0, 0, 0, 0).withReg(f.reg(), 1 << f.bit()));
        }
        return out;
    }

    public CpuTopology topology() {
        return topology;
    }

    /** True when the feature is set in the (pre-topology) table. */
    public boolean has(String feature) {
        CpuFeature f = CpuFeature.byName(feature);
        if (f == null) {
            throw new IllegalArgumentException("unknown CPU feature '" + feature + "'");
        }
        for (CpuidEntry e : base) {
            if (e.function() == f.leaf() && e.index() == f.subleaf()) {
                return (e.reg(f.reg()) & (1 << f.bit())) != 0;
            }
        }
        return false;
    }

    /** The CPUID table for vCPU index: APIC IDs, topology counts and the KVM signature filled in. */
    public List<CpuidEntry> entriesFor(int index) {
        int apicId = topology.apicId(index);
        int logical = topology.cores() * topology.threads();
        int threadBits = topology.threadBits();
        int pkgBits = topology.coreBits() + threadBits;
        List<CpuidEntry> out = new ArrayList<>();
        boolean sawSignature = false;
        for (CpuidEntry e : base) {
            switch (e.function()) {
                case 1 -> {
                    int ebx = (e.ebx() & 0x0000ffff) | (Math.min(logical, 255) << 16) | (apicId << 24);
                    int edx = logical > 1 ? e.edx() | (1 << 28) : e.edx() & ~(1 << 28);
                    out.add(e.withRegs(e.eax(), ebx, e.ecx(), edx));
                }
                case 4 -> {
                    if ((e.eax() & 0x1f) == 0) {
                        out.add(e);
                    } else {
                        int level = (e.eax() >>> 5) & 7;
                        int sharing = level >= 3 ? logical - 1 : topology.threads() - 1;
                        int eax = (e.eax() & 0x3fff) | ((sharing & 0xfff) << 14) | (((topology.cores() - 1) & 0x3f) << 26);
                        out.add(e.withRegs(eax, e.ebx(), e.ecx(), e.edx()));
                    }
                }
                case 0xb, 0x1f -> { /* rebuilt below */ }
                case KVM_CPUID_SIGNATURE -> {
                    sawSignature = true;
                    out.add(e.withRegs(Math.max(e.eax(), KVM_CPUID_FEATURES), KVM_SIG_EBX, KVM_SIG_ECX, KVM_SIG_EDX));
                }
                default -> out.add(e);
            }
        }
        // Extended topology (leaf 0xB, and its successor 0x1F where the host has it): subleaf 0 is the SMT
        // level, 1 the core level, 2 an invalid level that ends the list; EDX is the x2APIC ID.
        for (int leaf : new int[] {0xb, 0x1f}) {
            if (base.stream().anyMatch(e -> e.function() == leaf)) {
                int sig = KvmIoctls.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
                out.add(new CpuidEntry(leaf, 0, sig, threadBits, topology.threads(), (1 << 8), apicId));
                out.add(new CpuidEntry(leaf, 1, sig, pkgBits, logical, (2 << 8) | 1, apicId));
                out.add(new CpuidEntry(leaf, 2, sig, 0, 0, 2, apicId));
            }
        }
        if (!sawSignature && kvmSignature) {
            out.add(new CpuidEntry(KVM_CPUID_SIGNATURE, 0, 0, KVM_CPUID_FEATURES, KVM_SIG_EBX, KVM_SIG_ECX, KVM_SIG_EDX));
        }
        return out;
    }
}
