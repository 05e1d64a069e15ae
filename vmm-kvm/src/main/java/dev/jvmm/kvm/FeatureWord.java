package dev.jvmm.kvm;

import java.util.List;

/**
 * One of QEMU's feature words: up to 64 named bits of a CPUID register (Intel SDM vol. 2A, CPUID; AMD APM
 * vol. 3, appendix E) or of a read-only feature MSR (Intel SDM vol. 4). The names are QEMU 7.2's -cpu names.
 *
 * @param index position in {@link CpuTable#words()}, QEMU's order of filtering and warning
 * @param msr true for an MSR word, whose value KVM reports through KVM_GET_MSRS on the system fd
 * @param leaf CPUID leaf (EAX input), or the MSR index for an MSR word
 * @param subleaf CPUID subleaf (ECX input), or -1 where the leaf has none
 * @param reg CPUID result register; null for an MSR word
 * @param bitNames the name of each bit, null where the bit has none
 */
public record FeatureWord(String name, int index, boolean msr, int leaf, int subleaf, CpuidReg reg,
                          List<String> bitNames) {
    /** QEMU's spelling of the word in warnings: "CPUID.07H:EBX" or "MSR(10AH)". */
    public String describe() {
        return msr ? String.format("MSR(%02XH)", leaf) : String.format("CPUID.%02XH:%s", leaf, reg);
    }

    /** The named bits as a mask. */
    public long namedMask() {
        long m = 0;
        for (int i = 0; i < bitNames.size(); i++) {
            if (bitNames.get(i) != null) {
                m |= 1L << i;
            }
        }
        return m;
    }

    /** The bit of this word's CPUID register or MSR in a table entry or MSR value. */
    public boolean covers(CpuidEntry e) {
        return !msr && e.function() == leaf && (subleaf < 0 || e.index() == subleaf);
    }
}
