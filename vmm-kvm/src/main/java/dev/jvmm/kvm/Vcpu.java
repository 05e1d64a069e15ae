package dev.jvmm.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.os.LibC;
import dev.jvmm.kvm.boot.BootEntry;
import dev.jvmm.kvm.boot.BootGdt;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static dev.jvmm.kvm.KvmIoctls.*;

/**
 * One KVM vCPU: its fd, the mmapped kvm_run (read at fixed offsets on every exit) and register access.
 * The run loop is driven by {@link VcpuSet}, which owns the thread and pause/resume.
 */
public final class Vcpu implements AutoCloseable {
    // Model-specific registers (Intel SDM vol. 4, table 2-2).
    public static final int MSR_IA32_TSC = 0x10;
    public static final int MSR_IA32_SYSENTER_CS = 0x174;
    public static final int MSR_IA32_SYSENTER_ESP = 0x175;
    public static final int MSR_IA32_SYSENTER_EIP = 0x176;
    public static final int MSR_IA32_MISC_ENABLE = 0x1a0;
    public static final int MSR_MTRR_DEF_TYPE = 0x2ff;
    public static final int MSR_STAR = 0xc0000081;
    public static final int MSR_LSTAR = 0xc0000082;
    public static final int MSR_CSTAR = 0xc0000083;
    public static final int MSR_SYSCALL_MASK = 0xc0000084;
    public static final int MSR_KERNEL_GS_BASE = 0xc0000102;
    /** IA32_MISC_ENABLE bit 0: fast-string operations enabled. */
    public static final long MISC_ENABLE_FAST_STRING = 1;
    /** IA32_MTRR_DEF_TYPE: E (bit 11) enables MTRRs; type 6 is write-back. */
    public static final long MTRR_ENABLE = 1L << 11;
    public static final long MTRR_TYPE_WRBACK = 6;

    // Local APIC registers (Intel SDM vol. 3A, table 11-1) and LVT delivery modes (bits 10:8).
    public static final int APIC_LVT_LINT0 = 0x350;
    public static final int APIC_LVT_LINT1 = 0x360;
    public static final int APIC_MODE_NMI = 4;
    public static final int APIC_MODE_EXTINT = 7;

    /** x87 control word and MXCSR after FNINIT/reset. */
    private static final int FPU_FCW_DEFAULT = 0x37f;
    private static final int MXCSR_DEFAULT = 0x1f80;

    private final KvmVm vm;
    private final int index;
    private final int fd;
    private final Pointer runMap;
    private final long runSize;
    /** kvm_run as a little-endian direct buffer; all exit fields are read from here. */
    final ByteBuffer run;
    private final Memory regsBuf = new Memory(SIZEOF_KVM_REGS);
    private final Memory sregsBuf = new Memory(SIZEOF_KVM_SREGS);
    /** LAPIC state right after creation and LINT setup, restored on reset. */
    private final byte[] initialLapic = new byte[SIZEOF_KVM_LAPIC_STATE];
    private final CpuModel model;

    // Set by the vCPU thread; read by VcpuSet when kicking.
    volatile long pthread;
    volatile int tid = -1;
    volatile Thread thread;
    /** Set when a fatal exit parks this vCPU on its own; cleared by resumeAll. Guarded by the set's lock. */
    volatile boolean selfPause;
    boolean parked;
    boolean exited;
    /** Set when CPU hot-unplug takes this vCPU away: its thread ends; the fd stays for a later plug. */
    volatile boolean removed;

    Vcpu(KvmVm vm, int index, CpuModel cpuModel) {
        CpuModel model = cpuModel;
        this.vm = vm;
        this.index = index;
        int vfd = KvmSys.ioctl(vm.fd(), KVM_CREATE_VCPU, index);
        if (vfd < 0) {
            throw new KvmException("KVM_CREATE_VCPU", Native.getLastError());
        }
        this.fd = vfd;
        try {
            runSize = vm.kvm().vcpuMmapSize();
            try {
                runMap = LibC.mmap(null, runSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
            } catch (com.sun.jna.LastErrorException e) {
                throw new KvmException("mmap kvm_run", e.getErrorCode());
            }
            run = runMap.getByteBuffer(0, runSize).order(ByteOrder.LITTLE_ENDIAN);
            if (model != null) {
                model = applyModel(model);
            }
            this.model = model;
            setBootMsrs();
            setupLapic();
            Memory m = new Memory(SIZEOF_KVM_LAPIC_STATE);
            KvmSys.ioctlOrThrow(fd, KVM_GET_LAPIC, m, "KVM_GET_LAPIC");
            m.read(0, initialLapic, 0, initialLapic.length);
        } catch (RuntimeException e) {
            KvmSys.close(fd);
            throw e;
        }
    }

    public int index() {
        return index;
    }

    /**
     * Sets the model's CPUID table and feature MSRs. Where KVM refuses a feature MSR that its own feature
     * list offered (PVM on AMD hosts refuses IA32_ARCH_CAPABILITIES), the feature goes and the table is set
     * again: what QEMU does when told -arch-capabilities, the spelling under which it runs on such a host.
     */
    private CpuModel applyModel(CpuModel model) {
        setCpuid(model.entriesFor(index));
        for (long[] msr : model.featureMsrs()) {
            if (!trySetMsr((int) msr[0], msr[1]) && msr[0] == HostCpu.MSR_IA32_ARCH_CAPABILITIES) {
                model = model.without("arch-capabilities");
                setCpuid(model.entriesFor(index));
            }
        }
        return model;
    }

    /** The CPU model as KVM took it (without features whose MSRs it refused); null when created without one. */
    public CpuModel model() {
        return model;
    }

    /** KVM_SET_MSRS for one MSR; false when KVM does not accept the value. */
    public boolean trySetMsr(int msr, long value) {
        Memory m = new Memory(SIZEOF_KVM_MSRS + SIZEOF_KVM_MSR_ENTRY);
        m.clear();
        m.setInt(0, 1);
        m.setInt(SIZEOF_KVM_MSRS, msr);
        m.setLong(SIZEOF_KVM_MSRS + 8, value);
        return KvmSys.ioctl(fd, KVM_SET_MSRS, m) == 1;
    }

    public KvmVm vm() {
        return vm;
    }

    /** The Linux thread id of this vCPU's thread (for query-cpus-fast), or -1 before it started. */
    public int threadId() {
        return tid;
    }

    public void setCpuid(List<CpuidEntry> entries) {
        Memory m = new Memory(SIZEOF_KVM_CPUID2 + (long) entries.size() * SIZEOF_KVM_CPUID_ENTRY2);
        m.clear();
        m.setInt(0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            long o = SIZEOF_KVM_CPUID2 + (long) i * SIZEOF_KVM_CPUID_ENTRY2;
            m.setInt(o, e.function());
            m.setInt(o + 4, e.index());
            m.setInt(o + 8, e.flags());
            m.setInt(o + 12, e.eax());
            m.setInt(o + 16, e.ebx());
            m.setInt(o + 20, e.ecx());
            m.setInt(o + 24, e.edx());
        }
        KvmSys.ioctlOrThrow(fd, KVM_SET_CPUID2, m, "KVM_SET_CPUID2");
    }

    /** KVM_SET_MSRS for (index, value) pairs; fails unless KVM accepted all of them. */
    public void setMsrs(long[][] msrs) {
        Memory m = new Memory(SIZEOF_KVM_MSRS + (long) msrs.length * SIZEOF_KVM_MSR_ENTRY);
        m.clear();
        m.setInt(0, msrs.length);
        for (int i = 0; i < msrs.length; i++) {
            long o = SIZEOF_KVM_MSRS + (long) i * SIZEOF_KVM_MSR_ENTRY;
            m.setInt(o, (int) msrs[i][0]);
            m.setLong(o + 8, msrs[i][1]);
        }
        int n = KvmSys.ioctlOrThrow(fd, KVM_SET_MSRS, m, "KVM_SET_MSRS");
        if (n != msrs.length) {
            throw new KvmException(String.format("KVM_SET_MSRS failed: MSR 0x%x was not accepted", msrs[n][0]));
        }
    }

    /** KVM_GET_MSRS for one MSR. */
    public long getMsr(int msr) {
        Memory m = new Memory(SIZEOF_KVM_MSRS + SIZEOF_KVM_MSR_ENTRY);
        m.clear();
        m.setInt(0, 1);
        m.setInt(SIZEOF_KVM_MSRS, msr);
        int n = KvmSys.ioctlOrThrow(fd, KVM_GET_MSRS, m, "KVM_GET_MSRS");
        if (n != 1) {
            throw new KvmException(String.format("KVM_GET_MSRS failed: MSR 0x%x is not readable", msr));
        }
        return m.getLong(SIZEOF_KVM_MSRS + 8);
    }

    /** The MSR values a firmware-less boot starts with (as Firecracker sets them). */
    public void setBootMsrs() {
        setMsrs(new long[][] {
            {MSR_IA32_SYSENTER_CS, 0}, {MSR_IA32_SYSENTER_ESP, 0}, {MSR_IA32_SYSENTER_EIP, 0},
            {MSR_STAR, 0}, {MSR_CSTAR, 0}, {MSR_KERNEL_GS_BASE, 0}, {MSR_SYSCALL_MASK, 0}, {MSR_LSTAR, 0},
            {MSR_IA32_TSC, 0},
            {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
            {MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK},
        });
    }

    /** LINT0 as ExtINT (the 8259 PIC's output) and LINT1 as NMI, what the BIOS would have programmed. */
    public void setupLapic() {
        Memory m = new Memory(SIZEOF_KVM_LAPIC_STATE);
        KvmSys.ioctlOrThrow(fd, KVM_GET_LAPIC, m, "KVM_GET_LAPIC");
        m.setInt(APIC_LVT_LINT0, (m.getInt(APIC_LVT_LINT0) & ~0x700) | (APIC_MODE_EXTINT << 8));
        m.setInt(APIC_LVT_LINT1, (m.getInt(APIC_LVT_LINT1) & ~0x700) | (APIC_MODE_NMI << 8));
        KvmSys.ioctlOrThrow(fd, KVM_SET_LAPIC, m, "KVM_SET_LAPIC");
    }

    /** Reads LAPIC register at offset (for tests and diagnostics). */
    public int lapicRegister(int offset) {
        Memory m = new Memory(SIZEOF_KVM_LAPIC_STATE);
        KvmSys.ioctlOrThrow(fd, KVM_GET_LAPIC, m, "KVM_GET_LAPIC");
        return m.getInt(offset);
    }

    public int mpState() {
        Memory m = new Memory(4);
        KvmSys.ioctlOrThrow(fd, KVM_GET_MP_STATE, m, "KVM_GET_MP_STATE");
        return m.getInt(0);
    }

    public void setMpState(int state) {
        Memory m = new Memory(4);
        m.setInt(0, state);
        KvmSys.ioctlOrThrow(fd, KVM_SET_MP_STATE, m, "KVM_SET_MP_STATE");
    }

    public synchronized Regs getRegs() {
        KvmSys.ioctlOrThrow(fd, KVM_GET_REGS, regsBuf, "KVM_GET_REGS");
        long[] a = new long[18];
        regsBuf.read(0, a, 0, 18);
        return Regs.fromArray(a);
    }

    public synchronized void setRegs(Regs r) {
        regsBuf.write(0, r.toArray(), 0, 18);
        KvmSys.ioctlOrThrow(fd, KVM_SET_REGS, regsBuf, "KVM_SET_REGS");
    }

    private static Segment readSeg(Memory m, long o) {
        return new Segment(m.getLong(o), m.getInt(o + 8), m.getShort(o + 12) & 0xffff, m.getByte(o + 14) & 0xff,
                m.getByte(o + 15) != 0, m.getByte(o + 16) & 0xff, m.getByte(o + 17) != 0, m.getByte(o + 18) != 0,
                m.getByte(o + 19) != 0, m.getByte(o + 20) != 0, m.getByte(o + 21) != 0, m.getByte(o + 22) != 0);
    }

    private static void writeSeg(Memory m, long o, Segment s) {
        m.setLong(o, s.base());
        m.setInt(o + 8, s.limit());
        m.setShort(o + 12, (short) s.selector());
        m.setByte(o + 14, (byte) s.type());
        m.setByte(o + 15, (byte) (s.present() ? 1 : 0));
        m.setByte(o + 16, (byte) s.dpl());
        m.setByte(o + 17, (byte) (s.db() ? 1 : 0));
        m.setByte(o + 18, (byte) (s.s() ? 1 : 0));
        m.setByte(o + 19, (byte) (s.l() ? 1 : 0));
        m.setByte(o + 20, (byte) (s.g() ? 1 : 0));
        m.setByte(o + 21, (byte) (s.avl() ? 1 : 0));
        m.setByte(o + 22, (byte) (s.unusable() ? 1 : 0));
        m.setByte(o + 23, (byte) 0);
    }

    public synchronized Sregs getSregs() {
        Memory m = sregsBuf;
        KvmSys.ioctlOrThrow(fd, KVM_GET_SREGS, m, "KVM_GET_SREGS");
        Segment[] s = new Segment[8];
        for (int i = 0; i < 8; i++) {
            s[i] = readSeg(m, i * 24L);
        }
        long[] bitmap = new long[4];
        m.read(280, bitmap, 0, 4);
        return new Sregs(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                new Sregs.DescriptorTable(m.getLong(192), m.getShort(200) & 0xffff),
                new Sregs.DescriptorTable(m.getLong(208), m.getShort(216) & 0xffff),
                m.getLong(224), m.getLong(232), m.getLong(240), m.getLong(248), m.getLong(256), m.getLong(264),
                m.getLong(272), bitmap);
    }

    public synchronized void setSregs(Sregs r) {
        Memory m = sregsBuf;
        m.clear();
        Segment[] s = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
        for (int i = 0; i < 8; i++) {
            writeSeg(m, i * 24L, s[i]);
        }
        m.setLong(192, r.gdt().base());
        m.setShort(200, (short) r.gdt().limit());
        m.setLong(208, r.idt().base());
        m.setShort(216, (short) r.idt().limit());
        m.setLong(224, r.cr0());
        m.setLong(232, r.cr2());
        m.setLong(240, r.cr3());
        m.setLong(248, r.cr4());
        m.setLong(256, r.cr8());
        m.setLong(264, r.efer());
        m.setLong(272, r.apicBase());
        m.write(280, r.interruptBitmap(), 0, 4);
        KvmSys.ioctlOrThrow(fd, KVM_SET_SREGS, m, "KVM_SET_SREGS");
    }

    /** Resets x87/SSE state to power-on defaults. */
    public void resetFpu() {
        Memory m = new Memory(SIZEOF_KVM_FPU);
        m.clear();
        m.setShort(128, (short) FPU_FCW_DEFAULT);
        m.setInt(408, MXCSR_DEFAULT);
        KvmSys.ioctlOrThrow(fd, KVM_SET_FPU, m, "KVM_SET_FPU");
    }

    /**
     * Puts this vCPU at a loader's entry in 32-bit flat protected mode (GDT at {@link BootGdt#GDT_ADDR},
     * CS = 0x10, data = 0x18, CR0 = PE|ET, paging off) with the entry's registers. Call while stopped or
     * paused; the GDT itself is written by the loader.
     */
    public void resetToEntry(BootEntry entry) {
        completePendingIo(); // a device resetting from its own exit: finish that access first
        Sregs s = getSregs();
        Segment cs = Segment.flat32(BootGdt.CODE_SELECTOR, true);
        Segment ds = Segment.flat32(BootGdt.DATA_SELECTOR, false);
        s = s.withSegments(cs, ds)
                .withGdt(new Sregs.DescriptorTable(BootGdt.GDT_ADDR, BootGdt.GDT_LIMIT))
                .withIdt(new Sregs.DescriptorTable(0, 0))
                .withControl(Sregs.CR0_PE | Sregs.CR0_ET, 0, 0, 0);
        setSregs(s);
        setRegs(Regs.entry(entry.rip(), entry.eax() & 0xffffffffL, entry.ebx() & 0xffffffffL,
                entry.esi() & 0xffffffffL));
        resetFpu();
        setBootMsrs();
        restoreInitialLapic();
        setMpState(KVM_MP_STATE_RUNNABLE);
    }

    /**
     * Starts this vCPU in real mode at segment:offset, the way firmware enters an ACPI waking vector on
     * resume from S3 (ACPI 6.4 section 4.8.3.2.1: real mode, CS = vector >> 4, IP = vector & 0xf).
     * Call while stopped or paused.
     */
    public void resetToRealMode(int segment, int offset) {
        Sregs s = getSregs();
        Segment cs = Segment.real(segment, true);
        Segment ds = Segment.real(segment, false);
        s = s.withSegments(cs, ds)
                .withGdt(new Sregs.DescriptorTable(0, 0xffff))
                .withIdt(new Sregs.DescriptorTable(0, 0x3ff))
                .withControl(Sregs.CR0_ET, 0, 0, 0);
        setSregs(s);
        setRegs(Regs.entry(offset & 0xffff, 0, 0, 0));
        resetFpu();
        setBootMsrs();
        restoreInitialLapic();
        setMpState(KVM_MP_STATE_RUNNABLE);
    }

    /**
     * The processor state after RESET (Intel SDM vol. 3A section 9.1.1, table 9-1): real mode with CS
     * selector 0xf000 and base 0xffff0000, so that the first fetch is the reset vector 0xfffffff0 at the top
     * of the firmware ROM; CR0 0x60000010 (CD, NW, ET); descriptor table limits 0xffff. Call while stopped or
     * paused.
     */
    public void resetToPowerOn() {
        completePendingIo();
        Sregs s = getSregs();
        Segment cs = new Segment(RESET_CS_BASE, 0xffff, RESET_CS_SELECTOR, 0xb, true, 0, false, true, false,
                false, false, false);
        s = s.withSegments(cs, Segment.real(0, false))
                .withGdt(new Sregs.DescriptorTable(0, 0xffff))
                .withIdt(new Sregs.DescriptorTable(0, 0xffff))
                .withControl(RESET_CR0, 0, 0, 0);
        setSregs(s);
        setRegs(Regs.entry(RESET_IP, 0, 0, 0));
        resetFpu();
        setBootMsrs();
        restoreInitialLapic();
        setMpState(KVM_MP_STATE_RUNNABLE);
    }

    /** The reset vector's code segment: selector 0xf000 with the base at 4 GiB - 64 KiB. */
    public static final int RESET_CS_SELECTOR = 0xf000;
    public static final long RESET_CS_BASE = 0xffff0000L;
    public static final long RESET_IP = 0xfff0;
    public static final long RESET_CR0 = 0x60000010L;

    /**
     * Resets an application processor for a machine reset: boot MSRs, the LAPIC as created, and
     * wait-for-SIPI (KVM_MP_STATE_UNINITIALIZED), as after power-on.
     */
    /** Queues an NMI (KVM_NMI; watchdog action inject-nmi). Call with the vCPU out of KVM_RUN. */
    public void injectNmi() {
        KvmSys.ioctlOrThrow(fd, KVM_NMI, 0L, "KVM_NMI");
    }

    public void resetAsAp() {
        completePendingIo();
        resetFpu();
        setBootMsrs();
        restoreInitialLapic();
        setMpState(KVM_MP_STATE_UNINITIALIZED);
    }

    private void restoreInitialLapic() {
        Memory m = new Memory(SIZEOF_KVM_LAPIC_STATE);
        m.write(0, initialLapic, 0, initialLapic.length);
        KvmSys.ioctlOrThrow(fd, KVM_SET_LAPIC, m, "KVM_SET_LAPIC");
    }

    /**
     * True after a PIO/MMIO exit until the next KVM_RUN: KVM finishes the access (stores IN data in EAX,
     * advances RIP) only when re-entered. Confined to the vCPU thread.
     */
    private boolean ioPending;

    /** On the vCPU thread: re-enters KVM_RUN once with immediate_exit set so KVM completes the last access. */
    private void completePendingIo() {
        if (ioPending && Thread.currentThread() == thread) {
            run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
            KvmSys.ioctl(fd, KVM_RUN, 0L);
            ioPending = false;
        }
    }

    /** Sets immediate_exit and signals the thread so KVM_RUN returns promptly (EINTR). */
    void kick() {
        run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
        VarHandle.fullFence();
        long pt = pthread;
        if (pt != 0 && !exited) {
            KvmSys.pthread_kill(pt, Kvm.SIG_VCPU_KICK);
        }
    }

    /**
     * The vCPU thread's loop; returns when the set is stopped. Fatal exits mark the vCPU self-paused
     * before calling the handler, so a handler that resets and calls resumeAll() synchronously works.
     */
    void runLoop(VcpuSet set, PioBus pio, MmioBus mmio, VcpuExitHandler handler) {
        tid = KvmSys.gettid();
        pthread = KvmSys.pthread_self();
        final ByteBuffer r = run;
        try {
            while (true) {
                if (set.pauseRequested || selfPause || set.stopRequested || removed) {
                    completePendingIo();
                    if (!set.park(this)) {
                        return;
                    }
                    continue;
                }
                int rc = KvmSys.ioctl(fd, KVM_RUN, 0L);
                ioPending = false;
                if (rc < 0) {
                    int errno = Native.getLastError();
                    if (errno == KvmSys.EINTR || errno == KvmSys.EAGAIN) {
                        // Kicked: drop immediate_exit, then the loop top re-reads the pause flags.
                        r.put(RUN_IMMEDIATE_EXIT, (byte) 0);
                        VarHandle.fullFence();
                        continue;
                    }
                    selfPause = true;
                    handler.onUnhandledExit(this, -errno);
                    continue;
                }
                int reason = r.getInt(RUN_EXIT_REASON);
                switch (reason) {
                    case KVM_EXIT_IO -> {
                        ioPending = true;
                        try {
                            handleIo(r, pio);
                        } catch (RuntimeException e) {
                            handler.onDeviceError(this, e);
                        }
                    }
                    case KVM_EXIT_MMIO -> {
                        ioPending = true;
                        try {
                            handleMmio(r, mmio);
                        } catch (RuntimeException e) {
                            handler.onDeviceError(this, e);
                        }
                    }
                    case KVM_EXIT_INTR -> { }
                    case KVM_EXIT_HLT -> handler.onHalt(this);
                    case KVM_EXIT_SHUTDOWN -> {
                        selfPause = true;
                        handler.onTripleFault(this);
                    }
                    case KVM_EXIT_INTERNAL_ERROR -> {
                        int n = Math.min(r.getInt(RUN_INTERNAL_NDATA), 16);
                        long[] data = new long[Math.max(n, 0)];
                        for (int i = 0; i < data.length; i++) {
                            data[i] = r.getLong(RUN_INTERNAL_DATA + 8 * i);
                        }
                        selfPause = true;
                        handler.onInternalError(this, r.getInt(RUN_INTERNAL_SUBERROR), data);
                    }
                    case KVM_EXIT_FAIL_ENTRY -> {
                        selfPause = true;
                        handler.onFailEntry(this, r.getLong(RUN_FAIL_ENTRY_REASON));
                    }
                    case KVM_EXIT_SYSTEM_EVENT -> {
                        int n = Math.min(r.getInt(RUN_SYSTEM_EVENT_NDATA), 16);
                        long[] data = new long[Math.max(n, 0)];
                        for (int i = 0; i < data.length; i++) {
                            data[i] = r.getLong(RUN_SYSTEM_EVENT_DATA + 8 * i);
                        }
                        selfPause = true;
                        handler.onSystemEvent(this, r.getInt(RUN_SYSTEM_EVENT_TYPE), data);
                    }
                    default -> {
                        selfPause = true;
                        handler.onUnhandledExit(this, reason);
                    }
                }
            }
        } finally {
            set.exited(this);
        }
    }

    private static void handleIo(ByteBuffer r, PioBus pio) {
        int size = r.get(RUN_IO_SIZE);
        int port = r.getShort(RUN_IO_PORT) & 0xffff;
        int count = r.getInt(RUN_IO_COUNT);
        int off = (int) r.getLong(RUN_IO_DATA_OFFSET);
        boolean out = r.get(RUN_IO_DIRECTION) == KVM_EXIT_IO_OUT;
        // String I/O (rep ins/outs) comes as count items laid out back to back.
        for (int i = 0; i < count; i++, off += size) {
            if (out) {
                long v = switch (size) {
                    case 1 -> r.get(off) & 0xffL;
                    case 2 -> r.getShort(off) & 0xffffL;
                    default -> r.getInt(off) & 0xffffffffL;
                };
                pio.write(port, size, v);
            } else {
                long v = pio.read(port, size);
                switch (size) {
                    case 1 -> r.put(off, (byte) v);
                    case 2 -> r.putShort(off, (short) v);
                    default -> r.putInt(off, (int) v);
                }
            }
        }
    }

    private static void handleMmio(ByteBuffer r, MmioBus mmio) {
        long addr = r.getLong(RUN_MMIO_PHYS_ADDR);
        int len = r.getInt(RUN_MMIO_LEN);
        if (len <= 0 || len > 8) {
            return;
        }
        long mask = len == 8 ? -1L : (1L << (len * 8)) - 1;
        if (r.get(RUN_MMIO_IS_WRITE) != 0) {
            mmio.write(addr, len, r.getLong(RUN_MMIO_DATA) & mask);
        } else {
            long v = mmio.read(addr, len);
            r.putLong(RUN_MMIO_DATA, v & mask);
        }
    }

    /** A register dump laid out like QEMU's x86_cpu_dump_state ("info registers"), without the Code= line. */
    public String dumpRegisters() {
        return RegisterDump.format(getRegs(), getSregs(), debugRegisters(), null);
    }

    /** As {@link #dumpRegisters()} plus QEMU's Code= line read from guest memory around CS:RIP. */
    public String dumpRegisters(GuestMemory mem) {
        Regs r = getRegs();
        Sregs s = getSregs();
        int[] code = new int[RegisterDump.CODE_BYTES_TOTAL];
        long linear = s.cs().base() + r.rip() - RegisterDump.CODE_BYTES_BACKWARD;
        for (int i = 0; i < code.length; i++) {
            code[i] = readLinearByte(mem, linear + i, s);
        }
        return RegisterDump.format(r, s, debugRegisters(), code);
    }

    /**
     * The report QEMU prints for KVM_EXIT_INTERNAL_ERROR ("KVM internal error. Suberror: N", the extra data,
     * "emulation failure" and the register dump for suberror 1).
     */
    public String internalErrorReport(int suberror, long[] data, GuestMemory mem) {
        StringBuilder b = new StringBuilder();
        b.append("KVM internal error. Suberror: ").append(suberror).append(System.lineSeparator());
        for (int i = 0; i < data.length; i++) {
            b.append(String.format("extra data[%d]: 0x%016x%n", i, data[i]));
        }
        if (suberror == KVM_INTERNAL_ERROR_EMULATION) {
            b.append("emulation failure").append(System.lineSeparator());
            b.append(mem != null ? dumpRegisters(mem) : dumpRegisters());
        }
        return b.toString();
    }

    /** KVM_GET_DEBUGREGS as {DR0..DR3, DR6, DR7}, or null where KVM cannot give them. */
    public long[] debugRegisters() {
        Memory m = new Memory(SIZEOF_KVM_DEBUGREGS);
        m.clear();
        if (KvmSys.ioctl(fd, KVM_GET_DEBUGREGS, m) < 0) {
            return null;
        }
        return new long[] {m.getLong(0), m.getLong(8), m.getLong(16), m.getLong(24), m.getLong(32), m.getLong(40)};
    }

    /** One byte at a guest linear address (through the guest's page tables when paging is on), or -1. */
    private int readLinearByte(GuestMemory mem, long linear, Sregs s) {
        long phys = linear;
        if ((s.cr0() & CR0_PG) != 0) {
            Memory t = new Memory(SIZEOF_KVM_TRANSLATION);
            t.clear();
            t.setLong(0, linear);
            if (KvmSys.ioctl(fd, KVM_TRANSLATE, t) < 0 || t.getByte(16) == 0) {
                return -1;
            }
            phys = t.getLong(8);
        } else {
            phys &= 0xffffffffL;
        }
        if (!mem.contains(phys, 1)) {
            return -1;
        }
        return mem.readByte(phys) & 0xff;
    }

    private static final long CR0_PG = 1L << 31;
    /** kvm_run.internal.suberror for an instruction KVM could not emulate. */
    public static final int KVM_INTERNAL_ERROR_EMULATION = 1;

    @Override
    public void close() {
        LibC.munmap(runMap, runSize);
        KvmSys.close(fd);
    }
}
