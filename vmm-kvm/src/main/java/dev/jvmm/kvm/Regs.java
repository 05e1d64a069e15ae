package dev.jvmm.kvm;

/** struct kvm_regs: the general-purpose registers, RIP and RFLAGS. */
public record Regs(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                   long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                   long rip, long rflags) {
    /** Registers for a fresh entry: everything zero except those given, RFLAGS = 2 (reserved bit 1). */
    public static Regs entry(long rip, long rax, long rbx, long rsi) {
        return new Regs(rax, rbx, 0, 0, rsi, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, rip, 2);
    }

    long[] toArray() {
        return new long[] {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
    }

    static Regs fromArray(long[] a) {
        return new Regs(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
                a[14], a[15], a[16], a[17]);
    }
}
