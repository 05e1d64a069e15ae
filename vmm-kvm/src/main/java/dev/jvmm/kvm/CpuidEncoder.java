package dev.jvmm.kvm;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a {@link CpuIdentity} into the per-VM CPUID table (before per-vCPU topology), leaf by leaf as QEMU
 * 7.2's cpu_x86_cpuid does (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). Cache description leaves
 * (02h, 04h, 8000_0005h/6h) come from KVM's table, which describes the host.
 */
final class CpuidEncoder {
    static final int LEAF_VENDOR = 0;
    static final int LEAF_VERSION = 1;
    static final int LEAF_CACHE_DESCRIPTORS = 2;
    static final int LEAF_CACHE_PARAMS = 4;
    static final int LEAF_THERMAL_POWER = 6;
    static final int LEAF_EXTENDED_FEATURES = 7;
    static final int LEAF_PMU = 0xa;
    static final int LEAF_TOPOLOGY = 0xb;
    static final int LEAF_XSAVE = 0xd;
    static final int LEAF_EXT_MAX = 0x80000000;
    static final int LEAF_EXT_FEATURES = 0x80000001;
    static final int LEAF_BRAND_FIRST = 0x80000002;
    static final int LEAF_AMD_L1_CACHE = 0x80000005;
    static final int LEAF_AMD_L2_CACHE = 0x80000006;
    static final int LEAF_APM = 0x80000007;
    static final int LEAF_ADDRESS_SIZES = 0x80000008;
    static final int LEAF_SVM = 0x8000000a;
    static final int LEAF_AMD_CACHE_TOPOLOGY = 0x8000001d;
    static final int LEAF_AMD_EXT_APIC = 0x8000001e;
    static final int KVM_CPUID_SIGNATURE = 0x40000000;
    static final int KVM_CPUID_FEATURES = 0x40000001;
    /** "KVMKVMKVM\0\0\0" as EBX, ECX, EDX of leaf 4000_0000h. */
    static final int KVM_SIG_EBX = 0x4b4d564b;
    static final int KVM_SIG_ECX = 0x564b4d56;
    static final int KVM_SIG_EDX = 0x4d;
    /** Leaf 1 EDX bits that AMD repeats in 8000_0001h EDX (fpu..apic, mtrr..pse36, mmx, fxsr). */
    static final long AMD_ALIASES = 0x0183f3ffL;
    /** XSAVE state components: x87, SSE, AVX, MPX (2), AVX-512 (3), PKRU, AMX (2) (SDM vol. 1, 13.1). */
    static final int[][] XSAVE_COMPONENTS = {{2}, {3, 4}, {5, 6, 7}, {9}, {17, 18}};
    static final String[] XSAVE_FEATURES = {"avx", "mpx", "avx512f", "pku", "amx-tile"};

    private CpuidEncoder() { }

    static String ascii(int reg) {
        byte[] b = {(byte) reg, (byte) (reg >> 8), (byte) (reg >> 16), (byte) (reg >> 24)};
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private static int[] regs(String s, int offset) {
        byte[] b = new byte[16];
        byte[] src = s.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(src, Math.min(offset, src.length), b, 0, Math.max(0, Math.min(16, src.length - offset)));
        int[] r = new int[4];
        for (int i = 0; i < 16; i++) {
            r[i / 4] |= (b[i] & 0xff) << (8 * (i % 4));
        }
        return r;
    }

    static List<CpuidEntry> encode(CpuIdentity c, HostCpu host, CpuTable t) {
        List<CpuidEntry> out = new ArrayList<>();
        int[] v = regs(c.vendor() + "\0\0\0\0", 0);
        int sig = KvmIoctls.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        for (int leaf = 0; leaf <= c.level(); leaf++) {
            switch (leaf) {
                case LEAF_VENDOR -> out.add(new CpuidEntry(0, 0, 0, c.level(), v[0], v[2], v[1]));
                case LEAF_VERSION -> out.add(new CpuidEntry(1, 0, 0, c.version(), 8 << 8,
                        c.word(t, "1_ECX"), c.word(t, "1_EDX")));
                case LEAF_CACHE_DESCRIPTORS -> out.add(passthrough(host, leaf, 0, 0));
                case LEAF_CACHE_PARAMS -> {
                    boolean any = false;
                    for (CpuidEntry e : host.cpuid()) {
                        if (e.function() == LEAF_CACHE_PARAMS) {
                            out.add(e);
                            any = true;
                        }
                    }
                    if (!any) {
                        out.add(new CpuidEntry(leaf, 0, sig, 0, 0, 0, 0));
                    }
                }
                case LEAF_THERMAL_POWER -> out.add(new CpuidEntry(leaf, 0, 0, c.word(t, "6_EAX"), 0, 0, 0));
                case LEAF_EXTENDED_FEATURES -> {
                    int sub1 = c.word(t, "7_1_EAX");
                    out.add(new CpuidEntry(leaf, 0, sig, sub1 != 0 ? 1 : 0, c.word(t, "7_0_EBX"),
                            c.word(t, "7_0_ECX"), c.word(t, "7_0_EDX")));
                    out.add(new CpuidEntry(leaf, 1, sig, sub1, 0, 0, 0));
                }
                case LEAF_PMU -> out.add(c.pmu() ? passthrough(host, leaf, 0, 0) : new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
                case LEAF_TOPOLOGY -> out.add(new CpuidEntry(leaf, 0, sig, 0, 0, 0, 0));
                case LEAF_XSAVE -> xsave(c, host, t, out);
                default -> out.add(new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
            }
        }
        if (c.kvmLeaves()) {
            out.add(new CpuidEntry(KVM_CPUID_SIGNATURE, 0, 0, KVM_CPUID_FEATURES, KVM_SIG_EBX, KVM_SIG_ECX, KVM_SIG_EDX));
            out.add(new CpuidEntry(KVM_CPUID_FEATURES, 0, 0, c.word(t, "KVM"), 0, 0, c.word(t, "KVM_HINTS")));
        }
        boolean topoext = c.has(t, "topoext");
        for (long l = LEAF_EXT_MAX & 0xffffffffL; l <= (c.xlevel() & 0xffffffffL) && c.xlevel() != 0; l++) {
            int leaf = (int) l;
            switch (leaf) {
                case LEAF_EXT_MAX -> out.add(new CpuidEntry(leaf, 0, 0, c.xlevel(), v[0], v[2], v[1]));
                case LEAF_EXT_FEATURES -> out.add(new CpuidEntry(leaf, 0, 0, c.version(), 0,
                        c.word(t, "8000_0001_ECX"), c.word(t, "8000_0001_EDX")));
                case LEAF_BRAND_FIRST, LEAF_BRAND_FIRST + 1, LEAF_BRAND_FIRST + 2 -> {
                    int[] r = regs(c.modelId(), (leaf - LEAF_BRAND_FIRST) * 16);
                    out.add(new CpuidEntry(leaf, 0, 0, r[0], r[1], r[2], r[3]));
                }
                case LEAF_AMD_L1_CACHE, LEAF_AMD_L2_CACHE -> out.add(passthrough(host, leaf, 0, 0));
                case LEAF_APM -> out.add(new CpuidEntry(leaf, 0, 0, 0, 0, 0, c.word(t, "8000_0007_EDX")));
                case LEAF_ADDRESS_SIZES -> {
                    int eax = c.physBits();
                    if (c.has(t, "lm")) {
                        eax |= (c.has(t, "la57") ? 57 : 48) << 8;
                    }
                    out.add(new CpuidEntry(leaf, 0, 0, eax, c.word(t, "8000_0008_EBX"), 0, 0));
                }
                case LEAF_SVM -> out.add(c.has(t, "svm")
                        ? new CpuidEntry(leaf, 0, 0, 1, 0x10, 0, c.word(t, "SVM"))
                        : new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
                case LEAF_AMD_CACHE_TOPOLOGY -> {
                    boolean any = false;
                    for (CpuidEntry e : host.cpuid()) {
                        if (topoext && e.function() == leaf) {
                            out.add(e);
                            any = true;
                        }
                    }
                    if (!any) {
                        out.add(new CpuidEntry(leaf, 0, sig, 0, 0, 0, 0));
                    }
                }
                case LEAF_AMD_EXT_APIC -> out.add(topoext ? passthrough(host, leaf, 0, 0) : new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
                default -> out.add(new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
            }
        }
        if (c.xlevel2() != 0) {
            out.add(new CpuidEntry(0xc0000000, 0, 0, c.xlevel2(), 0, 0, 0));
            for (int leaf = 0xc0000001; Integer.compareUnsigned(leaf, c.xlevel2()) <= 0; leaf++) {
                out.add(leaf == 0xc0000001 ? new CpuidEntry(leaf, 0, 0, 0, 0, 0, c.word(t, "C000_0001_EDX"))
                        : new CpuidEntry(leaf, 0, 0, 0, 0, 0, 0));
            }
        }
        return out;
    }

    private static CpuidEntry passthrough(HostCpu host, int leaf, int subleaf, int flags) {
        CpuidEntry e = host.entry(leaf, subleaf);
        return e != null ? e : new CpuidEntry(leaf, subleaf, flags, 0, 0, 0, 0);
    }

    /** Leaf 0Dh: the state components the enabled features need, sized by KVM's per-component subleaves. */
    private static void xsave(CpuIdentity c, HostCpu host, CpuTable t, List<CpuidEntry> out) {
        int sig = KvmIoctls.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        if (!c.has(t, "xsave")) {
            out.add(new CpuidEntry(LEAF_XSAVE, 0, sig, 0, 0, 0, 0));
            out.add(new CpuidEntry(LEAF_XSAVE, 1, sig, 0, 0, 0, 0));
            return;
        }
        long mask = (c.word(t, "XSAVE_COMP_LO") & 0xffffffffL) | ((long) c.word(t, "XSAVE_COMP_HI") << 32);
        int size = 512 + 64;
        List<CpuidEntry> comps = new ArrayList<>();
        for (int comp = 2; comp < 64; comp++) {
            if ((mask & (1L << comp)) != 0) {
                CpuidEntry e = host.entry(LEAF_XSAVE, comp);
                if (e != null) {
                    comps.add(e);
                    size = Math.max(size, e.ebx() + e.eax());
                }
            }
        }
        out.add(new CpuidEntry(LEAF_XSAVE, 0, sig, (int) mask, size, size, (int) (mask >>> 32)));
        out.add(new CpuidEntry(LEAF_XSAVE, 1, sig, c.word(t, "XSAVE"), 0, c.word(t, "XSAVE_XSS_LO"),
                c.word(t, "XSAVE_XSS_HI")));
        out.addAll(comps);
    }
}
