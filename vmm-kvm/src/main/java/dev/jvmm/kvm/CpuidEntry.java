package dev.jvmm.kvm;

/** One kvm_cpuid_entry2: leaf (function), subleaf (index), KVM flags and the four result registers. */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    public CpuidEntry withRegs(int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, edx);
    }

    public int reg(CpuidReg r) {
        return switch (r) {
            case EAX -> eax;
            case EBX -> ebx;
            case ECX -> ecx;
            case EDX -> edx;
        };
    }

    public CpuidEntry withReg(CpuidReg r, int v) {
        return switch (r) {
            case EAX -> withRegs(v, ebx, ecx, edx);
            case EBX -> withRegs(eax, v, ecx, edx);
            case ECX -> withRegs(eax, ebx, v, edx);
            case EDX -> withRegs(eax, ebx, ecx, v);
        };
    }
}
