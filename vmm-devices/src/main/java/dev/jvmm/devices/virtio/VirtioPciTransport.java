package dev.jvmm.devices.virtio;

import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.pci.IntxLine;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Virtio 1.1, section 4.1: the modern (virtio 1.x only) PCI transport, laid out as QEMU 7.2's
 * {@code virtio-*-pci,disable-legacy=on}: MSI-X table and PBA in BAR1 (32-bit memory, 4 KiB), the virtio
 * structures in BAR4 (64-bit prefetchable memory, 16 KiB: common configuration at 0x0, ISR at 0x1000,
 * device configuration at 0x2000, notifications at 0x3000 with notify_off_multiplier 4), vendor
 * capabilities common/ISR/device/notify/PCI-cfg at 0x40-0x97 and MSI-X at 0x98.
 *
 * <p>Threads: register accesses arrive on vCPU threads and take this object's lock (except queue kicks,
 * which only signal the queue's eventfd). Queue work runs on one daemon device thread that sleeps in
 * poll(2) on the queues' eventfds; with an {@link IoEventRegistry} KVM signals those directly once the
 * driver sets DRIVER_OK. Reset (driver or machine) first waits for the device thread to finish the
 * request it is running, so nothing touches guest memory after the driver sees status 0.
 */
public final class VirtioPciTransport implements PciFunction, VirtioHost, Saveable, AutoCloseable {
    /** Section 4.1.2: PCI vendor ID of virtio devices. */
    public static final int PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
    /** Section 4.1.2: modern device ID = 0x1040 + virtio device type. */
    public static final int PCI_DEVICE_ID_VIRTIO_MODERN_BASE = 0x1040;
    /** QEMU's PCI_SUBDEVICE_ID_QEMU, the subsystem ID of its modern-only virtio functions. */
    public static final int PCI_SUBSYSTEM_ID_QEMU = 0x1100;
    /** Section 4.1.2.1: revision ID 1 marks a non-transitional device. */
    public static final int VIRTIO_PCI_ABI_VERSION = 1;

    /** Section 4.1.4: vendor-specific capability ID and cfg_type values. */
    public static final int PCI_CAP_ID_VNDR = 0x09;
    public static final int PCI_CAP_ID_MSIX = 0x11;
    public static final int VIRTIO_PCI_CAP_COMMON_CFG = 1;
    public static final int VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
    public static final int VIRTIO_PCI_CAP_ISR_CFG = 3;
    public static final int VIRTIO_PCI_CAP_DEVICE_CFG = 4;
    public static final int VIRTIO_PCI_CAP_PCI_CFG = 5;

    /** Where QEMU places the capabilities (each new one is linked in front, so the list runs backwards). */
    static final int CAP_COMMON = 0x40;
    static final int CAP_ISR = 0x50;
    static final int CAP_DEVICE = 0x60;
    static final int CAP_NOTIFY = 0x70;
    static final int CAP_PCI_CFG = 0x84;
    static final int CAP_MSIX = 0x98;
    static final int VIRTIO_PCI_CAP_LEN = 0x10;
    static final int VIRTIO_PCI_NOTIFY_CAP_LEN = 0x14;
    static final int VIRTIO_PCI_CFG_CAP_LEN = 0x14;
    static final int MSIX_CAP_LEN = 12;
    /** Offsets inside struct virtio_pci_cap (section 4.1.4). */
    static final int CAP_BAR = 4;
    static final int CAP_OFFSET = 8;
    static final int CAP_LENGTH = 12;
    static final int CAP_NOTIFY_OFF_MULTIPLIER = 16;
    static final int CAP_PCI_CFG_DATA = 16;

    /** QEMU's layout of the modern BAR. */
    public static final int MODERN_BAR = 4;
    public static final long MODERN_BAR_SIZE = 0x4000;
    public static final int COMMON_CFG_OFFSET = 0x0;
    public static final int ISR_CFG_OFFSET = 0x1000;
    public static final int DEVICE_CFG_OFFSET = 0x2000;
    public static final int NOTIFY_CFG_OFFSET = 0x3000;
    public static final int REGION_SIZE = 0x1000;
    /** QEMU's QEMU_VIRTIO_PCI_QUEUE_MEM_MULT: queue n is kicked at NOTIFY_CFG_OFFSET + 4n. */
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    /** MSI-X table at BAR1 offset 0, PBA at 0x800 (QEMU's msix_init_exclusive_bar). */
    public static final int MSIX_BAR = 1;
    public static final long MSIX_BAR_SIZE = 0x1000;
    public static final int MSIX_PBA_OFFSET = 0x800;

    /** Section 4.1.4.3: struct virtio_pci_common_cfg. */
    public static final int DEVICE_FEATURE_SELECT = 0x00;
    public static final int DEVICE_FEATURE = 0x04;
    public static final int DRIVER_FEATURE_SELECT = 0x08;
    public static final int DRIVER_FEATURE = 0x0c;
    public static final int CONFIG_MSIX_VECTOR = 0x10;
    public static final int NUM_QUEUES = 0x12;
    public static final int DEVICE_STATUS = 0x14;
    public static final int CONFIG_GENERATION = 0x15;
    public static final int QUEUE_SELECT = 0x16;
    public static final int QUEUE_SIZE = 0x18;
    public static final int QUEUE_MSIX_VECTOR = 0x1a;
    public static final int QUEUE_ENABLE = 0x1c;
    public static final int QUEUE_NOTIFY_OFF = 0x1e;
    public static final int QUEUE_DESC_LO = 0x20;
    public static final int QUEUE_DESC_HI = 0x24;
    public static final int QUEUE_DRIVER_LO = 0x28;
    public static final int QUEUE_DRIVER_HI = 0x2c;
    public static final int QUEUE_DEVICE_LO = 0x30;
    public static final int QUEUE_DEVICE_HI = 0x34;
    /** Section 4.1.4.3 (virtio 1.2): queue_reset, with VIRTIO_F_RING_RESET. */
    public static final int QUEUE_RESET = 0x3a;

    /** Section 2.1: device status bits. */
    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    public static final int DEVICE_NEEDS_RESET = 0x40;
    public static final int FAILED = 0x80;

    /** Section 6: reserved feature bits the transport offers (as QEMU 7.2 does). */
    public static final int VIRTIO_F_RING_INDIRECT_DESC = 28;
    public static final int VIRTIO_F_RING_EVENT_IDX = 29;
    public static final int VIRTIO_F_VERSION_1 = 32;
    public static final int VIRTIO_F_RING_RESET = 40;

    /** Section 4.1.4.5: ISR status bits. */
    public static final int VIRTIO_PCI_ISR_QUEUE = 0x1;
    public static final int VIRTIO_PCI_ISR_CONFIG = 0x2;

    /** QEMU's VIRTIO_QUEUE_MAX: queue_select values at or above it are ignored. */
    static final int VIRTIO_QUEUE_MAX = 1024;

    private final GuestMemory mem;
    private final VirtioDevice device;
    private final IoEventRegistry ioevents;
    private final String qdevId;
    private final PciConfigSpace config;
    private final MsixTable msix;
    private final VirtQueue[] queues;
    private final long[] ioeventAt;
    private final boolean[] held;
    private final PciBar msixBar;
    private final PciBar modernBar;
    /** The expansion ROM from romfile (rombar=1), or null; set before the function is plugged. */
    private PciBar romBar;
    private final long offeredFeatures;
    private final EventFd control = new EventFd();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private IntxLine intx;

    // Common configuration state, guarded by this.
    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private final int[] driverFeatures = new int[2];
    private long negotiated;
    private int status;
    private int generation;
    private int queueSelect;
    private int configVector = VirtQueue.VIRTIO_MSI_NO_VECTOR;
    private int isr;
    private volatile boolean broken;
    /** QEMU's vdev->disabled: the driver cleared COMMAND.Bus Master; no queue work, no interrupts. */
    private volatile boolean disabled;
    private volatile String lastError;
    /** The level last driven on INTx (saved: a level the guest has not acknowledged yet). */
    private boolean intxLevel;

    // Device thread hand-off, guarded by this.
    private volatile boolean quiescing;
    private boolean busy;
    private volatile boolean closed;

    /**
     * A function with {@link VirtioDevice#msixVectors} MSI-X vectors; with 0 it has no MSI-X at all (no BAR1,
     * no MSI-X capability, INTx only), as QEMU's virtio-balloon-pci, which has no "vectors" property.
     */
    public VirtioPciTransport(GuestMemory mem, VirtioDevice device, MsiRouter msi, IoEventRegistry ioevents,
                              String qdevId) {
        this.mem = mem;
        this.device = device;
        this.ioevents = ioevents == null ? IoEventRegistry.NONE : ioevents;
        this.qdevId = qdevId == null ? "" : qdevId;
        int n = device.queueCount();
        if (n < 1 || n > VIRTIO_QUEUE_MAX) {
            throw new IllegalArgumentException("bad queue count " + n);
        }
        this.queues = new VirtQueue[n];
        for (int i = 0; i < n; i++) {
            queues[i] = new VirtQueue(mem, i, device.queueMaxSize(i), this::fail);
        }
        this.ioeventAt = new long[n];
        Arrays.fill(ioeventAt, -1);
        this.held = new boolean[n];
        this.offeredFeatures = device.deviceFeatures() | 1L << VIRTIO_F_RING_INDIRECT_DESC
                | 1L << VIRTIO_F_RING_EVENT_IDX | 1L << VIRTIO_F_VERSION_1 | 1L << VIRTIO_F_RING_RESET;
        // QEMU gives a virtio function one vector per queue plus one for configuration changes by default
        this.msix = new MsixTable(device.msixVectors(), msi);
        if (msix.tableSize() > MSIX_PBA_OFFSET || msix.pbaSize() > MSIX_BAR_SIZE - MSIX_PBA_OFFSET) {
            throw new IllegalArgumentException("too many queues for one MSI-X BAR: " + n);
        }
        this.msixBar = new PciBar(MSIX_BAR, PciBar.Kind.MEMORY32, MSIX_BAR_SIZE, false, new MsixBarHandler());
        this.modernBar = new PciBar(MODERN_BAR, PciBar.Kind.MEMORY64, MODERN_BAR_SIZE, true,
                new ModernBarHandler());
        this.config = buildConfigSpace();
        device.attach(this);
        EventFd async = device.asyncCompletions();
        EventFd[] fds = new EventFd[async == null ? n + 1 : n + 2];
        fds[0] = control;
        for (int i = 0; i < n; i++) {
            fds[i + 1] = queues[i].kick();
        }
        if (async != null) {
            fds[n + 1] = async;
        }
        EventPoller poller = new EventPoller(fds);
        this.thread = new Thread(() -> runDeviceThread(poller), device.threadName());
        thread.setDaemon(true);
        thread.start();
    }

    private PciConfigSpace buildConfigSpace() {
        PciConfigSpace c = new PciConfigSpace(PCI_VENDOR_ID_REDHAT_QUMRANET,
                PCI_DEVICE_ID_VIRTIO_MODERN_BASE + device.deviceType(), VIRTIO_PCI_ABI_VERSION,
                device.pciClassCode(), 0);
        c.set16(PciConfigSpace.STATUS, 0x0010); // Capabilities List
        c.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID_REDHAT_QUMRANET);
        c.set16(PciConfigSpace.SUBSYSTEM_ID, PCI_SUBSYSTEM_ID_QEMU);
        c.set8(PciConfigSpace.INTERRUPT_PIN, 1);
        if (msix.vectors() > 0) {
            c.addBar(msixBar);
        }
        c.addBar(modernBar);
        // QEMU's pci_init_wmask: the device-specific area is writable except where capabilities sit
        c.setWritable(PciConfigSpace.DEVICE_SPECIFIC, PciConfigSpace.SIZE - PciConfigSpace.DEVICE_SPECIFIC, -1L);
        c.set8(PciConfigSpace.CAPABILITY_LIST, msix.vectors() > 0 ? CAP_MSIX : CAP_PCI_CFG);
        virtioCap(c, CAP_COMMON, 0, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_CFG_OFFSET);
        virtioCap(c, CAP_ISR, CAP_COMMON, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_ISR_CFG, ISR_CFG_OFFSET);
        virtioCap(c, CAP_DEVICE, CAP_ISR, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_CFG_OFFSET);
        virtioCap(c, CAP_NOTIFY, CAP_DEVICE, VIRTIO_PCI_NOTIFY_CAP_LEN, VIRTIO_PCI_CAP_NOTIFY_CFG,
                NOTIFY_CFG_OFFSET);
        c.set32(CAP_NOTIFY + CAP_NOTIFY_OFF_MULTIPLIER, NOTIFY_OFF_MULTIPLIER);
        // PCI configuration access: bar, offset, length and data are the driver's to write
        c.setWritable(CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_LEN, 0);
        c.set8(CAP_PCI_CFG, PCI_CAP_ID_VNDR);
        c.set8(CAP_PCI_CFG + 1, CAP_NOTIFY);
        c.set8(CAP_PCI_CFG + 2, VIRTIO_PCI_CFG_CAP_LEN);
        c.set8(CAP_PCI_CFG + 3, VIRTIO_PCI_CAP_PCI_CFG);
        c.setWritable(CAP_PCI_CFG + CAP_BAR, 1, 0xff);
        c.setWritable(CAP_PCI_CFG + CAP_OFFSET, 4, 0xffff_ffffL);
        c.setWritable(CAP_PCI_CFG + CAP_LENGTH, 4, 0xffff_ffffL);
        c.setWritable(CAP_PCI_CFG + CAP_PCI_CFG_DATA, 4, 0xffff_ffffL);
        if (msix.vectors() == 0) {
            c.sealInitialState();
            return c;
        }
        // Section 6.8.2: MSI-X, table in BAR1 at 0, PBA in BAR1 at 0x800
        c.setWritable(CAP_MSIX, MSIX_CAP_LEN, 0);
        c.set8(CAP_MSIX, PCI_CAP_ID_MSIX);
        c.set8(CAP_MSIX + 1, CAP_PCI_CFG);
        c.set16(CAP_MSIX + 2, msix.vectors() - 1);
        c.setWritable(CAP_MSIX + 2, 2, MsixTable.MSIX_ENABLE | MsixTable.MSIX_FUNCTION_MASK);
        c.set32(CAP_MSIX + 4, MSIX_BAR);
        c.set32(CAP_MSIX + 8, MSIX_PBA_OFFSET | MSIX_BAR);
        c.sealInitialState();
        return c;
    }

    private static void virtioCap(PciConfigSpace c, int at, int next, int len, int type, int offset) {
        c.setWritable(at, len, 0);
        c.set8(at, PCI_CAP_ID_VNDR);
        c.set8(at + 1, next);
        c.set8(at + 2, len);
        c.set8(at + 3, type);
        c.set8(at + CAP_BAR, MODERN_BAR);
        c.set32(at + CAP_OFFSET, offset);
        c.set32(at + CAP_LENGTH, REGION_SIZE);
    }

    // ---- PciFunction

    @Override
    public synchronized int readConfig(int offset, int size) {
        int dataAt = CAP_PCI_CFG + CAP_PCI_CFG_DATA;
        if (offset < dataAt + 4 && offset + size > dataAt) {
            // Section 4.1.4.7.1: reading pci_cfg_data reads the BAR window the capability points at
            int len = config.get32(CAP_PCI_CFG + CAP_LENGTH);
            if (len == 1 || len == 2 || len == 4) {
                long off = (config.get32(CAP_PCI_CFG + CAP_OFFSET) & 0xffff_ffffL) & ~(long) (len - 1);
                if (off + len <= MODERN_BAR_SIZE) {
                    long v = modernRead(off, len);
                    for (int i = 0; i < len; i++) {
                        config.set8(dataAt + i, (int) (v >>> (8 * i))); // QEMU copies len bytes only
                    }
                }
            }
        }
        return config.read(offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        int msixControlBefore = config.get16(CAP_MSIX + 2);
        config.write(offset, size, value);
        int dataAt = CAP_PCI_CFG + CAP_PCI_CFG_DATA;
        if (offset < dataAt + 4 && offset + size > dataAt) {
            // Section 4.1.4.7.1: writing pci_cfg_data writes through to the BAR window
            int len = config.get32(CAP_PCI_CFG + CAP_LENGTH);
            if (len == 1 || len == 2 || len == 4) {
                long off = (config.get32(CAP_PCI_CFG + CAP_OFFSET) & 0xffff_ffffL) & ~(long) (len - 1);
                if (off + len <= MODERN_BAR_SIZE) {
                    modernWrite(off, len, config.get32(dataAt) & 0xffff_ffffL);
                }
            }
        }
        int msixControl = config.get16(CAP_MSIX + 2);
        if (msixControl != msixControlBefore && msix.vectors() > 0) {
            boolean wasEnabled = msix.enabled();
            msix.setControl(msixControl);
            if (msix.enabled() && !wasEnabled) {
                setIntx(false); // QEMU: enabling MSI-X deasserts INTx
            } else if (!msix.enabled() && wasEnabled) {
                setIntx((isr & VIRTIO_PCI_ISR_QUEUE) != 0);
            }
        }
        if (offset <= PciConfigSpace.COMMAND && offset + size > PciConfigSpace.COMMAND) {
            // QEMU's virtio_write_config: without bus mastering the device stops and DRIVER_OK drops
            boolean master = (config.get16(PciConfigSpace.COMMAND) & PciConfigSpace.COMMAND_MASTER) != 0;
            disabled = !master;
            if (!master) {
                status &= ~DRIVER_OK;
            } else {
                control.signal();
            }
        }
        if (offset < PciConfigSpace.BAR0 + 4 * (MODERN_BAR + 2) && offset + size > PciConfigSpace.COMMAND) {
            updateIoEvents();
        }
    }

    @Override
    public String description() {
        return device.pciDescription();
    }

    @Override
    public String qdevId() {
        return qdevId;
    }

    @Override
    public synchronized List<PciBar> bars() {
        List<PciBar> bars = new ArrayList<>(msix.vectors() > 0 ? List.of(msixBar, modernBar) : List.of(modernBar));
        if (romBar != null) {
            bars.add(romBar);
        }
        return bars;
    }

    /**
     * Declares the option ROM's BAR (QEMU's pci_add_option_rom, after the device's own BARs); call before
     * the function is plugged into the bus. The register is part of the saved configuration space.
     */
    public synchronized void addOptionRom(Optional<PciBar> rom) {
        rom.ifPresent(bar -> {
            if (!bar.isRom() || romBar != null) {
                throw new IllegalArgumentException("not one expansion ROM BAR: " + bar);
            }
            romBar = bar;
            config.addBar(bar);
            config.sealInitialState();
        });
    }

    @Override
    public synchronized void connectIntx(IntxLine line) {
        this.intx = line;
    }

    /** Machine reset: the device is reset (in-flight work finished first) and config space restored. */
    @Override
    public synchronized void reset() {
        resetDevice();
        config.reset();
        msix.reset();
        setIntx(false);
        updateIoEvents();
    }

    // ---- VirtioHost

    @Override
    public GuestMemory memory() {
        return mem;
    }

    @Override
    public synchronized long negotiatedFeatures() {
        return negotiated;
    }

    private long driverFeaturesRaw() {
        return (driverFeatures[0] & 0xffff_ffffL) | (driverFeatures[1] & 0xffff_ffffL) << 32;
    }

    @Override
    public synchronized void configChanged() {
        // QEMU's virtio_notify_config: before DRIVER_OK nothing happens, not even a generation change
        if ((status & DRIVER_OK) != 0) {
            generation = (generation + 1) & 0xff;
            signal(configVector, VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG);
        }
    }

    @Override
    public synchronized void fail(String reason) {
        if (broken) {
            return;
        }
        lastError = reason;
        if ((negotiatedFeatures() & 1L << VIRTIO_F_VERSION_1) != 0) {
            status |= DEVICE_NEEDS_RESET;
            configChanged();
        }
        // set after the configuration interrupt, which is the last one a broken device sends (QEMU)
        broken = true;
    }

    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        control.signal();
    }

    @Override
    public synchronized void resume() {
        Arrays.fill(held, false);
        control.signal();
    }

    @Override
    public synchronized void notifyUsed(VirtQueue queue) {
        if (queue.shouldNotify()) {
            signal(queue.vector, VIRTIO_PCI_ISR_QUEUE);
        }
    }

    /** QEMU's virtio_notify_vector: MSI-X message, or INTx following ISR bit 0. */
    private void signal(int vector, int isrBits) {
        isr |= isrBits;
        if (broken || disabled) {
            return;
        }
        if (msix.enabled()) {
            msix.notify(vector);
        } else {
            setIntx((isr & VIRTIO_PCI_ISR_QUEUE) != 0);
        }
    }

    private void setIntx(boolean level) {
        intxLevel = level;
        if (intx != null) {
            intx.setLevel(level);
        }
    }

    // ---- diagnostics

    /** Whether the device hit a driver error and waits for a reset (QEMU's vdev->broken). */
    public boolean broken() {
        return broken;
    }

    /** The reason of the last driver error, or null. */
    public String lastError() {
        return lastError;
    }

    public synchronized int deviceStatus() {
        return status;
    }

    /** Queue i (for tests and the device half). */
    public VirtQueue queue(int i) {
        return queues[i];
    }

    // ---- BAR4: the virtio structures

    private final class ModernBarHandler implements IoHandler {
        @Override
        public long read(long offset, int size) {
            if (offset >= NOTIFY_CFG_OFFSET) {
                return 0;
            }
            synchronized (VirtioPciTransport.this) {
                return modernRead(offset, size);
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset >= NOTIFY_CFG_OFFSET) {
                // QEMU's virtio_pci_notify_write: the queue is the offset over the multiplier, any value. A
                // notify that brings nothing new (as QEMU's handler finding the queue empty) leaves the device
                // thread asleep: no eventfd write and no wake-up on this exit.
                long q = (offset - NOTIFY_CFG_OFFSET) / NOTIFY_OFF_MULTIPLIER;
                if (q < queues.length && queues[(int) q].notifyNeeded()) {
                    queues[(int) q].kick().signal();
                }
                return;
            }
            synchronized (VirtioPciTransport.this) {
                modernWrite(offset, size, value);
            }
        }
    }

    /** A read in BAR4 below the notify region; 8-byte accesses are split as QEMU's 4-byte regions do. */
    private long modernRead(long offset, int size) {
        if (size == 8) {
            return (modernRead(offset, 4) & 0xffff_ffffL) | modernRead(offset + 4, 4) << 32;
        }
        long mask = size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1;
        if (offset < ISR_CFG_OFFSET) {
            return commonRead((int) offset) & mask;
        }
        if (offset < DEVICE_CFG_OFFSET) {
            // Section 4.1.4.5: reading ISR clears it and deasserts INTx
            int v = isr;
            isr = 0;
            if (!msix.enabled()) {
                setIntx(false);
            }
            return v & mask;
        }
        if (offset < NOTIFY_CFG_OFFSET) {
            int off = (int) (offset - DEVICE_CFG_OFFSET);
            if (off + size > device.configLength()) {
                return mask;
            }
            return device.readConfig(off, size) & mask;
        }
        return 0;
    }

    private void modernWrite(long offset, int size, long value) {
        if (size == 8) {
            modernWrite(offset, 4, value & 0xffff_ffffL);
            modernWrite(offset + 4, 4, value >>> 32);
            return;
        }
        long mask = size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1;
        int v = (int) (value & mask);
        if (offset < ISR_CFG_OFFSET) {
            commonWrite((int) offset, v);
        } else if (offset >= DEVICE_CFG_OFFSET && offset < NOTIFY_CFG_OFFSET) {
            int off = (int) (offset - DEVICE_CFG_OFFSET);
            if (off + size <= device.configLength()) {
                device.writeConfig(off, size, v);
            }
        } else if (offset >= NOTIFY_CFG_OFFSET && offset < MODERN_BAR_SIZE) {
            long q = (offset - NOTIFY_CFG_OFFSET) / NOTIFY_OFF_MULTIPLIER;
            if (q < queues.length) {
                queues[(int) q].kick().signal();
            }
        }
    }

    private VirtQueue selected() {
        return queueSelect < queues.length ? queues[queueSelect] : null;
    }

    /** Section 4.1.4.3: common configuration reads (QEMU's virtio_pci_common_read). */
    private long commonRead(int offset) {
        VirtQueue q = selected();
        switch (offset) {
            case DEVICE_FEATURE_SELECT:
                return deviceFeatureSelect & 0xffff_ffffL;
            case DEVICE_FEATURE:
                return deviceFeatureSelect == 0 ? offeredFeatures & 0xffff_ffffL
                        : deviceFeatureSelect == 1 ? offeredFeatures >>> 32 : 0;
            case DRIVER_FEATURE_SELECT:
                return driverFeatureSelect & 0xffff_ffffL;
            case DRIVER_FEATURE:
                return driverFeatureSelect < 2 ? driverFeatures[driverFeatureSelect] & 0xffff_ffffL : 0;
            case CONFIG_MSIX_VECTOR:
                return configVector;
            case NUM_QUEUES:
                return queues.length;
            case DEVICE_STATUS:
                return status;
            case CONFIG_GENERATION:
                return generation;
            case QUEUE_SELECT:
                return queueSelect;
            case QUEUE_SIZE:
                return q == null ? 0 : q.size;
            case QUEUE_MSIX_VECTOR:
                return q == null ? VirtQueue.VIRTIO_MSI_NO_VECTOR : q.vector;
            case QUEUE_ENABLE:
                return q != null && q.enabled ? 1 : 0;
            case QUEUE_NOTIFY_OFF:
                return queueSelect;
            case QUEUE_DESC_LO:
                return q == null ? 0 : q.descAddr & 0xffff_ffffL;
            case QUEUE_DESC_HI:
                return q == null ? 0 : q.descAddr >>> 32;
            case QUEUE_DRIVER_LO:
                return q == null ? 0 : q.driverAddr & 0xffff_ffffL;
            case QUEUE_DRIVER_HI:
                return q == null ? 0 : q.driverAddr >>> 32;
            case QUEUE_DEVICE_LO:
                return q == null ? 0 : q.deviceAddr & 0xffff_ffffL;
            case QUEUE_DEVICE_HI:
                return q == null ? 0 : q.deviceAddr >>> 32;
            default:
                return 0; // queue_reset reads 0: a reset completes before the write returns
        }
    }

    /** Section 4.1.4.3: common configuration writes (QEMU's virtio_pci_common_write). */
    private void commonWrite(int offset, int v) {
        VirtQueue q = selected();
        switch (offset) {
            case DEVICE_FEATURE_SELECT -> deviceFeatureSelect = v;
            case DRIVER_FEATURE_SELECT -> driverFeatureSelect = v;
            case DRIVER_FEATURE -> {
                // The register keeps what was written (QEMU), but the features in force are fixed once
                // FEATURES_OK is set (section 3.1.1)
                if (driverFeatureSelect < 2) {
                    driverFeatures[driverFeatureSelect] = v;
                    if ((status & FEATURES_OK) == 0) {
                        negotiated = driverFeaturesRaw() & offeredFeatures;
                    }
                }
            }
            case CONFIG_MSIX_VECTOR -> configVector = validVector(v);
            case DEVICE_STATUS -> writeStatus(v & 0xff);
            case QUEUE_SELECT -> {
                if ((v & 0xffff) < VIRTIO_QUEUE_MAX) {
                    queueSelect = v & 0xffff;
                }
            }
            case QUEUE_SIZE -> {
                // Section 2.6: a split queue's size is a power of two no larger than the maximum
                int s = v & 0xffff;
                if (q != null && !q.enabled && s != 0 && Integer.bitCount(s) == 1 && s <= q.maxSize()) {
                    q.size = s;
                }
            }
            case QUEUE_MSIX_VECTOR -> {
                if (q != null) {
                    q.vector = validVector(v);
                }
            }
            case QUEUE_ENABLE -> {
                if ((v & 0xffff) != 1) {
                    // Section 4.1.4.3.2: the driver must not write 0; QEMU treats it as a driver error
                    fail("wrong value for queue_enable " + Integer.toHexString(v & 0xffff));
                } else if (q != null && !q.enabled) {
                    quiesce();
                    try {
                        q.enable((negotiatedFeatures() & 1L << VIRTIO_F_RING_EVENT_IDX) != 0);
                        updateIoEvents();
                    } finally {
                        endQuiesce();
                    }
                }
            }
            case QUEUE_DESC_LO -> setAddr(q, 0, v, false);
            case QUEUE_DESC_HI -> setAddr(q, 0, v, true);
            case QUEUE_DRIVER_LO -> setAddr(q, 1, v, false);
            case QUEUE_DRIVER_HI -> setAddr(q, 1, v, true);
            case QUEUE_DEVICE_LO -> setAddr(q, 2, v, false);
            case QUEUE_DEVICE_HI -> setAddr(q, 2, v, true);
            case QUEUE_RESET -> {
                if ((v & 0xffff) == 1 && q != null && (negotiatedFeatures() & 1L << VIRTIO_F_RING_RESET) != 0) {
                    quiesce();
                    try {
                        q.reset();
                        held[q.index()] = false;
                        updateIoEvents();
                    } finally {
                        endQuiesce();
                    }
                }
            }
            default -> {
                // read-only fields and holes ignore writes
            }
        }
    }

    private static void setAddr(VirtQueue q, int which, int v, boolean high) {
        if (q == null || q.enabled) {
            return; // section 4.1.4.3.2: addresses of an enabled queue are fixed
        }
        long cur = which == 0 ? q.descAddr : which == 1 ? q.driverAddr : q.deviceAddr;
        long next = high ? (cur & 0xffff_ffffL) | (v & 0xffff_ffffL) << 32
                : (cur & 0xffff_ffff_0000_0000L) | (v & 0xffff_ffffL);
        if (which == 0) {
            q.descAddr = next;
        } else if (which == 1) {
            q.driverAddr = next;
        } else {
            q.deviceAddr = next;
        }
    }

    /** QEMU's msix_vector_use: a vector the table does not have reads back as NO_VECTOR. */
    private int validVector(int v) {
        v &= 0xffff;
        return v < msix.vectors() ? v : VirtQueue.VIRTIO_MSI_NO_VECTOR;
    }

    private void writeStatus(int v) {
        if (v == 0) {
            resetDevice();
            return;
        }
        int old = status;
        if ((v & FEATURES_OK) != 0 && (old & FEATURES_OK) == 0) {
            long f = negotiatedFeatures();
            // VERSION_1 is required of a driver of a modern-only device (section 6.1)
            if ((f & 1L << VIRTIO_F_VERSION_1) == 0 || !device.acceptFeatures(f)) {
                v &= ~FEATURES_OK;
            }
        }
        if (broken) {
            v |= old & DEVICE_NEEDS_RESET;
        }
        status = v;
        if ((old & DRIVER_OK) != (v & DRIVER_OK)) {
            updateIoEvents();
            control.signal(); // kicks that came before DRIVER_OK are served now
        }
        device.statusChanged(v);
    }

    /** Section 2.1.2 / 4.1.4.3: device reset, after the device thread has finished what it was doing. */
    private void resetDevice() {
        quiesce();
        try {
            device.reset();
            for (VirtQueue q : queues) {
                q.reset();
            }
            Arrays.fill(held, false);
            status = 0;
            broken = false;
            disabled = false;
            lastError = null;
            deviceFeatureSelect = 0;
            driverFeatureSelect = 0;
            driverFeatures[0] = 0;
            driverFeatures[1] = 0;
            negotiated = 0;
            queueSelect = 0;
            configVector = VirtQueue.VIRTIO_MSI_NO_VECTOR;
            isr = 0;
            msix.clearPending();
            setIntx(false);
            updateIoEvents();
            device.statusChanged(0);
        } finally {
            endQuiesce();
        }
    }

    /** Where BAR4 decodes now (COMMAND.MEM set, address placed), or -1. */
    private long modernBarAddress() {
        if ((config.get16(PciConfigSpace.COMMAND) & PciConfigSpace.COMMAND_MEMORY) == 0) {
            return -1;
        }
        int off = PciConfigSpace.BAR0 + 4 * MODERN_BAR;
        long a = (config.get32(off) & 0xffff_ffffL) | (config.get32(off + 4) & 0xffff_ffffL) << 32;
        a &= ~(MODERN_BAR_SIZE - 1);
        long last = a + MODERN_BAR_SIZE - 1;
        return a == 0 || Long.compareUnsigned(last, a) <= 0 || last == -1L ? -1 : a;
    }

    /**
     * Keeps one ioeventfd per enabled queue at its notify address while DRIVER_OK is set and BAR4 decodes
     * (QEMU's virtio_pci_start/stop_ioeventfd); moves them when the BAR moves. A registry that cannot
     * register leaves the kick to the notify handler, which signals the same eventfd.
     */
    private void updateIoEvents() {
        long base = (status & DRIVER_OK) != 0 ? modernBarAddress() : -1;
        for (int i = 0; i < queues.length; i++) {
            long want = base >= 0 && queues[i].enabled ? base + NOTIFY_CFG_OFFSET
                    + (long) NOTIFY_OFF_MULTIPLIER * i : -1;
            if (ioeventAt[i] == want) {
                continue;
            }
            if (ioeventAt[i] >= 0) {
                try {
                    ioevents.unregister(ioeventAt[i], 2, false, i, queues[i].kick());
                } catch (RuntimeException e) {
                    // the registration is gone either way; the notify handler still serves kicks
                }
                ioeventAt[i] = -1;
            }
            if (want >= 0) {
                try {
                    if (ioevents.register(want, 2, false, i, queues[i].kick())) {
                        ioeventAt[i] = want;
                    }
                } catch (RuntimeException e) {
                    // fall back to the notify handler
                }
            }
        }
    }

    /** The notify address queue i is registered at with the IoEventRegistry, or -1 (tests). */
    synchronized long ioeventAddress(int i) {
        return ioeventAt[i];
    }

    // ---- the device thread

    /** Holding the lock: stops the device thread at its next request boundary and waits for it. */
    private void quiesce() {
        quiescing = true;
        if (Thread.currentThread() == thread) {
            return;
        }
        control.signal();
        boolean interrupted = false;
        while (busy) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (!closed) {
            device.drain();
        }
    }

    private void endQuiesce() {
        quiescing = false;
        control.signal();
    }

    private synchronized boolean enter() {
        if (quiescing || closed) {
            return false;
        }
        busy = true;
        return true;
    }

    private synchronized void exit() {
        busy = false;
        notifyAll();
    }

    private void runDeviceThread(EventPoller poller) {
        int n = queues.length;
        boolean[] pending = new boolean[n];
        while (!closed) {
            try {
                poller.await(-1);
            } catch (RuntimeException e) {
                // a closed or broken fd: nothing sensible remains for this thread
                return;
            }
            if (closed) {
                return;
            }
            if (poller.ready(0)) {
                control.drain();
                Arrays.fill(pending, true);
            }
            for (int i = 0; i < n; i++) {
                if (poller.ready(i + 1)) {
                    queues[i].kick().drain();
                    pending[i] = true;
                }
            }
            runTasks();
            reapCompleted();
            for (int i = 0; i < n; i++) {
                if (pending[i]) {
                    pending[i] = false;
                    process(i);
                }
            }
        }
    }

    private void runTasks() {
        if (tasks.isEmpty() || !enter()) {
            return;
        }
        try {
            Runnable t;
            while (!quiescing && (t = tasks.poll()) != null) {
                try {
                    t.run();
                } catch (RuntimeException e) {
                    fail("internal error: " + e);
                }
            }
        } finally {
            exit();
        }
    }

    private void reapCompleted() {
        if (!enter()) {
            return;
        }
        try {
            device.reapCompleted();
        } catch (RuntimeException e) {
            fail("internal error: " + e);
        } finally {
            exit();
        }
    }

    /** Section 2.6.10 / 3.2.1: drains queue i with kicks suppressed, then re-checks before sleeping. */
    private void process(int i) {
        if (!enter()) {
            return;
        }
        VirtQueue q = queues[i];
        try {
            boolean runnable;
            synchronized (this) {
                // section 3.1.1: no buffer is consumed before DRIVER_OK
                runnable = q.enabled && !broken && !disabled && !held[i] && (status & DRIVER_OK) != 0;
            }
            if (!runnable) {
                return;
            }
            int used = q.usedIndex();
            boolean stop = false;
            do {
                q.setNotification(false);
                while (!quiescing && !broken && q.pop()) {
                    if (!device.handle(q, q.chain())) {
                        synchronized (this) {
                            held[i] = true;
                        }
                        stop = true;
                        break;
                    }
                }
                q.setNotification(true);
                device.queueDrained(q);
            } while (!stop && !quiescing && !broken && !q.isEmpty());
            // QEMU's virtio_notify after completions: chains still in flight send theirs when they finish
            if (q.usedIndex() != used) {
                notifyUsed(q);
            }
        } catch (RuntimeException e) {
            fail("internal error: " + e);
        } finally {
            exit();
        }
    }

    // ---- saved state

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Config space, common configuration, MSI-X, every queue and the device half. The device thread is
     * quiesced first and the tasks it was handed are run, so no popped request is half done: each is either
     * completed or held by the device, which saves it.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        quiesce();
        try {
            runPendingTasks();
            w.u32("device-type", device.deviceType()).u32("num-queues", queues.length)
                    .bytes("config-space", configBytes());
            w.u32("device-feature-select", deviceFeatureSelect).u32("driver-feature-select", driverFeatureSelect)
                    .u32("driver-features-lo", driverFeatures[0]).u32("driver-features-hi", driverFeatures[1])
                    .u64("negotiated", negotiated).u8("status", status).u8("generation", generation)
                    .u16("queue-select", queueSelect).u16("config-vector", configVector).u8("isr", isr)
                    .bool("intx", intxLevel).bool("broken", broken).bool("disabled", disabled)
                    .str("last-error", lastError);
            msix.saveState(w);
            w.begin("queues", queues.length);
            for (int i = 0; i < queues.length; i++) {
                queues[i].saveState(w);
                w.bool("held", held[i]);
            }
            w.end();
            w.begin("device");
            device.saveState(w);
            w.end();
        } finally {
            endQuiesce();
        }
    }

    /**
     * Restores into a transport built with the same device configuration, then sets up what the driver's
     * programming set up: MSI routes from the table, the ioeventfds of the enabled queues (while DRIVER_OK
     * and BAR4 decodes), the INTx level. The device thread then looks at every queue once, as QEMU kicks
     * each host notifier when it starts ioeventfds.
     */
    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        r.expectU32("device-type", device.deviceType());
        r.expectU32("num-queues", queues.length);
        byte[] cs = new byte[PciConfigSpace.SIZE];
        r.bytes("config-space", cs);
        if ((cs[0] & 0xff | (cs[1] & 0xff) << 8) != PCI_VENDOR_ID_REDHAT_QUMRANET
                || (cs[2] & 0xff | (cs[3] & 0xff) << 8) != PCI_DEVICE_ID_VIRTIO_MODERN_BASE + device.deviceType()) {
            throw r.invalid("config-space", "vendor/device ID is not this device's");
        }
        int dfs = r.u32("device-feature-select");
        int drfs = r.u32("driver-feature-select");
        int dfLo = r.u32("driver-features-lo");
        int dfHi = r.u32("driver-features-hi");
        long neg = r.u64("negotiated");
        if ((neg & ~offeredFeatures) != 0) {
            throw r.invalid("negotiated", "features 0x" + Long.toHexString(neg & ~offeredFeatures)
                    + " were never offered");
        }
        int st = r.u8("status");
        int gen = r.u8("generation");
        int qs = r.u16("queue-select");
        if (qs >= VIRTIO_QUEUE_MAX) {
            throw r.invalid("queue-select", qs + " >= " + VIRTIO_QUEUE_MAX);
        }
        int cv = r.u16("config-vector");
        if (cv != VirtQueue.VIRTIO_MSI_NO_VECTOR && cv >= msix.vectors()) {
            throw r.invalid("config-vector", cv + " is beyond the " + msix.vectors() + " MSI-X vectors");
        }
        int is = r.u8("isr");
        boolean level = r.bool("intx");
        boolean brk = r.bool("broken");
        boolean dis = r.bool("disabled");
        String err = r.str("last-error");
        quiesce();
        try {
            msix.loadState(r);
            int control = (cs[CAP_MSIX + 2] & 0xff) | (cs[CAP_MSIX + 3] & 0xff) << 8;
            if (msix.vectors() > 0 && ((control & MsixTable.MSIX_ENABLE) != 0) != msix.enabled()) {
                throw r.invalid("enabled", "MSI-X enable differs from the capability's Message Control");
            }
            r.begin("queues", queues.length);
            for (int i = 0; i < queues.length; i++) {
                queues[i].loadState(r, msix.vectors());
                held[i] = r.bool("held");
            }
            r.end();
            for (int i = 0; i < PciConfigSpace.SIZE; i++) {
                config.set8(i, cs[i] & 0xff);
            }
            deviceFeatureSelect = dfs;
            driverFeatureSelect = drfs;
            driverFeatures[0] = dfLo;
            driverFeatures[1] = dfHi;
            negotiated = neg;
            status = st;
            generation = gen;
            queueSelect = qs;
            configVector = cv;
            isr = is;
            broken = brk;
            disabled = dis;
            lastError = err;
            r.begin("device", 1);
            device.loadState(r);
            r.end();
            setIntx(level);
            updateIoEvents();
        } catch (StateException e) {
            reset(); // refused state leaves a power-on device, never a half-loaded one
            throw e;
        } finally {
            endQuiesce();
        }
    }

    private byte[] configBytes() {
        byte[] b = new byte[PciConfigSpace.SIZE];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) config.get8(i);
        }
        return b;
    }

    /** Runs the device thread's deferred tasks here while it is quiesced (bounded: tasks may add tasks). */
    private void runPendingTasks() {
        Runnable t;
        for (int n = 0; n < 10_000 && (t = tasks.poll()) != null; n++) {
            try {
                t.run();
            } catch (RuntimeException e) {
                fail("internal error: " + e);
            }
        }
    }

    /** Stops the device thread and frees eventfds and MSI routes (machine teardown). */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            quiesce();
            closed = true;
            for (int i = 0; i < queues.length; i++) {
                if (ioeventAt[i] >= 0) {
                    ioevents.unregister(ioeventAt[i], 2, false, i, queues[i].kick());
                    ioeventAt[i] = -1;
                }
            }
        }
        control.signal();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        control.close();
        for (VirtQueue q : queues) {
            q.close();
        }
        msix.close();
        device.release();
    }

    /** MSI-X table and PBA (BAR1). */
    private final class MsixBarHandler implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (VirtioPciTransport.this) {
                if (offset >= MSIX_PBA_OFFSET) {
                    return msix.readPba(offset - MSIX_PBA_OFFSET, size);
                }
                return msix.readTable(offset, size);
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (VirtioPciTransport.this) {
                if (offset < MSIX_PBA_OFFSET) {
                    msix.writeTable(offset, size, value);
                }
            }
        }
    }
}
