package dev.jvmm.devices.virtio;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.BaseTypes;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Virtio 1.1, section 5.3: the console device with MULTIPORT, behaving as QEMU 7.2's virtio-serial
 * (hw/char/virtio-serial-bus.c with virtconsole.c): the same queues (port 0's pair, the control pair, then
 * a pair per further port), features, configuration and control conversation. The guest's DEVICE_READY
 * is answered with PORT_ADD for every port; its PORT_READY with CONSOLE_PORT (virtconsole), PORT_NAME
 * (name=) and PORT_OPEN (host side open); its PORT_OPEN sets the guest side and publishes VSERPORT_CHANGE
 * for ports with an id. A host peer connecting or leaving sends PORT_OPEN 1/0.
 *
 * <p>Malformed control messages (short, unknown event, unknown port) are ignored, as QEMU does, with
 * QEMU's error line on stderr (a few, then silence, so a guest cannot flood the log). Control messages
 * for the guest wait for a control receive buffer when none is posted (QEMU drops them).
 *
 * <p>Threads: queue work and tasks run on the transport's device thread; configuration accesses and
 * status changes on vCPU threads; chardev input, connection and writability callbacks on backend threads,
 * which hand their work to the device thread.
 */
public final class VirtioSerial implements VirtioDevice {
    /** QEMU's virtio-serial-device, the backend of virtio-serial-pci ({@link VirtioSerialPci}). */
    public static final TypeInfo TYPE = TypeInfo.type("virtio-serial-device", "virtio-device").category("Input")
            .implementing("hotplug-handler")
            .props(Property.of("max_ports", PropType.UINT32, (long) VirtioSerial.DEFAULT_MAX_PORTS),
                    Property.of("emergency-write", PropType.BIT, true))
            .build();

    /** The bus its ports plug into, a child of the backend: "ID.0", or "virtio-serial-bus.0" without id=. */
    public static final TypeInfo BUS = BaseTypes.busType("virtio-serial-bus", "bus").build();

    /** Section 5.3.1: virtio device ID of the console. */
    public static final int VIRTIO_ID_CONSOLE = 3;
    /** QEMU's class for virtio-serial-pci: simple communication controller, other (query-pci 0x0780). */
    public static final int PCI_CLASS_COMMUNICATION_OTHER = 0x078000;

    /** Section 5.3.3: feature bits. */
    public static final int VIRTIO_CONSOLE_F_SIZE = 0;
    public static final int VIRTIO_CONSOLE_F_MULTIPORT = 1;
    public static final int VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

    /** Section 5.3.4: struct virtio_console_config. */
    public static final int CFG_COLS = 0;
    public static final int CFG_ROWS = 2;
    public static final int CFG_MAX_NR_PORTS = 4;
    public static final int CFG_EMERG_WR = 8;
    public static final int CONFIG_LENGTH = 12;

    /** Section 5.3.6.2: struct virtio_console_control and its events. */
    public static final int CONTROL_SIZE = 8;
    public static final int VIRTIO_CONSOLE_DEVICE_READY = 0;
    public static final int VIRTIO_CONSOLE_DEVICE_ADD = 1;
    public static final int VIRTIO_CONSOLE_DEVICE_REMOVE = 2;
    public static final int VIRTIO_CONSOLE_PORT_READY = 3;
    public static final int VIRTIO_CONSOLE_CONSOLE_PORT = 4;
    public static final int VIRTIO_CONSOLE_RESIZE = 5;
    public static final int VIRTIO_CONSOLE_PORT_OPEN = 6;
    public static final int VIRTIO_CONSOLE_PORT_NAME = 7;

    /** Section 5.3.2: queue indexes. */
    public static final int PORT0_RECEIVEQ = 0;
    public static final int PORT0_TRANSMITQ = 1;
    public static final int CONTROL_RECEIVEQ = 2;
    public static final int CONTROL_TRANSMITQ = 3;
    /** QEMU's queue sizes: 128 for data, 32 for control. */
    public static final int DATA_QUEUE_SIZE = 128;
    public static final int CONTROL_QUEUE_SIZE = 32;
    /** QEMU's default max_ports, and its limit (each port takes two of VIRTIO_QUEUE_MAX queues). */
    public static final int DEFAULT_MAX_PORTS = 31;
    public static final int MAX_SUPPORTED_PORTS = 1024 / 2 - 1;
    /** MSI-X vectors that fit in the transport's table. */
    public static final int MAX_MSIX_VECTORS = 128;
    /** Control messages waiting for guest buffers at most, and error lines printed at most. */
    static final int MAX_PENDING_CONTROL = 4096;
    static final int MAX_ERROR_LINES = 16;
    /** Guest output gathered per port and pass over its transmit queue before one chardev write. */
    static final int OUT_BATCH = 256 * 1024;
    /** Largest guest control message read (QEMU reads whole buffers; only 8 bytes mean anything). */
    static final int MAX_CONTROL_READ = 64;

    private final String id;
    private final String busName;
    private final int maxPorts;
    private final boolean emergencyWrite;
    private final int msixVectors;
    private final EventBus events;
    private final PrintStream err;
    private final VirtioSerialPort[] byNr;
    private final List<VirtioSerialPort> ports = new ArrayList<>();
    private VirtioHost host;
    private GuestMemory mem;

    // Device thread state.
    private final ArrayDeque<DescriptorChain> controlBuffers = new ArrayDeque<>();
    private final ArrayDeque<byte[]> pendingControl = new ArrayDeque<>();
    private VirtQueue controlQueue;
    private final byte[] controlIn = new byte[MAX_CONTROL_READ];
    private final byte[] scratch = new byte[64 * 1024];
    private int errorLines;

    /** Guarded by this: the emergency-write register and the driver's status. */
    private int emergWr;
    private volatile int status;
    private volatile boolean multiport;

    /**
     * @param id             the controller's -device id=, or "" (for the device thread's name)
     * @param busName        its bus name in QEMU's error lines ("ID.0" or "virtio-serial-bus.0")
     * @param maxPorts       max_ports (1 to {@link #MAX_SUPPORTED_PORTS})
     * @param emergencyWrite QEMU's emergency-write property (offer EMERG_WRITE)
     * @param events         where VSERPORT_CHANGE goes
     * @param err            QEMU's error_report stream
     */
    public VirtioSerial(String id, String busName, int maxPorts, boolean emergencyWrite, EventBus events,
                        PrintStream err) {
        // a vector per port pair and one for configuration changes, as QEMU's unspecified vectors would be
        this(id, busName, maxPorts, emergencyWrite, Math.min(maxPorts + 1, MAX_MSIX_VECTORS), events, err);
    }

    /** @param msixVectors the proxy's vectors property (0 to {@link #MAX_MSIX_VECTORS}; 0: no MSI-X) */
    public VirtioSerial(String id, String busName, int maxPorts, boolean emergencyWrite, int msixVectors,
                        EventBus events, PrintStream err) {
        if (maxPorts < 1 || maxPorts > MAX_SUPPORTED_PORTS) {
            throw new IllegalArgumentException("max_ports out of range: " + maxPorts);
        }
        if (msixVectors < 0 || msixVectors > MAX_MSIX_VECTORS) {
            throw new IllegalArgumentException("vectors out of range: " + msixVectors);
        }
        this.id = id == null ? "" : id;
        this.busName = busName;
        this.maxPorts = maxPorts;
        this.emergencyWrite = emergencyWrite;
        this.msixVectors = msixVectors;
        this.events = events;
        this.err = err;
        this.byNr = new VirtioSerialPort[maxPorts];
    }

    /** The usual assembly: a virtio-serial-pci function. */
    public static VirtioPciTransport pci(GuestMemory mem, VirtioSerial dev, MsiRouter msi, IoEventRegistry ioevents) {
        return new VirtioPciTransport(mem, dev, msi, ioevents, dev.id);
    }

    public int maxPorts() {
        return maxPorts;
    }

    public String busName() {
        return busName;
    }

    /** The ports in the order they were added. */
    public synchronized List<VirtioSerialPort> ports() {
        return List.copyOf(ports);
    }

    /**
     * Adds a port before the guest runs (QEMU's virtser_port_device_realize): nr -1 takes port 0 for the
     * first console, else the lowest free number from 1.
     *
     * @throws IllegalArgumentException with QEMU's text when the number is taken or out of range
     */
    public synchronized VirtioSerialPort addPort(String portId, int nr, String name, boolean console,
                                                 dev.jvmm.core.chardev.Chardev chardev) {
        if (nr >= 0 && nr < maxPorts && byNr[nr] != null) {
            throw new IllegalArgumentException("virtio-serial-bus: A port already exists at id " + nr);
        }
        if (name != null) {
            for (VirtioSerialPort p : ports) {
                if (name.equals(p.name())) {
                    throw new IllegalArgumentException("virtio-serial-bus: A port already exists by name " + name);
                }
            }
        }
        if (nr < 0) {
            if (console && byNr[0] == null) {
                nr = 0;
            } else {
                nr = freeNumber();
            }
        }
        if (nr >= maxPorts) {
            throw new IllegalArgumentException("virtio-serial-bus: Out-of-range port id specified, max. allowed: "
                    + (maxPorts - 1));
        }
        if (nr == 0 && !console) {
            throw new IllegalArgumentException("Port number 0 on virtio-serial devices reserved for virtconsole"
                    + " devices for backward compatibility.");
        }
        VirtioSerialPort p = new VirtioSerialPort(portId, nr, name, console, chardev);
        byNr[nr] = p;
        ports.add(p);
        p.attach(this);
        VirtioHost h = host;
        if (h != null) {
            // a port plugged while the driver runs is announced to it (sent only once DRIVER_OK is set)
            int added = nr;
            h.execute(() -> sendControl(added, VIRTIO_CONSOLE_DEVICE_ADD, 1, null));
        }
        return p;
    }

    /**
     * Takes an unplugged port off the bus (QEMU's remove_port): its number is free again; on the device
     * thread the guest output it holds is given back unread and the driver hears DEVICE_REMOVE.
     */
    synchronized void removePort(VirtioSerialPort p) {
        if (!ports.remove(p)) {
            return;
        }
        byNr[p.nr()] = null;
        VirtioHost h = host;
        if (h != null) {
            h.execute(() -> {
                VirtQueue q = p.heldTxQueue;
                if (q != null && !p.heldTx.isEmpty()) {
                    while (!p.heldTx.isEmpty()) {
                        q.push(p.heldTx.poll().head(), 0);
                    }
                    h.notifyUsed(q);
                }
                sendControl(p.nr(), VIRTIO_CONSOLE_DEVICE_REMOVE, 1, null);
            });
        }
    }

    /** QEMU's find_free_port_id: port 0 stays reserved; the bitmap spans whole 32-port words. */
    private int freeNumber() {
        int limit = (maxPorts + 31) / 32 * 32;
        for (int i = 1; i < limit; i++) {
            if (i >= maxPorts || byNr[i] == null) {
                return i;
            }
        }
        return limit;
    }

    // ---- VirtioDevice

    @Override
    public int deviceType() {
        return VIRTIO_ID_CONSOLE;
    }

    @Override
    public int pciClassCode() {
        return PCI_CLASS_COMMUNICATION_OTHER;
    }

    /** QEMU's query-pci has no description for class 0x0780. */
    @Override
    public String pciDescription() {
        return null;
    }

    @Override
    public String threadName() {
        return "virtio-serial" + (id.isEmpty() ? "" : "-" + id);
    }

    @Override
    public long deviceFeatures() {
        long f = 0;
        if (maxPorts > 1) {
            f |= 1L << VIRTIO_CONSOLE_F_MULTIPORT;
        }
        if (emergencyWrite) {
            f |= 1L << VIRTIO_CONSOLE_F_EMERG_WRITE;
        }
        return f;
    }

    /** QEMU adds port 0's pair and the control pair even with max_ports=1, then a pair per port. */
    @Override
    public int queueCount() {
        return 4 + 2 * (maxPorts - 1);
    }

    @Override
    public int queueMaxSize(int i) {
        return i == CONTROL_RECEIVEQ || i == CONTROL_TRANSMITQ ? CONTROL_QUEUE_SIZE : DATA_QUEUE_SIZE;
    }

    @Override
    public int msixVectors() {
        return msixVectors;
    }

    /** Without EMERG_WRITE QEMU's configuration ends before emerg_wr. */
    @Override
    public int configLength() {
        return emergencyWrite ? CONFIG_LENGTH : CFG_EMERG_WR;
    }

    @Override
    public int readConfig(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            int off = offset + i;
            int b = off >= CFG_MAX_NR_PORTS && off < CFG_EMERG_WR ? maxPorts >>> (8 * (off - CFG_MAX_NR_PORTS)) & 0xff
                    : 0; // cols, rows (no F_SIZE) and emerg_wr read 0
            v |= b << (8 * i);
        }
        return v;
    }

    /** Section 5.3.4: a non-zero emerg_wr writes its low byte to the first open console (QEMU's set_config). */
    @Override
    public void writeConfig(int offset, int size, int value) {
        if (!emergencyWrite) {
            return;
        }
        int ch;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                int off = offset + i;
                if (off >= CFG_EMERG_WR && off < CONFIG_LENGTH) {
                    int shift = 8 * (off - CFG_EMERG_WR);
                    emergWr = emergWr & ~(0xff << shift) | (value >>> (8 * i) & 0xff) << shift;
                }
            }
            if (emergWr == 0) {
                return;
            }
            ch = emergWr & 0xff;
            emergWr = 0;
        }
        // on the device thread, after what the port's queue already gave (as QEMU writes both in order)
        host.execute(() -> {
            for (VirtioSerialPort p : ports()) {
                if (p.console() && p.hostConnected() && p.chardev() != null) {
                    flushBatch(p);
                    p.chardev().write(new byte[] {(byte) ch}, 0, 1);
                    return;
                }
            }
        });
    }

    @Override
    public void attach(VirtioHost host) {
        this.host = host;
        this.mem = host.memory();
    }

    /** Whether the driver took MULTIPORT; fixed from FEATURES_OK on, so cached for the backend threads. */
    private boolean multiport() {
        return multiport;
    }

    /** QEMU's set_status: a non-multiport guest opens port 0 at DRIVER_OK; leaving DRIVER_OK closes all. */
    @Override
    public void statusChanged(int newStatus) {
        multiport = (newStatus & VirtioPciTransport.FEATURES_OK) != 0
                && (host.negotiatedFeatures() & 1L << VIRTIO_CONSOLE_F_MULTIPORT) != 0;
        status = newStatus;
        if ((newStatus & VirtioPciTransport.DRIVER_OK) != 0) {
            VirtioSerialPort p0;
            synchronized (this) {
                p0 = byNr[0];
            }
            if (p0 != null && !multiport()) {
                p0.guestConnected = true;
                host.execute(() -> flushRx(p0));
            }
        } else {
            guestReset();
        }
    }

    /** QEMU's guest_reset: every port the guest had open is closed, with its VSERPORT_CHANGE. */
    private void guestReset() {
        for (VirtioSerialPort p : ports()) {
            if (p.guestConnected) {
                p.guestConnected = false;
                publishChange(p, false);
            }
        }
    }

    private void publishChange(VirtioSerialPort p, boolean open) {
        if (p.id() != null && events != null) {
            events.publish(new VmEvent.VserportChange(p.id(), open));
        }
    }

    @Override
    public void reset() {
        guestReset();
        controlBuffers.clear();
        pendingControl.clear();
        controlQueue = null;
        synchronized (this) {
            emergWr = 0;
        }
        for (VirtioSerialPort p : ports()) {
            p.rxBuffers.clear();
            p.rxQueue = null;
            p.rxRoom = 0;
            p.heldTx.clear();
            p.heldTxQueue = null;
            p.heldOffset = 0;
            p.outLen = 0;
            p.outFlushScheduled = false;
        }
    }

    /**
     * The emergency-write register, the driver's status as this device saw it, the control queue's held
     * receive buffers and the messages waiting for them, then every port ({@link VirtioSerialPort#saveState}).
     */
    @Override
    public void saveState(StateWriter w) {
        List<VirtioSerialPort> ps = ports();
        int ew;
        synchronized (this) {
            ew = emergWr;
        }
        w.u32("max-ports", maxPorts).bool("emergency-write", emergencyWrite).u32("emerg-wr", ew)
                .u8("status", status).bool("multiport", multiport).u32("error-lines", errorLines)
                .bool("control-queue", controlQueue != null);
        ChainState.save(w, "control-buffers", controlBuffers);
        w.begin("pending-control", pendingControl.size());
        for (byte[] m : pendingControl) {
            w.bytes("message", m);
        }
        w.end();
        w.begin("ports", ps.size());
        for (VirtioSerialPort p : ps) {
            p.saveState(w);
        }
        w.end();
    }

    /**
     * After the ports are back, work that a backend callback would have started is handed to the device
     * thread: held transmit chains are offered to the chardev again, staged input is flushed, and a host
     * side that is not in the saved state's connection state is announced (QEMU's post_load does the same).
     */
    @Override
    public void loadState(StateReader r) throws StateException {
        r.expectU32("max-ports", maxPorts);
        r.expectBool("emergency-write", emergencyWrite);
        int ew = r.u32("emerg-wr");
        int st = r.u8("status");
        boolean mp = r.bool("multiport");
        int lines = r.u32("error-lines");
        boolean cq = r.bool("control-queue");
        VirtQueue ctl = host.queue(CONTROL_RECEIVEQ);
        int n = r.begin("control-buffers");
        if (n > ctl.size() || (n > 0 && !cq)) {
            throw r.invalid("control-buffers", n + " buffers on a control queue of " + ctl.size());
        }
        ArrayDeque<DescriptorChain> bufs = new ArrayDeque<>();
        for (int i = 0; i < n; i++) {
            bufs.add(ChainState.load(r, mem, ctl));
        }
        r.end();
        int m = r.begin("pending-control");
        if (m > MAX_PENDING_CONTROL) {
            throw r.invalid("pending-control", m + " messages");
        }
        ArrayDeque<byte[]> msgs = new ArrayDeque<>();
        for (int i = 0; i < m; i++) {
            byte[] b = r.bytes("message");
            if (b.length < CONTROL_SIZE) {
                throw r.invalid("message", "a control message of " + b.length + " bytes");
            }
            msgs.add(b);
        }
        r.end();
        List<VirtioSerialPort> ps = ports();
        r.begin("ports", ps.size());
        for (VirtioSerialPort p : ps) {
            int rx = p.nr() == 0 ? PORT0_RECEIVEQ : 2 + 2 * p.nr();
            p.loadState(r, mem, host.queue(rx), host.queue(rx + 1));
        }
        r.end();
        synchronized (this) {
            emergWr = ew;
        }
        status = st;
        multiport = mp;
        errorLines = Math.min(lines, MAX_ERROR_LINES);
        controlQueue = cq ? ctl : null;
        controlBuffers.clear();
        controlBuffers.addAll(bufs);
        pendingControl.clear();
        pendingControl.addAll(msgs);
        for (VirtioSerialPort p : ps) {
            if (!p.heldTx.isEmpty()) {
                txWritable(p);
            }
            if (p.staged() > 0) {
                scheduleRxFlush(p);
            }
            if (p.outFlushScheduled) {
                host.execute(() -> flushBatch(p));
            }
            if (p.chardev() != null && !p.console() && p.chardev().isConnected() != p.hostConnected) {
                hostConnectionChanged(p, p.chardev().isConnected());
            }
        }
    }

    /** Section 5.3.2: the port number of data queue i (port 0: queues 0/1, port n: 2 + 2n / 3 + 2n). */
    private static int portOfQueue(int i) {
        return i <= PORT0_TRANSMITQ ? 0 : (i - 2) / 2;
    }

    /** Whether data queue i is a receiveq (even, from the port's point of view: host to guest). */
    private static boolean isReceiveQueue(int i) {
        return i % 2 == 0;
    }

    @Override
    public boolean handle(VirtQueue queue, DescriptorChain chain) {
        int qi = queue.index();
        if (qi == CONTROL_TRANSMITQ) {
            int n = chain.readFromReadable(mem, 0, controlIn, (int) Math.min(chain.readableBytes(), MAX_CONTROL_READ));
            long total = chain.readableBytes();
            queue.push(chain.head(), 0);
            handleControl(n, total);
            return true;
        }
        if (qi == CONTROL_RECEIVEQ) {
            controlQueue = queue;
            controlBuffers.add(chain.copy());
            sendPendingControl();
            return true;
        }
        int nr = portOfQueue(qi);
        VirtioSerialPort p;
        synchronized (this) {
            p = nr < maxPorts ? byNr[nr] : null;
        }
        boolean rx = isReceiveQueue(qi);
        if (p == null) {
            // a queue of a port that does not exist: QEMU discards transmit buffers and never uses receive
            // buffers, which stay the guest's until reset
            if (!rx) {
                queue.push(chain.head(), 0);
            }
            return true;
        }
        if (rx) {
            p.rxQueue = queue;
            p.rxBuffers.add(chain.copy());
            p.rxRoom += chain.writableBytes();
            flushRx(p);
            p.inputReady();
            return true;
        }
        return transmit(p, queue, chain);
    }

    // ---- guest to host

    /** Writes one transmit chain to the chardev, or holds it while the chardev is full. */
    private boolean transmit(VirtioSerialPort p, VirtQueue queue, DescriptorChain chain) {
        if (!p.hostConnected || p.chardev() == null) {
            queue.push(chain.head(), 0); // nobody on the host side: discarded, as QEMU's handle_output does
            return true;
        }
        if (!p.heldTx.isEmpty() || !p.chardev().isWritable()) {
            hold(p, queue, chain.copy());
            return false;
        }
        long total = chain.readableBytes();
        if (total <= OUT_BATCH - p.outLen) {
            // small chains of one pass go to the chardev as one write (one hand-off to its I/O thread)
            if (p.outBatch == null) {
                p.outBatch = new byte[OUT_BATCH];
            }
            for (int i = 0; i < chain.readableSegments(); i++) {
                int n = (int) chain.length(i);
                mem.read(chain.address(i), p.outBatch, p.outLen, n);
                p.outLen += n;
            }
            queue.push(chain.head(), 0);
            if (!p.outFlushScheduled) {
                p.outFlushScheduled = true;
                host.execute(() -> flushBatch(p));
            }
            return true;
        }
        flushBatch(p);
        p.heldOffset = 0;
        if (!writeOut(p, chain)) {
            // the chardev filled up inside this chain: the rest waits (QEMU's iov_offset), so a guest's huge
            // buffer never piles up in host memory
            long done = p.heldOffset;
            hold(p, queue, chain.copy());
            p.heldOffset = done;
            return false;
        }
        queue.push(chain.head(), 0);
        return true;
    }

    /** Device thread: writes what the last pass gathered. */
    private void flushBatch(VirtioSerialPort p) {
        p.outFlushScheduled = false;
        if (p.outLen > 0) {
            if (p.hostConnected && p.chardev() != null) {
                p.chardev().write(p.outBatch, 0, p.outLen);
            }
            p.outLen = 0;
        }
    }

    /** Keeps a transmit chain, in order; the transport stops popping its queue until resume(). */
    private static void hold(VirtioSerialPort p, VirtQueue queue, DescriptorChain c) {
        if (p.heldTx.isEmpty()) {
            p.heldOffset = 0;
        }
        p.heldTx.add(c);
        p.heldTxQueue = queue;
    }

    /**
     * Writes the chain's readable bytes from p.heldOffset on, stopping when the chardev says it is full;
     * returns whether all went out (p.heldOffset is where it stopped otherwise).
     */
    private boolean writeOut(VirtioSerialPort p, DescriptorChain chain) {
        long total = chain.readableBytes();
        long off = p.heldOffset;
        while (off < total) {
            if (off > p.heldOffset && !p.chardev().isWritable()) {
                p.heldOffset = off;
                return false;
            }
            int n = chain.readFromReadable(mem, off, scratch, (int) Math.min(scratch.length, total - off));
            if (n <= 0) {
                break;
            }
            p.chardev().write(scratch, 0, n);
            off += n;
        }
        p.heldOffset = 0;
        return true;
    }

    /** The chardev can take more (backend thread): the held chain goes out and the queue runs again. */
    void txWritable(VirtioSerialPort p) {
        host.execute(() -> {
            if (releaseHeld(p, true)) {
                host.resume(); // other ports' full chardevs keep theirs: they hold again at once
            }
        });
    }

    /** Sends (write) or discards the held chains; returns whether none is left. */
    private boolean releaseHeld(VirtioSerialPort p, boolean write) {
        flushBatch(p); // what came before the held chains goes first
        VirtQueue q = p.heldTxQueue;
        boolean any = false;
        while (!p.heldTx.isEmpty()) {
            DescriptorChain c = p.heldTx.peek();
            if (write && p.hostConnected && p.chardev() != null) {
                if (!p.chardev().isWritable() || !writeOut(p, c)) {
                    break; // still full: the next hook goes on (from heldOffset)
                }
            }
            p.heldOffset = 0;
            p.heldTx.poll();
            q.push(c.head(), 0);
            any = true;
        }
        if (any) {
            host.notifyUsed(q);
        }
        return p.heldTx.isEmpty();
    }

    // ---- host to guest

    /** Whether the guest takes data on p now (QEMU's virtio_serial_guest_ready, buffers aside). */
    boolean guestReady(VirtioSerialPort p) {
        if ((status & VirtioPciTransport.DRIVER_OK) == 0) {
            return false;
        }
        return p.guestConnected || !multiport() && p.nr() == 0;
    }

    void scheduleRxFlush(VirtioSerialPort p) {
        if (p.flushScheduled.compareAndSet(false, true)) {
            host.execute(() -> {
                p.flushScheduled.set(false);
                flushRx(p);
            });
        }
    }

    /** Device thread: moves staged bytes into the guest's receive buffers. */
    private void flushRx(VirtioSerialPort p) {
        VirtQueue q = p.rxQueue;
        if (q == null || !guestReady(p)) {
            return;
        }
        boolean any = false;
        while (!p.rxBuffers.isEmpty()) {
            DescriptorChain c = p.rxBuffers.peek();
            int cap = (int) Math.min(c.writableBytes(), scratch.length);
            int n = p.peekStaged(scratch, cap);
            if (n == 0 && cap > 0) {
                break;
            }
            p.rxBuffers.poll();
            p.rxRoom -= c.writableBytes();
            int written = c.writeToWritable(mem, scratch, n);
            p.consumeStaged(written);
            q.push(c.head(), written);
            any = true;
        }
        if (any) {
            host.notifyUsed(q);
        }
        if (p.staged() < VirtioSerialPort.STAGING_BYTES) {
            p.inputReady();
        }
    }

    // ---- control

    /** Backend thread: the host peer came or went; QEMU's virtio_serial_open/close. */
    void hostConnectionChanged(VirtioSerialPort p, boolean connected) {
        host.execute(() -> {
            if (p.hostConnected == connected) {
                return;
            }
            p.hostConnected = connected;
            if (!connected) {
                releaseHeld(p, false); // what the guest sent and nobody read is discarded
                host.resume();
            }
            sendControl(p.nr(), VIRTIO_CONSOLE_PORT_OPEN, connected ? 1 : 0, null);
        });
    }

    private void handleControl(int len, long total) {
        if (total < CONTROL_SIZE || len < CONTROL_SIZE) {
            return; // QEMU: an invalid control packet is ignored
        }
        long portId = (controlIn[0] & 0xffL) | (controlIn[1] & 0xffL) << 8 | (controlIn[2] & 0xffL) << 16
                | (controlIn[3] & 0xffL) << 24;
        int event = (controlIn[4] & 0xff) | (controlIn[5] & 0xff) << 8;
        int value = (controlIn[6] & 0xff) | (controlIn[7] & 0xff) << 8;
        if (event == VIRTIO_CONSOLE_DEVICE_READY) {
            if (value == 0) {
                error("virtio-serial-bus: Guest failure in adding device " + busName);
                return;
            }
            for (VirtioSerialPort p : ports()) {
                sendControl(p.nr(), VIRTIO_CONSOLE_DEVICE_ADD, 1, null);
            }
            return;
        }
        VirtioSerialPort p;
        synchronized (this) {
            p = portId < maxPorts ? byNr[(int) portId] : null;
        }
        if (p == null) {
            error("virtio-serial-bus: Unexpected port id " + portId + " for device " + busName);
            return;
        }
        switch (event) {
            case VIRTIO_CONSOLE_PORT_READY -> {
                if (value == 0) {
                    error("virtio-serial-bus: Guest failure in adding port " + p.nr() + " for device " + busName);
                    return;
                }
                if (p.console()) {
                    sendControl(p.nr(), VIRTIO_CONSOLE_CONSOLE_PORT, 1, null);
                }
                if (p.name() != null) {
                    sendControl(p.nr(), VIRTIO_CONSOLE_PORT_NAME, 1, p.name());
                }
                if (p.hostConnected) {
                    sendControl(p.nr(), VIRTIO_CONSOLE_PORT_OPEN, 1, null);
                }
            }
            case VIRTIO_CONSOLE_PORT_OPEN -> {
                boolean open = value != 0;
                p.guestConnected = open;
                publishChange(p, open); // QEMU reports every PORT_OPEN, changed or not
                if (open) {
                    flushRx(p);
                    p.inputReady();
                }
            }
            default -> {
                // other events mean nothing from the guest, as in QEMU
            }
        }
    }

    /** Queues one control message for the guest (device thread) and sends what fits. */
    private void sendControl(int portNr, int event, int value, String name) {
        if ((status & VirtioPciTransport.DRIVER_OK) == 0 || !multiport()) {
            return; // QEMU: no ready control queue, no message
        }
        byte[] nameBytes = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        byte[] m = new byte[CONTROL_SIZE + (name == null ? 0 : nameBytes.length + 1)];
        m[0] = (byte) portNr;
        m[1] = (byte) (portNr >>> 8);
        m[2] = (byte) (portNr >>> 16);
        m[3] = (byte) (portNr >>> 24);
        m[4] = (byte) event;
        m[5] = (byte) (event >>> 8);
        m[6] = (byte) value;
        m[7] = (byte) (value >>> 8);
        System.arraycopy(nameBytes, 0, m, CONTROL_SIZE, nameBytes.length);
        if (pendingControl.size() < MAX_PENDING_CONTROL) {
            pendingControl.add(m);
        }
        sendPendingControl();
    }

    private void sendPendingControl() {
        VirtQueue q = controlQueue;
        if (q == null) {
            return;
        }
        boolean any = false;
        while (!pendingControl.isEmpty() && !controlBuffers.isEmpty()) {
            byte[] m = pendingControl.poll();
            DescriptorChain c = controlBuffers.poll();
            int n = c.writeToWritable(mem, m, m.length);
            q.push(c.head(), n);
            any = true;
        }
        if (any) {
            host.notifyUsed(q);
        }
    }

    private void error(String line) {
        if (err != null && errorLines < MAX_ERROR_LINES) {
            errorLines++;
            err.println("jvmm: " + line);
        }
    }
}
