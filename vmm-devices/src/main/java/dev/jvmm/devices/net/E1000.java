package dev.jvmm.devices.net;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.core.net.RxFilterInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.pci.IntxLine;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * Intel 82540EM Gigabit Ethernet Controller (PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual, 8254x), PCI 8086:100e, as QEMU 7.2's "e1000" models it: BAR0 the 128 KiB register file
 * with QEMU's register semantics, BAR1 the 64-byte I/O window (IOADDR/IODATA, which QEMU 7.2 leaves
 * unimplemented: it reads 0 and ignores writes), INTA#, the Microwire EEPROM ({@link E1000Eeprom}), the PHY
 * behind MDIC ({@link E1000Phy}), the transmit ring ({@link E1000Tx}) and the receive ring ({@link E1000Rx}).
 * The type, its properties and realize live in {@link E1000Device}.
 *
 * <p>Threads: MMIO runs on the vCPU thread, frames arrive on backend threads through the NIC client, timers on
 * the clock's thread; one lock guards the device. Frames are delivered under the net layer's delivery lock, so
 * a delivery that finds the device lock taken does not wait: the frame is queued and the holder flushes the
 * queue when it lets go. That keeps a backend answering synchronously (slirp's ARP) from deadlocking against a
 * vCPU sending under the device lock.
 *
 * <p>Interrupt causes, INTA# and QEMU's mitigation live in {@link E1000Interrupts}; the saved state's layout
 * and checks in {@link E1000State}.
 */
public final class E1000 implements PciFunction, Saveable {
    public static final int VENDOR_INTEL = 0x8086;
    /** E1000_DEV_ID_82540EM. */
    public static final int DEVICE_82540EM = 0x100e;
    public static final int REVISION = 0x03;
    /** Network controller, Ethernet. */
    public static final int CLASS_ETHERNET = 0x020000;
    static final int PCI_SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    static final int PCI_SUBSYSTEM_ID_QEMU = 0x1100;
    public static final int MMIO_SIZE = 0x20000;
    public static final int IO_SIZE = 0x40;
    /** QEMU's autonegotiation time and the RCTL receive hold-off, guest milliseconds. */
    static final long AUTONEG_NANOS = 500_000_000L;
    static final long RCTL_FLUSH_DELAY_NANOS = 1_000_000_000L;
    /** ITR/RADV/TADV units: mitigation delays are counted in 256 ns. */
    static final long MIT_UNIT_NANOS = 256;
    static final int MIT_MIN_DELAY = 500;

    /** The compatibility properties (QEMU's compat_flags), all on by default. */
    public record Flags(boolean autonegotiation, boolean mitigation, boolean extraMacRegisters,
            boolean migrateTsoProps, boolean initVet) {
        public static final Flags DEFAULT = new Flags(true, true, true, true, true);
    }

    final ReentrantLock lock = new ReentrantLock();
    private final GuestMemory memory;
    final VirtualClock clock;
    final VirtualClock.Timer autonegTimer;
    final VirtualClock.Timer flushTimer;
    final PciConfigSpace config;
    private final PciBar mmioBar;
    private final PciBar ioBar;
    private final List<PciBar> bars;
    private final Flags flags;
    private final byte[] confMac;
    private final String qdevId;
    final Nic nic;

    final int[] mac = new int[E1000MacRegs.WORDS];
    private final E1000Mmio registers = new E1000Mmio(this, mac);
    final E1000Phy phy = new E1000Phy();
    final E1000Eeprom eeprom;
    final E1000Tx tx;
    final E1000Rx rx;
    final E1000Interrupts irq;
    /** QEMU's migration flag: whether the last context descriptor was a TSO one. */
    boolean useTsoForMigration;
    private volatile MacAddress currentMac;
    /** Set when the net layer's queue needs a flush once the lock is released. */
    private volatile boolean needFlush;

    /**
     * @param nicName the NIC client's name (QEMU's: the id, else "e1000.N")
     * @param rom     the expansion ROM BAR (romfile), if any
     */
    public E1000(GuestMemory memory, VirtualClock clock, MacAddress macAddress, Flags flags, String nicName,
            String qdevId, Optional<PciBar> rom) {
        this.memory = memory;
        this.clock = clock;
        this.flags = flags;
        this.qdevId = qdevId;
        this.confMac = macAddress.bytes();
        this.currentMac = macAddress;
        this.config = new PciConfigSpace(VENDOR_INTEL, DEVICE_82540EM, REVISION, CLASS_ETHERNET, 0);
        this.mmioBar = new PciBar(0, PciBar.Kind.MEMORY32, MMIO_SIZE, false, registers.new Mmio());
        this.ioBar = new PciBar(1, PciBar.Kind.IO, IO_SIZE, false, new E1000Mmio.IoWindow());
        config.addBar(mmioBar);
        config.addBar(ioBar);
        List<PciBar> all = new ArrayList<>(List.of(mmioBar, ioBar));
        rom.ifPresent(r -> {
            config.addBar(r);
            all.add(r);
        });
        this.bars = List.copyOf(all);
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, PCI_SUBSYSTEM_VENDOR_QEMU);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, PCI_SUBSYSTEM_ID_QEMU);
        config.set8(PciConfigSpace.INTERRUPT_PIN, 1);
        config.sealInitialState();
        this.eeprom = new E1000Eeprom(confMac, DEVICE_82540EM);
        this.tx = new E1000Tx(this, mac);
        this.rx = new E1000Rx(this, mac);
        this.nic = new Nic(nicName);
        this.autonegTimer = clock.newTimer(this::autonegExpired);
        this.irq = new E1000Interrupts(this, mac, clock, flags.mitigation());
        this.flushTimer = clock.newTimer(this::flushExpired);
        lock.lock();
        try {
            resetDevice();
        } finally {
            lock.unlock();
        }
    }

    /** The NIC's net client: connect it to the netdev's queue and add it to the machine's clients. */
    public NicClient nic() {
        return nic;
    }

    public Flags flags() {
        return flags;
    }

    // ---- PCI function

    @Override
    public int readConfig(int offset, int size) {
        lock.lock();
        try {
            return config.read(offset, size);
        } finally {
            unlock();
        }
    }

    /** Turning bus mastering on lets frames held for it in; QEMU flushes the queue then. */
    @Override
    public void writeConfig(int offset, int size, int value) {
        lock.lock();
        try {
            config.write(offset, size, value);
            if (offset <= PciConfigSpace.COMMAND && offset + size > PciConfigSpace.COMMAND && busMaster()) {
                needFlush = true;
            }
        } finally {
            unlock();
        }
    }

    @Override
    public String description() {
        return "Ethernet controller";
    }

    @Override
    public String qdevId() {
        return qdevId;
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    @Override
    public void connectIntx(IntxLine line) {
        irq.connect(line);
    }

    /** Machine reset: configuration space and QEMU's e1000_reset. */
    @Override
    public void reset() {
        lock.lock();
        try {
            config.reset();
            resetDevice();
            irq.setIrq(false);
        } finally {
            unlock();
        }
    }

    /** Device removal: timers stop, the NIC leaves its peer (QEMU's qemu_del_nic). */
    public void close() {
        lock.lock();
        try {
            autonegTimer.cancel();
            irq.mitTimer.cancel();
            flushTimer.cancel();
        } finally {
            lock.unlock();
        }
        NetClient peer = nic.peer();
        if (peer != null) {
            peer.purgeQueued(nic);
            NetClient.connect(peer, null);
        }
        NetClient.connect(nic, null);
    }

    private boolean busMaster() {
        return (config.get16(PciConfigSpace.COMMAND) & PciConfigSpace.COMMAND_MASTER) != 0;
    }

    /** Unlocks; the outermost holder flushes frames the net layer queued meanwhile. */
    void unlock() {
        lock.unlock();
        if (needFlush && !lock.isHeldByCurrentThread()) {
            needFlush = false;
            nic.flushQueued();
        }
    }

    private void resetDevice() {
        autonegTimer.cancel();
        irq.reset();
        flushTimer.cancel();
        phy.reset();
        java.util.Arrays.fill(mac, 0);
        mac[w(PBA)] = 0x00100030;
        mac[w(LEDCTL)] = 0x602;
        mac[w(CTRL)] = CTRL_SWDPIN2 | CTRL_SWDPIN0 | CTRL_SPD_1000 | CTRL_SLU;
        mac[w(STATUS)] = 0x80000000 | STATUS_GIO_MASTER_ENABLE | STATUS_ASDV | STATUS_MTXCKOK | STATUS_SPEED_1000
                | STATUS_FD | STATUS_LU;
        mac[w(MANC)] = MANC_EN_MNG2HOST | MANC_RCV_TCO_EN | MANC_ARP_EN | MANC_0298_EN | MANC_RMCP_EN;
        rx.rxbufMinShift = 1;
        tx.reset();
        if (nic.isLinkDown()) {
            linkDownRegs();
        }
        int lo = 0;
        for (int i = 0; i < 4; i++) {
            lo |= (confMac[i] & 0xff) << (8 * i);
        }
        mac[w(RA)] = lo;
        mac[w(RA) + 1] = RAH_AV | (confMac[4] & 0xff) | (confMac[5] & 0xff) << 8;
        currentMac = MacAddress.of(confMac, 0);
        if (flags.initVet()) {
            mac[w(VET)] = ETH_P_VLAN;
        }
    }

    // ---- DMA (QEMU's pci_dma_read/write: nothing reaches memory without bus mastering or outside RAM)

    void dmaRead(long addr, byte[] dst, int off, int len) {
        if (len <= 0) {
            return;
        }
        if (busMaster() && addr >= 0 && memory.contains(addr, len)) {
            memory.read(addr, dst, off, len);
        } else {
            java.util.Arrays.fill(dst, off, off + len, (byte) 0);
        }
    }

    void dmaWrite(long addr, byte[] src, int off, int len) {
        if (len > 0 && busMaster() && addr >= 0 && memory.contains(addr, len)) {
            memory.write(addr, src, off, len);
        }
    }

    // ---- statistics helpers (e1000x_inc_reg_if_not_full and friends)

    void incReg(int offset) {
        if (mac[w(offset)] != -1) {
            mac[w(offset)]++;
        }
    }

    void grow8Reg(int offset, int size) {
        long sum = (mac[w(offset)] & 0xffff_ffffL) | (long) mac[w(offset) + 1] << 32;
        long next = sum + size;
        sum = Long.compareUnsigned(next, sum) < 0 ? -1L : next;
        mac[w(offset)] = (int) sum;
        mac[w(offset) + 1] = (int) (sum >>> 32);
    }

    /** e1000x_increase_size_stats over the six counters starting at first (PRC64 or PTC64). */
    void sizeStats(int first, int size) {
        int i = size > 1023 ? 5 : size > 511 ? 4 : size > 255 ? 3 : size > 127 ? 2 : size > 64 ? 1 : size == 64 ? 0 : -1;
        if (i >= 0) {
            incReg(first + 4 * i);
        }
    }

    void useTsoForMigration(boolean tso) {
        useTsoForMigration = tso;
    }

    /** A frame from the transmit path: to the peer, or back into our receive path in PHY loopback. */
    void transmit(ByteBuffer frame, byte[] buf, int off, int len) {
        if (phy.loopback()) {
            rx.receive(frame, flushTimer.pending());
        } else {
            nic.send(frame);
        }
    }

    // ---- interrupts (E1000Interrupts)

    /** Whether INTA# is asserted (for tests and query tools). */
    public boolean irqLevel() {
        lock.lock();
        try {
            return irq.mitIrqLevel;
        } finally {
            unlock();
        }
    }

    // ---- link

    private void linkDownRegs() {
        mac[w(STATUS)] &= ~STATUS_LU;
        phy.linkDown();
    }

    boolean haveAutoneg() {
        return flags.autonegotiation() && phy.autonegEnabled();
    }

    void restartAutoneg() {
        linkDownRegs();
        autonegTimer.modIn(AUTONEG_NANOS);
    }

    private void autonegExpired() {
        lock.lock();
        try {
            if (!autonegTimer.claimExpiry() || nic.isLinkDown()) {
                return;
            }
            mac[w(STATUS)] |= STATUS_LU;
            phy.autonegDone();
            needFlush = true;
            irq.setIcs(ICR_LSC);
        } finally {
            unlock();
        }
    }

    /** e1000_set_link_status: the peer or set_link changed the link; LSC when STATUS changes. */
    private void linkStatusChanged() {
        lock.lock();
        try {
            int old = mac[w(STATUS)];
            if (nic.isLinkDown()) {
                linkDownRegs();
            } else if (haveAutoneg() && !phy.autonegComplete()) {
                restartAutoneg();
            } else {
                mac[w(STATUS)] |= STATUS_LU;
                phy.linkUp();
                needFlush = true;
            }
            if (mac[w(STATUS)] != old) {
                irq.setIcs(ICR_LSC);
            }
        } finally {
            unlock();
        }
    }

    private void flushExpired() {
        lock.lock();
        try {
            if (!flushTimer.claimExpiry()) {
                return;
            }
            needFlush = true;
        } finally {
            unlock();
        }
    }

    /** A write to RA[0]'s high word: the NIC reports the guest's address (QEMU's qemu_format_nic_info_str). */
    void guestMacChanged() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (mac[w(RA) + i / 4] >>> (8 * (i % 4)));
        }
        currentMac = MacAddress.of(b, 0);
    }

    /** The queue gets a flush once the lock is released. */
    void requestFlush() {
        needFlush = true;
    }

    /** QEMU holds frames back for a second of guest time after an RCTL write (e1000_flush_queue_timer). */
    void holdReception() {
        flushTimer.modIn(RCTL_FLUSH_DELAY_NANOS);
    }

    // ---- the NIC client

    final class Nic extends NicClient {
        Nic(String name) {
            super(name, "e1000", 0);
        }

        @Override
        public MacAddress macAddress() {
            return currentMac;
        }

        /** QEMU 7.2's e1000 has no query_rx_filter: "net client(NAME) doesn't support rx-filter querying". */
        @Override
        public RxFilterInfo rxFilter() {
            return null;
        }

        @Override
        protected int receive(ByteBuffer frame) {
            if (!tryLock()) {
                return 0;
            }
            try {
                return rx.receive(frame, flushTimer.pending());
            } finally {
                lock.unlock();
            }
        }

        /** e1000_can_receive: link up, receiver on, bus master, a free descriptor, no RCTL hold-off. */
        @Override
        public boolean canReceive() {
            if (!tryLock()) {
                return false;
            }
            try {
                return (mac[w(STATUS)] & STATUS_LU) != 0 && (mac[w(RCTL)] & RCTL_EN) != 0 && busMaster()
                        && rx.hasRxbufs(1) && !flushTimer.pending();
            } finally {
                lock.unlock();
            }
        }

        /** Takes the device lock without waiting; when it is held, its holder flushes on release. */
        private boolean tryLock() {
            if (lock.tryLock()) {
                return true;
            }
            needFlush = true;
            return lock.tryLock();
        }

        @Override
        protected void linkStatusChanged() {
            E1000.this.linkStatusChanged();
        }
    }

    // ---- state (E1000State)

    @Override
    public int stateVersion() {
        return 1;
    }

    /** The layout and its checks live in {@link E1000State}; the device lock is held throughout. */
    @Override
    public void saveState(StateWriter w) {
        lock.lock();
        try {
            E1000State.save(this, w);
        } finally {
            unlock();
        }
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        lock.lock();
        try {
            E1000State.load(this, r);
        } finally {
            unlock();
        }
    }
}
