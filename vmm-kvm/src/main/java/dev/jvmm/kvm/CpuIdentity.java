package dev.jvmm.kvm;

/**
 * A resolved guest CPU before it becomes a CPUID table: what QEMU 7.2 keeps in its CPU object once the
 * model, the -cpu edits and KVM's filter have run.
 *
 * @param features enabled bits per feature word, indexed like {@link CpuTable#words()}
 * @param physBits MAXPHYADDR reported in CPUID 8000_0008h
 * @param pmu true to pass KVM's architectural PMU leaf (0Ah) through
 * @param kvmLeaves false with kvm=off: no 4000_00xxh leaves
 */
public record CpuIdentity(String vendor, int family, int model, int stepping, int level, int xlevel, int xlevel2,
                          String modelId, long[] features, int physBits, boolean pmu, boolean kvmLeaves) {
    /** CPUID 01h EAX: stepping, model and family with QEMU's split into base and extended fields. */
    public int version() {
        int eax = family > 0x0f ? 0xf00 | ((family - 0x0f) << 20) : family << 8;
        eax |= ((model & 0xf) << 4) | ((model >> 4) << 16);
        return eax | (stepping & 0xf);
    }

    int word(CpuTable t, String name) {
        return (int) features[t.word(name).index()];
    }

    boolean has(CpuTable t, String feature) {
        for (CpuTable.Bit b : t.feature(feature)) {
            if ((features[b.word()] & (1L << b.bit())) == 0) {
                return false;
            }
        }
        return true;
    }
}
