package dev.jvmm.kvm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

class RegisterDumpTest {
    @Test
    void protectedModeLayout() {
        Segment cs = Segment.flat32(0x10, true);
        Segment ds = Segment.flat32(0x18, false);
        Segment tr = new Segment(0, 0xffff, 0, 11, true, 0, false, false, false, false, false, false);
        Segment ldt = new Segment(0, 0xffff, 0, 2, true, 0, false, false, false, false, false, false);
        Sregs s = new Sregs(cs, ds, ds, ds, ds, ds, tr, ldt, new Sregs.DescriptorTable(0x500, 0x1f),
                new Sregs.DescriptorTable(0, 0), 0x11, 0, 0, 0, 0, 0, 0xfee00900L, new long[4]);
        Regs r = Regs.entry(0x100000, 0, 0, 0x7000);
        String d = RegisterDump.format(r, s);
        assertTrue(d.contains("EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000000"), d);
        assertTrue(d.contains("ESI=00007000 EDI=00000000 EBP=00000000 ESP=00000000"), d);
        assertTrue(d.contains("EIP=00100000 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0"), d);
        assertTrue(d.contains("CS =0010 00000000 ffffffff 00c09b00 DPL=0 CS32 [-RA]"), d);
        assertTrue(d.contains("DS =0018 00000000 ffffffff 00c09300 DPL=0 DS   [-WA]"), d);
        assertTrue(d.contains("TR =0000 00000000 0000ffff 00008b00 DPL=0 TSS32-busy"), d);
        assertTrue(d.contains("GDT=     00000500 0000001f"), d);
        assertTrue(d.contains("CR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000"), d);
        assertTrue(d.contains("EFER=0000000000000000"), d);
        int[] code = new int[50];
        code[20] = 0xcc;
        code[21] = -1;
        String full = RegisterDump.format(r, s, new long[] {0, 0, 0, 0, 0xffff0ff0L, 0x400}, code);
        assertTrue(full.contains("CR4=00000000\nDR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 "
                + "DR3=0000000000000000 \nDR6=00000000ffff0ff0 DR7=0000000000000400\nEFER="), full);
        assertTrue(full.contains("\nCode=00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 <cc> ?? 00"), full);
    }
}
