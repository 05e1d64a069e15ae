package dev.jvmm.kvm;

import java.util.List;
import java.util.Map;

/**
 * What this host's KVM offers a guest CPU: KVM_GET_SUPPORTED_CPUID, the feature MSRs with the values
 * KVM_GET_MSRS reports for them on the system fd (KVM_GET_MSR_FEATURE_INDEX_LIST), and the host's brand
 * string ("-cpu host" shows it as its model-id).
 */
public record HostCpu(List<CpuidEntry> cpuid, Map<Integer, Long> featureMsrs, String brand) {
    /** IA32_ARCH_CAPABILITIES (Intel SDM vol. 4, table 2-2). */
    public static final int MSR_IA32_ARCH_CAPABILITIES = 0x10a;

    public HostCpu {
        cpuid = List.copyOf(cpuid);
        featureMsrs = Map.copyOf(featureMsrs);
    }

    /** A host with only a supported-CPUID table (tests; kernels without feature MSRs). */
    public static HostCpu of(CpuidEntry[] supported) {
        return new HostCpu(List.of(supported), Map.of(), "");
    }

    /** KVM's entry for leaf/subleaf, or null. */
    public CpuidEntry entry(int leaf, int subleaf) {
        for (CpuidEntry e : cpuid) {
            if (e.function() == leaf && (subleaf < 0 || e.index() == subleaf)) {
                return e;
            }
        }
        return null;
    }

    int reg(int leaf, int subleaf, CpuidReg reg) {
        CpuidEntry e = entry(leaf, subleaf);
        return e == null ? 0 : e.reg(reg);
    }

    /** The vendor string of leaf 0 (EBX, EDX, ECX), as the host reports it. */
    public String vendor() {
        CpuidEntry e = entry(0, 0);
        if (e == null) {
            return "GenuineIntel";
        }
        return CpuidEncoder.ascii(e.ebx()) + CpuidEncoder.ascii(e.edx()) + CpuidEncoder.ascii(e.ecx());
    }

    /** The host's MAXPHYADDR (CPUID 8000_0008h EAX[7:0]), 40 where KVM does not say. */
    public int physBits() {
        int b = reg(0x80000008, 0, CpuidReg.EAX) & 0xff;
        return b == 0 ? 40 : b;
    }

    /**
     * The bits of a feature word this host's KVM can give a guest, as QEMU 7.2 computes them: KVM's table
     * plus what QEMU adds on top (the hypervisor bit, ARCH_CAPABILITIES where KVM lists the MSR, the AMD
     * copies of leaf 1 EDX in 8000_0001h EDX, KVM's hint bit); MSR words read from the feature MSRs, the
     * VMX control MSRs by their allowed-1 half.
     */
    public long supported(FeatureWord w, CpuTable table) {
        if (w.msr()) {
            Long v = featureMsrs.get(w.leaf());
            if (v == null) {
                return 0;
            }
            return switch (w.name()) {
                case "VMX_PROCBASED_CTLS", "VMX_SECONDARY_CTLS", "VMX_PINBASED_CTLS", "VMX_EXIT_CTLS",
                     "VMX_ENTRY_CTLS" -> v >>> 32;
                default -> v;
            };
        }
        long r = reg(w.leaf(), Math.max(w.subleaf(), 0), w.reg()) & 0xffffffffL;
        switch (w.name()) {
            case "1_ECX" -> r |= 1L << 31;
            case "7_0_EDX" -> {
                if (featureMsrs.containsKey(MSR_IA32_ARCH_CAPABILITIES)) {
                    r |= 1L << 29;
                }
            }
            case "8000_0001_EDX" -> r |= reg(1, 0, CpuidReg.EDX) & CpuidEncoder.AMD_ALIASES;
            case "KVM_HINTS" -> r |= 1;
            default -> { }
        }
        return r;
    }
}
