package dev.jvmm.kvm;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A named CPUID feature bit, with QEMU's -cpu names (Intel SDM vol. 2A, CPUID instruction tables;
 * AMD APM vol. 3 for the 0x8000_000x leaves).
 */
public record CpuFeature(String name, int leaf, int subleaf, CpuidReg reg, int bit) {
    private static final List<CpuFeature> ALL = List.of(
        // Leaf 1 EDX
        f("fpu", 1, CpuidReg.EDX, 0), f("vme", 1, CpuidReg.EDX, 1), f("de", 1, CpuidReg.EDX, 2),
        f("pse", 1, CpuidReg.EDX, 3), f("tsc", 1, CpuidReg.EDX, 4), f("msr", 1, CpuidReg.EDX, 5),
        f("pae", 1, CpuidReg.EDX, 6), f("mce", 1, CpuidReg.EDX, 7), f("cx8", 1, CpuidReg.EDX, 8),
        f("apic", 1, CpuidReg.EDX, 9), f("sep", 1, CpuidReg.EDX, 11), f("mtrr", 1, CpuidReg.EDX, 12),
        f("pge", 1, CpuidReg.EDX, 13), f("mca", 1, CpuidReg.EDX, 14), f("cmov", 1, CpuidReg.EDX, 15),
        f("pat", 1, CpuidReg.EDX, 16), f("pse36", 1, CpuidReg.EDX, 17), f("clflush", 1, CpuidReg.EDX, 19),
        f("mmx", 1, CpuidReg.EDX, 23), f("fxsr", 1, CpuidReg.EDX, 24), f("sse", 1, CpuidReg.EDX, 25),
        f("sse2", 1, CpuidReg.EDX, 26), f("ss", 1, CpuidReg.EDX, 27), f("ht", 1, CpuidReg.EDX, 28),
        // Leaf 1 ECX
        f("pni", 1, CpuidReg.ECX, 0), f("sse3", 1, CpuidReg.ECX, 0), f("pclmulqdq", 1, CpuidReg.ECX, 1),
        f("ssse3", 1, CpuidReg.ECX, 9), f("fma", 1, CpuidReg.ECX, 12), f("cx16", 1, CpuidReg.ECX, 13),
        f("pcid", 1, CpuidReg.ECX, 17), f("sse4.1", 1, CpuidReg.ECX, 19), f("sse4_1", 1, CpuidReg.ECX, 19),
        f("sse4.2", 1, CpuidReg.ECX, 20), f("sse4_2", 1, CpuidReg.ECX, 20), f("x2apic", 1, CpuidReg.ECX, 21),
        f("movbe", 1, CpuidReg.ECX, 22), f("popcnt", 1, CpuidReg.ECX, 23),
        f("tsc-deadline", 1, CpuidReg.ECX, 24), f("aes", 1, CpuidReg.ECX, 25),
        f("xsave", 1, CpuidReg.ECX, 26), f("osxsave", 1, CpuidReg.ECX, 27), f("avx", 1, CpuidReg.ECX, 28),
        f("f16c", 1, CpuidReg.ECX, 29), f("rdrand", 1, CpuidReg.ECX, 30),
        f("hypervisor", 1, CpuidReg.ECX, 31),
        // Leaf 7 subleaf 0 EBX
        f("fsgsbase", 7, CpuidReg.EBX, 0), f("bmi1", 7, CpuidReg.EBX, 3), f("hle", 7, CpuidReg.EBX, 4),
        f("avx2", 7, CpuidReg.EBX, 5), f("smep", 7, CpuidReg.EBX, 7), f("bmi2", 7, CpuidReg.EBX, 8),
        f("erms", 7, CpuidReg.EBX, 9), f("invpcid", 7, CpuidReg.EBX, 10), f("rtm", 7, CpuidReg.EBX, 11),
        f("avx512f", 7, CpuidReg.EBX, 16), f("rdseed", 7, CpuidReg.EBX, 18), f("adx", 7, CpuidReg.EBX, 19),
        f("smap", 7, CpuidReg.EBX, 20), f("clflushopt", 7, CpuidReg.EBX, 23),
        f("sha-ni", 7, CpuidReg.EBX, 29),
        // Leaf 7 subleaf 0 EDX
        f("arch-capabilities", 7, CpuidReg.EDX, 29),
        // Leaf 0xD subleaf 1 EAX
        new CpuFeature("xsaveopt", 0xd, 1, CpuidReg.EAX, 0), new CpuFeature("xsavec", 0xd, 1, CpuidReg.EAX, 1),
        new CpuFeature("xgetbv1", 0xd, 1, CpuidReg.EAX, 2), new CpuFeature("xsaves", 0xd, 1, CpuidReg.EAX, 3),
        // Leaf 0x8000_0001
        f("lahf_lm", 0x80000001, CpuidReg.ECX, 0), f("abm", 0x80000001, CpuidReg.ECX, 5),
        f("3dnowprefetch", 0x80000001, CpuidReg.ECX, 8),
        f("syscall", 0x80000001, CpuidReg.EDX, 11), f("nx", 0x80000001, CpuidReg.EDX, 20),
        f("pdpe1gb", 0x80000001, CpuidReg.EDX, 26), f("rdtscp", 0x80000001, CpuidReg.EDX, 27),
        f("lm", 0x80000001, CpuidReg.EDX, 29),
        // Leaf 0x8000_0007 EDX
        f("invtsc", 0x80000007, CpuidReg.EDX, 8));

    private static final Map<String, CpuFeature> BY_NAME = index();

    /**
     * Features that must go when a feature goes, as QEMU's feature dependency table and the SDM's
     * "software must check" rules imply: no XSAVE means no AVX state and no XSAVE variants; AVX-class
     * instructions need AVX.
     */
    private static final Map<String, List<String>> DEPENDANTS = Map.of(
        "xsave", List.of("osxsave", "avx", "xsaveopt", "xsavec", "xgetbv1", "xsaves"),
        "avx", List.of("avx2", "fma", "f16c", "avx512f"),
        "xsavec", List.of("xsaves"));

    private static CpuFeature f(String name, int leaf, CpuidReg reg, int bit) {
        return new CpuFeature(name, leaf, 0, reg, bit);
    }

    private static Map<String, CpuFeature> index() {
        Map<String, CpuFeature> m = new TreeMap<>();
        for (CpuFeature c : ALL) {
            m.put(c.name(), c);
        }
        return Map.copyOf(m);
    }

    public static List<CpuFeature> all() {
        return ALL;
    }

    /** The feature called name (QEMU spelling; '_' and '-' are interchangeable), or null. */
    public static CpuFeature byName(String name) {
        CpuFeature c = BY_NAME.get(name);
        if (c == null) {
            c = BY_NAME.get(name.replace('_', '-'));
        }
        if (c == null) {
            c = BY_NAME.get(name.replace('-', '_'));
        }
        return c;
    }

    /** The features that must also be cleared when this one is, transitively (not including itself). */
    public List<CpuFeature> dependants() {
        List<CpuFeature> out = new java.util.ArrayList<>();
        collect(name, out);
        return out;
    }

    private static void collect(String name, List<CpuFeature> out) {
        for (String d : DEPENDANTS.getOrDefault(name, List.of())) {
            CpuFeature c = BY_NAME.get(d);
            if (!out.contains(c)) {
                out.add(c);
                collect(d, out);
            }
        }
    }
}
