package dev.jvmm.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.InterruptController;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.MemorySlots;
import dev.jvmm.core.memory.RamRange;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

import static dev.jvmm.kvm.KvmIoctls.*;

/**
 * A KVM virtual machine laid out like QEMU's pc machine: in-kernel PIC/IOAPIC/LAPIC, PIT (speaker dummy;
 * optional, as QEMU's pit=off leaves it out and its ports unassigned), and the same GSI routing, so ISA
 * IRQ n is GSI n and the PIT's GSI 0 arrives at IOAPIC pin 2.
 */
public final class KvmVm implements InterruptController, MsiRouter, IoEventRegistry, MemorySlots, AutoCloseable {
    /** Where QEMU puts the three TSS pages and the EPT identity-map page, just below the BIOS. */
    public static final long TSS_ADDR = 0xfffbd000L;
    public static final long IDENTITY_MAP_ADDR = 0xfeffc000L;
    public static final int IOAPIC_PINS = 24;
    private static final int MAX_GSI = 1024;

    private final Kvm kvm;
    private final int fd;
    private final AtomicReferenceArray<KvmIrqLine> lines = new AtomicReferenceArray<>(MAX_GSI);
    private final ThreadLocal<Memory> msiBuffer = ThreadLocal.withInitial(() -> new Memory(SIZEOF_KVM_MSI));
    private int nextSlot;
    /** Slot numbers given back by {@link #removeSlot}, taken again before new ones; guarded by this. */
    private final java.util.ArrayDeque<Integer> freeSlots = new java.util.ArrayDeque<>();
    /** PIC master, PIC slave and IOAPIC state as created, restored by {@link #resetInterruptState()}. */
    private final Memory[] initialIrqchips = new Memory[3];
    private final Memory initialPit = new Memory(SIZEOF_KVM_PIT_STATE2);
    /** MSI routes added for irqfd delivery of MSI/MSI-X, by GSI; guarded by this. */
    private final java.util.TreeMap<Integer, MsiRoute> msiRoutes = new java.util.TreeMap<>();

    /** GSIs handed out to MSI vectors and not yet closed; guarded by this. */
    private final java.util.BitSet msiGsisInUse = new java.util.BitSet(MAX_GSI);

    /** A GSI routed to a message-signalled interrupt (for irqfd-driven MSI-X vectors). */
    public record MsiRoute(int gsi, long address, int data) {
    }

    /** First GSI free for MSI routes: the IOAPIC owns 0-23. */
    public static final int FIRST_MSI_GSI = IOAPIC_PINS;

    /** Whether the VM has KVM's in-kernel PIT (QEMU's -machine pit=off leaves it out). */
    private final boolean pit;

    KvmVm(Kvm kvm, boolean pit) {
        this.kvm = kvm;
        this.pit = pit;
        int vmfd = KvmSys.ioctl(kvm.fd(), KVM_CREATE_VM, 0L);
        if (vmfd < 0) {
            throw new KvmException("KVM_CREATE_VM", Native.getLastError());
        }
        this.fd = vmfd;
        try {
            KvmSys.ioctlOrThrow(fd, KVM_SET_TSS_ADDR, TSS_ADDR, "KVM_SET_TSS_ADDR");
            Memory idmap = new Memory(8);
            idmap.setLong(0, IDENTITY_MAP_ADDR);
            KvmSys.ioctlOrThrow(fd, KVM_SET_IDENTITY_MAP_ADDR, idmap, "KVM_SET_IDENTITY_MAP_ADDR");
            KvmSys.ioctlOrThrow(fd, KVM_CREATE_IRQCHIP, 0L, "KVM_CREATE_IRQCHIP");
            if (pit) {
                Memory config = new Memory(SIZEOF_KVM_PIT_CONFIG);
                config.clear();
                config.setInt(0, KVM_PIT_SPEAKER_DUMMY);
                KvmSys.ioctlOrThrow(fd, KVM_CREATE_PIT2, config, "KVM_CREATE_PIT2");
            }
            setPcIrqRouting();
            for (int chip = 0; chip < 3; chip++) {
                initialIrqchips[chip] = new Memory(SIZEOF_KVM_IRQCHIP);
                initialIrqchips[chip].clear();
                initialIrqchips[chip].setInt(0, chip);
                KvmSys.ioctlOrThrow(fd, KVM_GET_IRQCHIP, initialIrqchips[chip], "KVM_GET_IRQCHIP");
            }
            if (pit) {
                KvmSys.ioctlOrThrow(fd, KVM_GET_PIT2, initialPit, "KVM_GET_PIT2");
            }
        } catch (RuntimeException e) {
            KvmSys.close(fd);
            throw e;
        }
    }

    /** One GSI route entry: (gsi, irqchip, pin). */
    public record Route(int gsi, int irqchip, int pin) {
    }

    /** The routes of QEMU's kvm_pc_setup_irq_routing: PIC for GSIs 0-15 (not 2), IOAPIC 0-23 (GSI 0 to pin 2). */
    public static List<Route> pcRoutes() {
        List<Route> r = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            if (i != 2) {
                r.add(new Route(i, KVM_IRQCHIP_PIC_MASTER, i));
            }
        }
        for (int i = 8; i < 16; i++) {
            r.add(new Route(i, KVM_IRQCHIP_PIC_SLAVE, i - 8));
        }
        for (int i = 0; i < IOAPIC_PINS; i++) {
            if (i == 0) {
                r.add(new Route(0, KVM_IRQCHIP_IOAPIC, 2));
            } else if (i != 2) {
                r.add(new Route(i, KVM_IRQCHIP_IOAPIC, i));
            }
        }
        return r;
    }

    /** KVM_SET_GSI_ROUTING replaces the whole table, so every change sends the PC routes plus the MSI ones. */
    private synchronized void setPcIrqRouting() {
        List<Route> routes = pcRoutes();
        int n = routes.size() + msiRoutes.size();
        Memory m = new Memory(SIZEOF_KVM_IRQ_ROUTING + (long) n * SIZEOF_KVM_IRQ_ROUTING_ENTRY);
        m.clear();
        m.setInt(0, n);
        int i = 0;
        for (Route r : routes) {
            long o = SIZEOF_KVM_IRQ_ROUTING + (long) i++ * SIZEOF_KVM_IRQ_ROUTING_ENTRY;
            m.setInt(o, r.gsi());
            m.setInt(o + 4, KVM_IRQ_ROUTING_IRQCHIP);
            m.setInt(o + 16, r.irqchip());
            m.setInt(o + 20, r.pin());
        }
        for (MsiRoute r : msiRoutes.values()) {
            long o = SIZEOF_KVM_IRQ_ROUTING + (long) i++ * SIZEOF_KVM_IRQ_ROUTING_ENTRY;
            m.setInt(o, r.gsi());
            m.setInt(o + 4, KVM_IRQ_ROUTING_MSI);
            m.setInt(o + 16, (int) r.address());
            m.setInt(o + 20, (int) (r.address() >>> 32));
            m.setInt(o + 24, r.data());
        }
        KvmSys.ioctlOrThrow(fd, KVM_SET_GSI_ROUTING, m, "KVM_SET_GSI_ROUTING");
    }

    /**
     * Machine reset of the in-kernel PIC, IOAPIC and PIT (KVM_SET_IRQCHIP/KVM_SET_PIT2 with the state read
     * at creation). Call with every vCPU paused; LAPICs are reset per vCPU.
     */
    public synchronized void resetInterruptState() {
        for (Memory chip : initialIrqchips) {
            KvmSys.ioctlOrThrow(fd, KVM_SET_IRQCHIP, chip, "KVM_SET_IRQCHIP");
        }
        if (pit) {
            KvmSys.ioctlOrThrow(fd, KVM_SET_PIT2, initialPit, "KVM_SET_PIT2");
        }
    }

    /** kvm_pit_state2.flags bit 0: the HPET's legacy replacement mode has the PIT's IRQ 0 output cut. */
    public static final int KVM_PIT_FLAGS_HPET_LEGACY = 0x1;
    /** Offset of flags in struct kvm_pit_state2, after three 24-byte kvm_pit_channel_state. */
    private static final int PIT_STATE2_FLAGS = 72;

    /**
     * Tells the in-kernel PIT whether the HPET's legacy replacement mode owns IRQ 0 (QEMU's kvm_pit_put with
     * KVM_PIT_FLAGS_HPET_LEGACY); nothing without a PIT.
     */
    public synchronized void setPitHpetLegacy(boolean legacy) {
        if (!pit) {
            return;
        }
        Memory m = new Memory(SIZEOF_KVM_PIT_STATE2);
        KvmSys.ioctlOrThrow(fd, KVM_GET_PIT2, m, "KVM_GET_PIT2");
        int flags = m.getInt(PIT_STATE2_FLAGS);
        m.setInt(PIT_STATE2_FLAGS, legacy ? flags | KVM_PIT_FLAGS_HPET_LEGACY : flags & ~KVM_PIT_FLAGS_HPET_LEGACY);
        KvmSys.ioctlOrThrow(fd, KVM_SET_PIT2, m, "KVM_SET_PIT2");
    }

    /** Routes gsi (at least {@link #FIRST_MSI_GSI}) to an MSI, so an irqfd on it raises that MSI. */
    public synchronized void setMsiRoute(int gsi, long address, int data) {
        if (gsi < FIRST_MSI_GSI || gsi >= MAX_GSI) {
            throw new IllegalArgumentException("GSI " + gsi + " cannot carry an MSI route");
        }
        msiRoutes.put(gsi, new MsiRoute(gsi, address, data));
        setPcIrqRouting();
    }

    public synchronized void removeMsiRoute(int gsi) {
        if (msiRoutes.remove(gsi) != null) {
            setPcIrqRouting();
        }
    }

    public Kvm kvm() {
        return kvm;
    }

    int fd() {
        return fd;
    }

    /** Registers every RAM range of memory as a KVM memory slot. */
    public synchronized void registerMemory(GuestMemory memory) {
        Memory m = new Memory(SIZEOF_KVM_USERSPACE_MEMORY_REGION);
        List<RamRange> ranges = memory.ranges();
        for (int i = 0; i < ranges.size(); i++) {
            RamRange r = ranges.get(i);
            m.setInt(0, nextSlot++);
            m.setInt(4, 0);
            m.setLong(8, r.guestAddress());
            m.setLong(16, r.size());
            m.setLong(24, memory.hostAddress(i));
            KvmSys.ioctlOrThrow(fd, KVM_SET_USER_MEMORY_REGION, m, "KVM_SET_USER_MEMORY_REGION");
        }
    }

    /** kvm_userspace_memory_region.flags bit 1: guest writes to the slot exit as MMIO instead. */
    public static final int KVM_MEM_READONLY = 1 << 1;

    /**
     * Maps [gpa, gpa + size) to host memory at hostAddress (page-aligned) as a new slot, read-only or not,
     * and returns the slot's number for {@link #removeSlot}.
     */
    @Override
    public synchronized int addSlot(long gpa, long size, long hostAddress, boolean readOnly) {
        Integer reused = freeSlots.poll();
        int slot = reused != null ? reused : nextSlot++;
        setSlot(slot, gpa, size, hostAddress, readOnly ? KVM_MEM_READONLY : 0);
        return slot;
    }

    /** Unmaps a slot {@link #addSlot} made (a region of size 0 deletes it). */
    @Override
    public synchronized void removeSlot(int slot) {
        setSlot(slot, 0, 0, 0, 0);
        freeSlots.push(slot);
    }

    private void setSlot(int slot, long gpa, long size, long hostAddress, int flags) {
        Memory m = new Memory(SIZEOF_KVM_USERSPACE_MEMORY_REGION);
        m.setInt(0, slot);
        m.setInt(4, flags);
        m.setLong(8, gpa);
        m.setLong(16, size);
        m.setLong(24, hostAddress);
        KvmSys.ioctlOrThrow(fd, KVM_SET_USER_MEMORY_REGION, m, "KVM_SET_USER_MEMORY_REGION");
    }

    @Override
    public IrqLine line(int gsi) {
        if (gsi < 0 || gsi >= MAX_GSI) {
            throw new IllegalArgumentException("GSI " + gsi + " out of range");
        }
        KvmIrqLine l = lines.get(gsi);
        if (l == null) {
            lines.compareAndSet(gsi, null, new KvmIrqLine(fd, gsi));
            l = lines.get(gsi);
        }
        return l;
    }

    /** KVM_IRQ_LINE with a per-line preallocated kvm_irq_level; the monitor makes it safe from any thread. */
    private static final class KvmIrqLine implements IrqLine {
        private final int vmfd;
        private final Memory arg = new Memory(SIZEOF_KVM_IRQ_LEVEL);

        KvmIrqLine(int vmfd, int gsi) {
            this.vmfd = vmfd;
            arg.setInt(0, gsi);
        }

        @Override
        public synchronized void setLevel(boolean high) {
            arg.setInt(4, high ? 1 : 0);
            KvmSys.ioctlOrThrow(vmfd, KVM_IRQ_LINE, arg, "KVM_IRQ_LINE");
        }
    }

    @Override
    public void signalMsi(long address, int data) {
        Memory m = msiBuffer.get();
        m.setInt(0, (int) address);
        m.setInt(4, (int) (address >>> 32));
        m.setInt(8, data);
        m.setInt(12, 0);
        m.setInt(16, 0);
        // A return of 0 means the guest had the vector masked; that is not an error.
        KvmSys.ioctlOrThrow(fd, KVM_SIGNAL_MSI, m, "KVM_SIGNAL_MSI");
    }

    /**
     * An MSI-X vector delivered by irqfd: its own GSI with an MSI route, and an eventfd bound to that GSI, so
     * a trigger is one eventfd write from any thread and KVM injects the message without a vCPU exit.
     */
    @Override
    public MsiVector allocate() {
        int gsi;
        synchronized (this) {
            gsi = msiGsisInUse.nextClearBit(FIRST_MSI_GSI);
            if (gsi >= MAX_GSI) {
                throw new KvmException("no free GSI for an MSI vector (all " + MAX_GSI + " in use)");
            }
            msiGsisInUse.set(gsi);
        }
        EventFd efd = new EventFd();
        try {
            irqfd(efd.fd(), gsi, 0);
        } catch (RuntimeException e) {
            efd.close();
            synchronized (this) {
                msiGsisInUse.clear(gsi);
            }
            throw e;
        }
        return new IrqfdVector(gsi, efd);
    }

    private final class IrqfdVector implements MsiVector {
        private final int gsi;
        private final EventFd efd;
        private long address = -1;
        private int data = -1;
        private boolean closed;

        IrqfdVector(int gsi, EventFd efd) {
            this.gsi = gsi;
            this.efd = efd;
        }

        @Override
        public void update(long address, int data) {
            synchronized (KvmVm.this) {
                // Re-sending the whole routing table is costly; guests rewrite an entry with the same values often.
                if (closed || (address == this.address && data == this.data)) {
                    return;
                }
                this.address = address;
                this.data = data;
                setMsiRoute(gsi, address, data);
            }
        }

        @Override
        public void trigger() {
            if (!closed && address != -1) {
                efd.signal();
            }
        }

        @Override
        public void close() {
            synchronized (KvmVm.this) {
                if (closed) {
                    return;
                }
                closed = true;
                try {
                    irqfd(efd.fd(), gsi, KVM_IRQFD_FLAG_DEASSIGN);
                } catch (RuntimeException e) {
                    // The VM is being torn down; the fd close below releases KVM's reference anyway.
                }
                removeMsiRoute(gsi);
                msiGsisInUse.clear(gsi);
            }
            efd.close();
        }
    }

    private void irqfd(int efd, int gsi, int flags) {
        Memory m = new Memory(SIZEOF_KVM_IRQFD);
        m.clear();
        m.setInt(0, efd);
        m.setInt(4, gsi);
        m.setInt(8, flags);
        KvmSys.ioctlOrThrow(fd, KVM_IRQFD, m, "KVM_IRQFD");
    }

    /** KVM_IOEVENTFD for a device-owned eventfd (the device keeps ownership and closes it). */
    @Override
    public boolean register(long addr, int len, boolean pio, long datamatch, EventFd efd) {
        try {
            ioeventfd(addr, len, pio, datamatch, efd.fd(), 0);
            return true;
        } catch (KvmException e) {
            // Overlapping registrations or an address KVM refuses: the write then exits to the handler.
            return false;
        }
    }

    @Override
    public void unregister(long addr, int len, boolean pio, long datamatch, EventFd efd) {
        try {
            ioeventfd(addr, len, pio, datamatch, efd.fd(), KVM_IOEVENTFD_FLAG_DEASSIGN);
        } catch (KvmException e) {
            // Not registered (already removed); nothing to undo.
        }
    }

    private void ioeventfd(long addr, int len, boolean pio, long datamatch, int efd, int extraFlags) {
        Memory m = new Memory(SIZEOF_KVM_IOEVENTFD);
        m.clear();
        m.setLong(0, datamatch);
        m.setLong(8, addr);
        m.setInt(16, len);
        m.setInt(20, efd);
        m.setInt(24, (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | KVM_IOEVENTFD_FLAG_DATAMATCH | extraFlags);
        KvmSys.ioctlOrThrow(fd, KVM_IOEVENTFD, m, "KVM_IOEVENTFD");
    }

    /** Creates vCPU index with the given CPUID model; see {@link Vcpu}. */
    public Vcpu createVcpu(int index, CpuModel model) {
        return new Vcpu(this, index, model);
    }

    @Override
    public void close() {
        KvmSys.close(fd);
    }
}
