package dev.jvmm.kvm;

/** Formats registers in the layout of QEMU's x86_cpu_dump_state (32-bit or, with EFER.LMA, 64-bit). */
public final class RegisterDump {
    private RegisterDump() {
    }

    private static final String[] SYSTEM_TYPES_32 = {
        "Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate", "IntGate16", "TrapGate16",
        "Reserved", "TSS32-avl", "Reserved", "TSS32-busy", "CallGate32", "Reserved", "IntGate32", "TrapGate32",
    };
    private static final String[] SYSTEM_TYPES_64 = {
        "Reserved", "Reserved", "LDT", "Reserved", "Reserved", "Reserved", "Reserved", "Reserved",
        "Reserved", "TSS64-avl", "Reserved", "TSS64-busy", "CallGate64", "Reserved", "IntGate64", "TrapGate64",
    };

    /** Bytes shown by the Code= line: 20 before RIP and 50 in all, as QEMU shows them. */
    public static final int CODE_BYTES_BACKWARD = 20;
    public static final int CODE_BYTES_TOTAL = 50;

    public static String format(Regs r, Sregs s) {
        return format(r, s, null, null);
    }

    /**
     * The full dump: debugRegs is {DR0, DR1, DR2, DR3, DR6, DR7} or null to leave the DR lines out; code
     * holds the bytes at [RIP-20, RIP+30) with -1 for unreadable ones, or null to leave the Code= line out.
     */
    public static String format(Regs r, Sregs s, long[] debugRegs, int[] code) {
        boolean lma = (s.efer() & Sregs.EFER_LMA) != 0;
        boolean pe = (s.cr0() & Sregs.CR0_PE) != 0;
        StringBuilder b = new StringBuilder();
        long fl = r.rflags();
        String flags = "[" + (bit(fl, 10) ? 'D' : '-') + (bit(fl, 11) ? 'O' : '-') + (bit(fl, 7) ? 'S' : '-')
                + (bit(fl, 6) ? 'Z' : '-') + (bit(fl, 4) ? 'A' : '-') + (bit(fl, 2) ? 'P' : '-')
                + (bit(fl, 0) ? 'C' : '-') + "]";
        int cpl = s.cs().dpl();
        if (lma) {
            b.append(String.format("RAX=%016x RBX=%016x RCX=%016x RDX=%016x%n", r.rax(), r.rbx(), r.rcx(), r.rdx()));
            b.append(String.format("RSI=%016x RDI=%016x RBP=%016x RSP=%016x%n", r.rsi(), r.rdi(), r.rbp(), r.rsp()));
            b.append(String.format("R8 =%016x R9 =%016x R10=%016x R11=%016x%n", r.r8(), r.r9(), r.r10(), r.r11()));
            b.append(String.format("R12=%016x R13=%016x R14=%016x R15=%016x%n", r.r12(), r.r13(), r.r14(), r.r15()));
            b.append(String.format("RIP=%016x RFL=%08x %s CPL=%d II=0 A20=1 SMM=0 HLT=0%n", r.rip(), fl, flags, cpl));
        } else {
            b.append(String.format("EAX=%08x EBX=%08x ECX=%08x EDX=%08x%n", r.rax() & M, r.rbx() & M, r.rcx() & M,
                    r.rdx() & M));
            b.append(String.format("ESI=%08x EDI=%08x EBP=%08x ESP=%08x%n", r.rsi() & M, r.rdi() & M, r.rbp() & M,
                    r.rsp() & M));
            b.append(String.format("EIP=%08x EFL=%08x %s CPL=%d II=0 A20=1 SMM=0 HLT=0%n", r.rip() & M, fl & M,
                    flags, cpl));
        }
        seg(b, "ES", s.es(), lma, pe);
        seg(b, "CS", s.cs(), lma, pe);
        seg(b, "SS", s.ss(), lma, pe);
        seg(b, "DS", s.ds(), lma, pe);
        seg(b, "FS", s.fs(), lma, pe);
        seg(b, "GS", s.gs(), lma, pe);
        seg(b, "LDT", s.ldt(), lma, pe);
        seg(b, "TR", s.tr(), lma, pe);
        if (lma) {
            b.append(String.format("GDT=     %016x %08x%n", s.gdt().base(), s.gdt().limit()));
            b.append(String.format("IDT=     %016x %08x%n", s.idt().base(), s.idt().limit()));
            b.append(String.format("CR0=%08x CR2=%016x CR3=%016x CR4=%08x%n", s.cr0() & M, s.cr2(), s.cr3(),
                    s.cr4() & M));
        } else {
            b.append(String.format("GDT=     %08x %08x%n", s.gdt().base() & M, s.gdt().limit()));
            b.append(String.format("IDT=     %08x %08x%n", s.idt().base() & M, s.idt().limit()));
            b.append(String.format("CR0=%08x CR2=%08x CR3=%08x CR4=%08x%n", s.cr0() & M, s.cr2() & M, s.cr3() & M,
                    s.cr4() & M));
        }
        if (debugRegs != null) {
            for (int i = 0; i < 4; i++) {
                b.append(String.format("DR%d=%016x ", i, debugRegs[i]));
            }
            b.append(String.format("%nDR6=%016x DR7=%016x%n", debugRegs[4], debugRegs[5]));
        }
        b.append(String.format("EFER=%016x%n", s.efer()));
        if (code != null) {
            b.append("Code=");
            for (int i = 0; i < code.length; i++) {
                if (i > 0) {
                    b.append(' ');
                }
                String byteText = code[i] < 0 ? "??" : String.format("%02x", code[i]);
                b.append(i == CODE_BYTES_BACKWARD ? "<" + byteText + ">" : byteText);
            }
            b.append(System.lineSeparator());
        }
        return b.toString();
    }

    private static final long M = 0xffffffffL;

    private static boolean bit(long v, int n) {
        return (v & (1L << n)) != 0;
    }

    private static void seg(StringBuilder b, String name, Segment sg, boolean lma, boolean pe) {
        String label = name.length() < 3 ? name + " " : name;
        int flags = sg.descriptorFlags() & 0x00ffff00;
        if (lma) {
            b.append(String.format("%s=%04x %016x %08x %08x", label, sg.selector(), sg.base(), sg.limit(), flags));
        } else {
            b.append(String.format("%s=%04x %08x %08x %08x", label, sg.selector(), sg.base() & M, sg.limit(), flags));
        }
        if (pe && sg.present()) {
            b.append(" DPL=").append(sg.dpl()).append(' ');
            int t = sg.type();
            if (sg.s()) {
                if ((t & 8) != 0) {
                    b.append(sg.l() ? "CS64" : sg.db() ? "CS32" : "CS16");
                    b.append(" [").append((t & 4) != 0 ? 'C' : '-').append((t & 2) != 0 ? 'R' : '-');
                } else {
                    b.append(sg.db() || lma ? "DS  " : "DS16");
                    b.append(" [").append((t & 4) != 0 ? 'E' : '-').append((t & 2) != 0 ? 'W' : '-');
                }
                b.append((t & 1) != 0 ? 'A' : '-').append(']');
            } else {
                b.append((lma ? SYSTEM_TYPES_64 : SYSTEM_TYPES_32)[t & 15]);
            }
        }
        b.append(System.lineSeparator());
    }
}
