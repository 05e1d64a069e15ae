package dev.jvmm.kvm;

/** struct kvm_sregs: segment, descriptor-table and control registers (interrupt bitmap kept as is). */
public record Sregs(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr,
                    Segment ldt, DescriptorTable gdt, DescriptorTable idt, long cr0, long cr2, long cr3,
                    long cr4, long cr8, long efer, long apicBase, long[] interruptBitmap) {
    /** struct kvm_dtable. */
    public record DescriptorTable(long base, int limit) {
    }

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long EFER_LMA = 1L << 10;

    public Sregs withSegments(Segment cs, Segment data) {
        return new Sregs(cs, data, data, data, data, data, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, interruptBitmap);
    }

    public Sregs withGdt(DescriptorTable gdt) {
        return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }

    public Sregs withIdt(DescriptorTable idt) {
        return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }

    public Sregs withControl(long cr0, long cr3, long cr4, long efer) {
        return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }
}
