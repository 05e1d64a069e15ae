package dev.jvmm.devices.virtio;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.chardev.FlowControlledReceiver;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Virtio 1.1, section 5.3.6: one port of a {@link VirtioSerial} (QEMU's virtserialport / virtconsole
 * device): its number, name and chardev, whether the guest and the host side have it open, and the data
 * in flight both ways.
 *
 * <p>Host to guest: the chardev delivers into a bounded staging ring only as much as the guest's posted
 * receive buffers can take ({@link #canReceive}); the device thread moves staged bytes into those buffers.
 * While the guest has no room (or has not opened the port) the chardev stops reading its source. Guest to
 * host: a transmit chain is written to the chardev whole; while the chardev reports it cannot take more,
 * the next chain is held (not consumed) until its writable hook runs.
 *
 * <p>Threads: the staging ring is guarded by its own lock (backend thread in, device thread out); the
 * rest belongs to the device thread, except the volatile flags read by the backend.
 */
public final class VirtioSerialPort implements FlowControlledReceiver {
    /** QEMU's VIRTIO_CONSOLE_BAD_ID, nr's default: the bus chooses the number. */
    private static final long UNSET_NR = 0xffff_ffffL;

    /** QEMU's abstract virtio-serial-port: what every port on a virtio-serial-bus has. */
    public static final TypeInfo PORT = TypeInfo.abstractType("virtio-serial-port", "device")
            .bus(VirtioSerial.BUS.name())
            .props(Property.of("nr", PropType.UINT32, UNSET_NR), Property.of("name", PropType.STR))
            .build();

    public static final TypeInfo SERIAL_PORT = TypeInfo.type("virtserialport", PORT.name()).category("Input")
            .props(Property.of("chardev", PropType.CHR))
            .build();

    /** A virtserialport the guest sees as a console (port 0 when it is the first). */
    public static final TypeInfo CONSOLE = TypeInfo.type("virtconsole", SERIAL_PORT.name()).category("Input").build();

    public static final DeviceClass SERIAL_PORT_CLASS = new DeviceClass(SERIAL_PORT, VirtioSerialPort::realize);
    public static final DeviceClass CONSOLE_CLASS = new DeviceClass(CONSOLE, VirtioSerialPort::realize);

    /**
     * A port as the machine holds it; its controller resets it. Closing it (the port unplugged) takes it off
     * the bus and gives its chardev back, which then hears nothing more from the port and may be removed or
     * used again.
     */
    record Realized(VirtioSerialPort port, Runnable releaseChardev) implements DeviceInstance {
        @Override
        public void close() {
            VirtioSerial bus = port.owner;
            if (bus != null) {
                bus.removePort(port);
            }
            Chardev c = port.chardev();
            if (c != null) {
                unwire(c);
                releaseChardev.run();
            }
        }
    }

    /**
     * QEMU's virtser_port_device_realize, with its order of refusals: the chardev (taken when the property
     * is set), a number in use on this bus, a name in use on any bus, then the bus's own checks.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        String type = p.type();
        VirtioSerial bus = where.bus().owner(VirtioSerial.class);
        long nrValue = p.number("nr");
        // a number the bus cannot have is refused by it either way
        int nr = nrValue == UNSET_NR ? -1 : (int) Math.min(nrValue, Integer.MAX_VALUE);
        String chardevId = p.str("chardev").orElse("");
        Chardev chardev = null;
        if (!chardevId.isEmpty()) {
            chardev = ctx.chardevs().get(chardevId).orElseThrow(() -> new PropertyException("Property '" + type
                    + ".chardev' can't find value '" + chardevId + "'"));
            if (ctx.chardevs().isClaimed(chardevId)) {
                throw new PropertyException("Property '" + type + ".chardev' can't take value '" + chardevId
                        + "': Device '" + chardevId + "' is in use");
            }
        }
        String name = p.str("name").orElse(null);
        boolean nrTaken = nr >= 0 && bus.ports().stream().anyMatch(q -> q.nr() == nr);
        if (!nrTaken && name != null && where.model().devices().stream()
                .anyMatch(d -> d.instance() instanceof Realized r && name.equals(r.port().name()))) {
            throw new PropertyException("virtio-serial-bus: A port already exists by name " + name);
        }
        VirtioSerialPort port;
        try {
            port = bus.addPort(where.id(), nr, name, type.equals(CONSOLE.name()), chardev);
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e.getMessage());
        }
        if (chardev != null) {
            // query-chardev: a console's frontend is open, a serial port's follows the guest's PORT_OPEN
            ctx.chardevs().claim(chardevId, () -> port.console() || port.guestConnected());
            ctx.chardevs().onChange(chardevId, port::changeChardev);
        }
        where.node().setGetter("nr", () -> (long) port.nr());
        return new Realized(port, () -> ctx.chardevs().release(chardevId));
    }

    /** Host-to-guest bytes staged at most (the guest's buffers usually hold far less). */
    static final int STAGING_BYTES = 64 * 1024;

    private final String id;
    private final int nr;
    private final String name;
    private final boolean console;
    /** The backend; chardev-change replaces it while the port runs. */
    private volatile Chardev chardev;
    private VirtioSerial owner;

    volatile boolean guestConnected;
    volatile boolean hostConnected;

    // Host to guest, device thread: receive buffers popped from the port's receiveq, kept until data comes.
    final ArrayDeque<DescriptorChain> rxBuffers = new ArrayDeque<>();
    VirtQueue rxQueue;
    /** Bytes the kept receive buffers hold (device thread writes, backend reads). */
    volatile long rxRoom;
    private final byte[] staging = new byte[STAGING_BYTES];
    private int stageHead;
    private int stageCount;
    private final Object stageLock = new Object();
    final AtomicBoolean flushScheduled = new AtomicBoolean();
    private volatile Runnable inputReadyHook;

    // Guest to host, device thread: transmit chains held, in order, while the chardev is full.
    final ArrayDeque<DescriptorChain> heldTx = new ArrayDeque<>();
    VirtQueue heldTxQueue;
    /** Bytes of the first held chain already written (a chain the chardev filled up inside). */
    long heldOffset;
    /** Guest output gathered during one pass over the transmit queue, handed to the chardev at its end. */
    byte[] outBatch;
    int outLen;
    boolean outFlushScheduled;

    /**
     * @param id      the -device id= (VSERPORT_CHANGE names the port by it), or null
     * @param nr      the port number the bus gave it
     * @param name    name= sent to the guest with PORT_NAME, or null
     * @param console virtconsole rather than virtserialport
     * @param chardev the host side, or null (then the host never opens the port)
     */
    VirtioSerialPort(String id, int nr, String name, boolean console, Chardev chardev) {
        this.id = id;
        this.nr = nr;
        this.name = name;
        this.console = console;
        this.chardev = chardev;
    }

    public String id() {
        return id;
    }

    public int nr() {
        return nr;
    }

    public String name() {
        return name;
    }

    public boolean console() {
        return console;
    }

    public Chardev chardev() {
        return chardev;
    }

    /** Whether the guest has the port open (its last PORT_OPEN said so). */
    public boolean guestConnected() {
        return guestConnected;
    }

    /** Whether the host side is open (a chardev peer is connected; always for consoles with a chardev). */
    public boolean hostConnected() {
        return hostConnected;
    }

    /** Wires the chardev to this port; QEMU's virtconsole realize. */
    void attach(VirtioSerial owner) {
        this.owner = owner;
        if (chardev == null) {
            return;
        }
        hostConnected = console || chardev.isConnected();
        wire(chardev);
    }

    private void wire(Chardev c) {
        VirtioSerial bus = owner;
        if (!console) {
            // serial ports follow the chardev's peer; consoles are open whenever they have a backend
            c.setConnectionListener(open -> bus.hostConnectionChanged(this, open));
        }
        c.setWritableHook(() -> bus.txWritable(this));
        c.setReceiver(this);
    }

    /** Detaches the chardev from this port: it hears nothing more from it. */
    private static void unwire(Chardev c) {
        c.setReceiver(null);
        c.setWritableHook(null);
        c.setConnectionListener(null);
    }

    /**
     * chardev-change (QEMU's virtconsole chr_be_change): the port takes the new backend under the same id; a
     * serial port's host side then follows the new backend's peer, which the guest hears as PORT_OPEN.
     */
    void changeChardev(Chardev next) {
        unwire(chardev);
        chardev = next;
        wire(next);
        if (!console) {
            owner.hostConnectionChanged(this, next.isConnected());
        }
    }

    // ---- FlowControlledReceiver (backend thread)

    @Override
    public int canReceive() {
        if (!owner.guestReady(this)) {
            return 0;
        }
        synchronized (stageLock) {
            long room = Math.min(rxRoom - stageCount, STAGING_BYTES - stageCount);
            return (int) Math.max(0, room);
        }
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        synchronized (stageLock) {
            int n = Math.min(length, STAGING_BYTES - stageCount);
            int tail = (stageHead + stageCount) % STAGING_BYTES;
            int first = Math.min(n, STAGING_BYTES - tail);
            System.arraycopy(data, offset, staging, tail, first);
            System.arraycopy(data, offset + first, staging, 0, n - first);
            stageCount += n;
        }
        owner.scheduleRxFlush(this);
    }

    @Override
    public void setInputReadyHook(Runnable hook) {
        inputReadyHook = hook;
    }

    /** Tells the backend there may be room again (never under a device lock). */
    void inputReady() {
        Runnable h = inputReadyHook;
        if (h != null) {
            h.run();
        }
    }

    int staged() {
        synchronized (stageLock) {
            return stageCount;
        }
    }

    /** Copies up to max staged bytes into dst without consuming them. */
    int peekStaged(byte[] dst, int max) {
        synchronized (stageLock) {
            int n = Math.min(max, stageCount);
            int first = Math.min(n, STAGING_BYTES - stageHead);
            System.arraycopy(staging, stageHead, dst, 0, first);
            System.arraycopy(staging, 0, dst, first, n - first);
            return n;
        }
    }

    /**
     * Both directions' in-flight state: whether each side has the port open, the receive buffers the guest
     * posted, the host bytes staged for them, the transmit chains held for a full chardev (and how far into
     * the first one it got), and guest output gathered but not yet handed to the chardev. Device thread
     * quiesced.
     */
    void saveState(StateWriter w) {
        w.begin("port").u32("nr", nr).str("id", id).str("name", name).bool("console", console)
                .bool("chardev", chardev != null).bool("guest-connected", guestConnected)
                .bool("host-connected", hostConnected).bool("rx-queue", rxQueue != null);
        ChainState.save(w, "rx-buffers", rxBuffers);
        byte[] st = new byte[STAGING_BYTES];
        w.bytes("staged", st, 0, peekStaged(st, STAGING_BYTES)).bool("tx-queue", heldTxQueue != null);
        ChainState.save(w, "held-tx", heldTx);
        w.u64("held-offset", heldOffset).bytes("out-batch", outBatch == null ? new byte[0] : outBatch, 0, outLen)
                .bool("out-flush-scheduled", outFlushScheduled).end();
    }

    /** rx and tx are the port's receiveq and transmitq (already restored). */
    void loadState(StateReader r, GuestMemory mem, VirtQueue rx, VirtQueue tx) throws StateException {
        r.begin("port", 1);
        r.expectU32("nr", nr);
        r.expectStr("id", id);
        r.expectStr("name", name);
        r.expectBool("console", console);
        r.expectBool("chardev", chardev != null);
        boolean guest = r.bool("guest-connected");
        boolean host = r.bool("host-connected");
        boolean hasRx = r.bool("rx-queue");
        ArrayDeque<DescriptorChain> rxIn = loadChains(r, "rx-buffers", mem, rx);
        byte[] st = r.bytes("staged");
        if (st.length > STAGING_BYTES) {
            throw r.invalid("staged", st.length + " bytes, more than the " + STAGING_BYTES + " staged at most");
        }
        boolean hasTx = r.bool("tx-queue");
        ArrayDeque<DescriptorChain> txIn = loadChains(r, "held-tx", mem, tx);
        long off = r.u64("held-offset");
        if (off < 0 || off > (txIn.isEmpty() ? 0 : txIn.peek().readableBytes())) {
            throw r.invalid("held-offset", off + " is beyond the first held chain");
        }
        byte[] out = r.bytes("out-batch");
        if (out.length > VirtioSerial.OUT_BATCH) {
            throw r.invalid("out-batch", out.length + " bytes");
        }
        boolean outFlush = r.bool("out-flush-scheduled");
        r.end();
        if ((!rxIn.isEmpty() && !hasRx) || (!txIn.isEmpty() && !hasTx)) {
            throw r.invalid(rxIn.isEmpty() ? "tx-queue" : "rx-queue", "buffers held without their queue");
        }
        guestConnected = guest;
        hostConnected = host;
        rxQueue = hasRx ? rx : null;
        rxBuffers.clear();
        rxBuffers.addAll(rxIn);
        rxRoom = rxIn.stream().mapToLong(DescriptorChain::writableBytes).sum();
        synchronized (stageLock) {
            System.arraycopy(st, 0, staging, 0, st.length);
            stageHead = 0;
            stageCount = st.length;
        }
        heldTxQueue = hasTx ? tx : null;
        heldTx.clear();
        heldTx.addAll(txIn);
        heldOffset = off;
        outLen = out.length;
        if (out.length > 0) {
            outBatch = new byte[VirtioSerial.OUT_BATCH];
            System.arraycopy(out, 0, outBatch, 0, out.length);
        }
        outFlushScheduled = outFlush;
    }

    private static ArrayDeque<DescriptorChain> loadChains(StateReader r, String name, GuestMemory mem, VirtQueue q)
            throws StateException {
        int n = r.begin(name);
        if (n > q.size()) {
            throw r.invalid(name, n + " chains held on a queue of " + q.size());
        }
        ArrayDeque<DescriptorChain> out = new ArrayDeque<>();
        for (int i = 0; i < n; i++) {
            out.add(ChainState.load(r, mem, q));
        }
        r.end();
        return out;
    }

    void consumeStaged(int n) {
        synchronized (stageLock) {
            stageHead = (stageHead + n) % STAGING_BYTES;
            stageCount -= n;
        }
    }
}
