package dev.jvmm.devices.virtio;

import dev.jvmm.core.chardev.AbstractChardev;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static dev.jvmm.devices.virtio.VirtioSerial.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * VirtioSerial without a transport: queues driven directly in guest memory, a host that runs tasks at once,
 * and chardevs that record. Covers port numbering and its errors, configuration, the control conversation,
 * malformed control messages and flow control both ways.
 */
class VirtioSerialTest {
    private final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 4L << 20)));
    private final EventBus events = new EventBus();
    private final List<VmEvent> published = new ArrayList<>();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true);
    private final List<String> failures = new ArrayList<>();
    private long features = 1L << VirtioPciTransport.VIRTIO_F_VERSION_1 | 1L << VIRTIO_CONSOLE_F_MULTIPORT;
    private long nextBuf = 0x200000;

    {
        events.subscribe((e, t) -> published.add(e));
    }

    /** Runs tasks at once on the calling thread (the test plays the device thread). */
    private final class Host implements VirtioHost {
        int resumes;

        @Override
        public GuestMemory memory() {
            return mem;
        }

        @Override
        public long negotiatedFeatures() {
            return features;
        }

        @Override
        public void configChanged() {
        }

        @Override
        public void fail(String reason) {
            failures.add(reason);
        }

        @Override
        public void execute(Runnable task) {
            task.run();
        }

        @Override
        public void resume() {
            resumes++;
        }

        @Override
        public void notifyUsed(VirtQueue queue) {
        }

        @Override
        public VirtQueue queue(int i) {
            throw new UnsupportedOperationException();
        }
    }

    /** A chardev that records output and can refuse more (isWritable false). */
    static final class Recorder extends AbstractChardev {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        volatile boolean writable = true;
        volatile boolean connected = true;
        /** Output size at which the recorder turns unwritable (a peer that stopped reading). */
        volatile int limit = Integer.MAX_VALUE;
        Runnable writableHook;
        Consumer<Boolean> connection;

        Recorder(String id) {
            super(id);
        }

        @Override
        public void write(byte[] data, int offset, int length) {
            out.write(data, offset, length);
        }

        @Override
        public boolean isWritable() {
            return writable && out.size() < limit;
        }

        @Override
        public void setWritableHook(Runnable hook) {
            writableHook = hook;
        }

        @Override
        public void setConnectionListener(Consumer<Boolean> listener) {
            connection = listener;
        }

        @Override
        public boolean isConnected() {
            return connected;
        }

        @Override
        public String describe() {
            return "recorder";
        }

        @Override
        public void close() {
        }
    }

    private final Host host = new Host();
    private VirtioSerial dev;
    private final VirtQueue[] queues = new VirtQueue[16];
    private final int[] avail = new int[16];

    private VirtioSerial device(int maxPorts) {
        dev = new VirtioSerial("vs", "vs.0", maxPorts, true, events, err);
        dev.attach(host);
        return dev;
    }

    /** Enables queues 0..n-1 (16 entries each) and sets DRIVER_OK. */
    private void start(int n) {
        for (int i = 0; i < n; i++) {
            VirtQueue q = new VirtQueue(mem, i, dev.queueMaxSize(i), failures::add);
            q.size = 16;
            q.descAddr = 0x10000 + i * 0x1000L;
            q.driverAddr = 0x60000 + i * 0x1000L;
            q.deviceAddr = 0xb0000 + i * 0x1000L;
            assertTrue(q.enable(false));
            queues[i] = q;
        }
        dev.statusChanged(VirtioPciTransport.ACKNOWLEDGE | VirtioPciTransport.DRIVER
                | VirtioPciTransport.FEATURES_OK | VirtioPciTransport.DRIVER_OK);
    }

    /** Makes one single-descriptor buffer available on q and lets the device pop and handle it. */
    private boolean offer(int qi, long addr, int len, boolean writable) {
        VirtQueue q = queues[qi];
        int slot = avail[qi] % 16;
        long d = q.descAddr + 16L * slot;
        mem.writeLong(d, addr);
        mem.writeInt(d + 8, len);
        mem.writeShort(d + 12, (short) (writable ? VirtQueue.VIRTQ_DESC_F_WRITE : 0));
        mem.writeShort(d + 14, (short) 0);
        mem.writeShort(q.driverAddr + 4 + 2L * slot, (short) slot);
        avail[qi]++;
        mem.writeShort(q.driverAddr + 2, (short) avail[qi]);
        assertTrue(q.pop());
        return dev.handle(q, q.chain());
    }

    private long buffer(int len) {
        long a = nextBuf;
        nextBuf += (len + 0xfff) & ~0xfff;
        return a;
    }

    /** Sends a control message from the guest. */
    private void control(long id, int event, int value) {
        byte[] m = new byte[8];
        for (int i = 0; i < 4; i++) {
            m[i] = (byte) (id >>> (8 * i));
        }
        m[4] = (byte) event;
        m[5] = (byte) (event >>> 8);
        m[6] = (byte) value;
        m[7] = (byte) (value >>> 8);
        sendRaw(m);
    }

    private void sendRaw(byte[] m) {
        long a = buffer(m.length);
        mem.write(a, m, 0, m.length);
        assertTrue(offer(CONTROL_TRANSMITQ, a, m.length, false));
    }

    private final List<Long> controlBuffers = new ArrayList<>();
    private int controlSeen;

    private void postControlBuffers(int n) {
        for (int i = 0; i < n; i++) {
            long a = buffer(256);
            controlBuffers.add(a);
            assertTrue(offer(CONTROL_RECEIVEQ, a, 256, true));
        }
    }

    /** Control messages the device sent since the last call, as "port EVENT value [name]". */
    private List<String> received() {
        List<String> out = new ArrayList<>();
        VirtQueue q = queues[CONTROL_RECEIVEQ];
        int usedIdx = mem.readShort(q.deviceAddr + 2) & 0xffff;
        for (; controlSeen < usedIdx; controlSeen++) {
            int slot = controlSeen % 16;
            int head = mem.readInt(q.deviceAddr + 4 + 8L * slot);
            int len = mem.readInt(q.deviceAddr + 8 + 8L * slot);
            long a = mem.readLong(q.descAddr + 16L * head);
            int port = mem.readInt(a);
            int event = mem.readShort(a + 4) & 0xffff;
            int value = mem.readShort(a + 6) & 0xffff;
            String s = port + " " + event + " " + value;
            if (len > 8) {
                byte[] name = new byte[len - 8];
                mem.read(a + 8, name, 0, name.length);
                s += " " + new String(name, StandardCharsets.UTF_8).replace("\0", "\\0");
            }
            out.add(s);
        }
        return out;
    }

    @AfterEach
    void close() {
        mem.close();
    }

    @Test
    void portNumbersAsQemuGivesThem() {
        device(31);
        assertEquals(1, dev.addPort("a", -1, null, false, null).nr());
        assertEquals(0, dev.addPort("c", -1, null, true, null).nr());
        assertEquals(2, dev.addPort("b", -1, "n", false, null).nr());
        assertEquals(3, dev.addPort("c2", -1, null, true, null).nr()); // port 0 taken: a console gets the next
        assertEquals("virtio-serial-bus: A port already exists at id 2",
                assertThrows(IllegalArgumentException.class, () -> dev.addPort(null, 2, null, false, null))
                        .getMessage());
        assertEquals("virtio-serial-bus: A port already exists by name n",
                assertThrows(IllegalArgumentException.class, () -> dev.addPort(null, -1, "n", false, null))
                        .getMessage());
        assertEquals("virtio-serial-bus: Out-of-range port id specified, max. allowed: 30",
                assertThrows(IllegalArgumentException.class, () -> dev.addPort(null, 31, null, false, null))
                        .getMessage());
    }

    @Test
    void portZeroIsForConsoles() {
        device(4);
        assertEquals("Port number 0 on virtio-serial devices reserved for virtconsole devices for backward"
                + " compatibility.", assertThrows(IllegalArgumentException.class,
                () -> dev.addPort(null, 0, null, false, null)).getMessage());
        device(1);
        assertEquals("virtio-serial-bus: Out-of-range port id specified, max. allowed: 0",
                assertThrows(IllegalArgumentException.class, () -> dev.addPort(null, -1, null, false, null))
                        .getMessage());
        assertEquals(0, dev.addPort(null, -1, null, true, null).nr());
    }

    @Test
    void configurationFeaturesAndQueues() {
        device(31);
        assertEquals(64, dev.queueCount());
        assertEquals(32, dev.msixVectors());
        assertEquals(128, dev.queueMaxSize(0));
        assertEquals(32, dev.queueMaxSize(CONTROL_RECEIVEQ));
        assertEquals(1L << VIRTIO_CONSOLE_F_MULTIPORT | 1L << VIRTIO_CONSOLE_F_EMERG_WRITE, dev.deviceFeatures());
        assertEquals(31, dev.readConfig(CFG_MAX_NR_PORTS, 4));
        assertEquals(0, dev.readConfig(CFG_COLS, 4));
        assertEquals(12, dev.configLength());
        VirtioSerial one = new VirtioSerial("", "virtio-serial-bus.0", 1, false, events, err);
        assertEquals(4, one.queueCount()); // QEMU adds the control pair even for one port
        assertEquals(0, one.deviceFeatures());
        assertEquals(8, one.configLength());
    }

    @Test
    void controlConversation() {
        device(4);
        Recorder con = new Recorder("con");
        Recorder file = new Recorder("f");
        Recorder sock = new Recorder("s");
        sock.connected = false;
        dev.addPort("p1", -1, "org.test.one", false, file);
        dev.addPort("con", -1, null, true, con);
        dev.addPort("p2", -1, "two", false, sock);
        start(dev.queueCount());
        postControlBuffers(12);
        control(0, VIRTIO_CONSOLE_DEVICE_READY, 1);
        assertEquals(List.of("1 1 1", "0 1 1", "2 1 1"), received());
        control(1, VIRTIO_CONSOLE_PORT_READY, 1);
        assertEquals(List.of("1 7 1 org.test.one\\0", "1 6 1"), received());
        control(0, VIRTIO_CONSOLE_PORT_READY, 1);
        assertEquals(List.of("0 4 1", "0 6 1"), received());
        control(2, VIRTIO_CONSOLE_PORT_READY, 1);
        assertEquals(List.of("2 7 1 two\\0"), received()); // its socket has no peer: no PORT_OPEN
        control(2, VIRTIO_CONSOLE_PORT_OPEN, 1);
        control(2, VIRTIO_CONSOLE_PORT_OPEN, 0);
        assertEquals(List.of(new VmEvent.VserportChange("p2", true), new VmEvent.VserportChange("p2", false)),
                published);
        // the host side connects and leaves: PORT_OPEN 1 then 0, as QEMU's virtio_serial_open/close
        sock.connection.accept(true);
        sock.connection.accept(false);
        assertEquals(List.of("2 6 1", "2 6 0"), received());
        assertEquals(List.of(), failures);
    }

    @Test
    void malformedControlMessagesAreIgnored() {
        device(4);
        dev.addPort("p1", -1, null, false, new Recorder("f"));
        start(dev.queueCount());
        postControlBuffers(12);
        sendRaw(new byte[] {1, 0, 0});                      // short
        control(1, 99, 1);                                   // unknown event
        control(3, VIRTIO_CONSOLE_PORT_OPEN, 1);             // in range, no port
        control(1000, VIRTIO_CONSOLE_PORT_READY, 1);         // out of range
        control(0xffff_ffffL, VIRTIO_CONSOLE_PORT_OPEN, 1);  // the largest id
        control(0, VIRTIO_CONSOLE_DEVICE_READY, 0);          // guest failure
        control(1, VIRTIO_CONSOLE_PORT_READY, 0);            // guest failure
        control(1, VIRTIO_CONSOLE_DEVICE_ADD, 1);            // a device-to-driver event
        sendRaw(new byte[200]);                              // long: header only (DEVICE_READY id 0 value 0)
        assertEquals(List.of(), received());
        assertEquals(List.of(), published);
        assertEquals(List.of(), failures);
        String log = errBytes.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("virtio-serial-bus: Unexpected port id 3 for device vs.0"), log);
        assertTrue(log.contains("virtio-serial-bus: Unexpected port id 4294967295 for device vs.0"), log);
        assertTrue(log.contains("virtio-serial-bus: Guest failure in adding port 1 for device vs.0"), log);
        // still working
        control(0, VIRTIO_CONSOLE_DEVICE_READY, 1);
        assertEquals(List.of("1 1 1"), received());
    }

    @Test
    void hostInputWaitsForTheGuest() {
        device(4);
        Recorder sock = new Recorder("s");
        VirtioSerialPort p = dev.addPort("p1", -1, null, false, sock);
        start(dev.queueCount());
        assertEquals(0, p.canReceive(), "closed port takes nothing");
        control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
        assertEquals(0, p.canReceive(), "no receive buffers yet");
        int rxq = 2 + 2 * p.nr();
        long b1 = buffer(8);
        long b2 = buffer(8);
        assertTrue(offer(rxq, b1, 8, true));
        assertTrue(offer(rxq, b2, 8, true));
        assertEquals(16, p.canReceive());
        byte[] data = "0123456789abc".getBytes(StandardCharsets.US_ASCII);
        p.receive(data, 0, data.length);
        VirtQueue q = queues[rxq];
        assertEquals(2, mem.readShort(q.deviceAddr + 2));
        assertEquals(8, mem.readInt(q.deviceAddr + 8));
        assertEquals(5, mem.readInt(q.deviceAddr + 16));
        byte[] got = new byte[13];
        mem.read(b1, got, 0, 8);
        mem.read(b2, got, 8, 5);
        assertArrayEquals(data, got);
        assertEquals(0, p.canReceive());
    }

    @Test
    void slowHostHoldsTransmitBuffers() {
        device(4);
        Recorder sock = new Recorder("s");
        VirtioSerialPort p = dev.addPort("p1", -1, null, false, sock);
        start(dev.queueCount());
        int txq = 3 + 2 * p.nr();
        long a = buffer(4);
        mem.write(a, "abcd".getBytes(StandardCharsets.US_ASCII), 0, 4);
        sock.writable = false;
        assertFalse(offer(txq, a, 4, false), "held while the chardev is full");
        assertEquals(0, sock.out.size());
        assertEquals(0, mem.readShort(queues[txq].deviceAddr + 2));
        sock.writable = true;
        sock.writableHook.run();
        assertEquals("abcd", sock.out.toString(StandardCharsets.US_ASCII));
        assertEquals(1, mem.readShort(queues[txq].deviceAddr + 2));
        assertEquals(1, host.resumes);
    }

    @Test
    void aHugeTransmitBufferWaitsInsideItself() {
        device(4);
        Recorder sock = new Recorder("s");
        sock.limit = 64 * 1024;
        VirtioSerialPort p = dev.addPort("p1", -1, null, false, sock);
        start(dev.queueCount());
        int txq = 3 + 2 * p.nr();
        int len = 1 << 20;
        long a = buffer(len);
        byte[] pattern = new byte[len];
        for (int i = 0; i < len; i++) {
            pattern[i] = (byte) (i * 31 + i / 1000);
        }
        mem.write(a, pattern, 0, len);
        assertFalse(offer(txq, a, len, false), "held part way");
        assertEquals(64 * 1024, sock.out.size(), "only what the chardev took");
        assertEquals(0, mem.readShort(queues[txq].deviceAddr + 2));
        sock.limit = Integer.MAX_VALUE;
        sock.writableHook.run();
        assertArrayEquals(pattern, sock.out.toByteArray(), "the rest from where it stopped, nothing twice");
        assertEquals(1, mem.readShort(queues[txq].deviceAddr + 2));
    }

    @Test
    void receiveBuffersWithoutRoomAreReturnedEmpty() {
        device(4);
        VirtioSerialPort p = dev.addPort("p1", -1, null, false, new Recorder("s"));
        start(dev.queueCount());
        control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
        int rxq = 2 + 2 * p.nr();
        long ro = buffer(8);
        assertTrue(offer(rxq, ro, 8, false)); // device-readable only: no room
        long b = buffer(8);
        assertTrue(offer(rxq, b, 8, true));
        p.receive("hi".getBytes(StandardCharsets.US_ASCII), 0, 2);
        VirtQueue q = queues[rxq];
        assertEquals(2, mem.readShort(q.deviceAddr + 2), "the empty one does not block the port");
        assertEquals(0, mem.readInt(q.deviceAddr + 8));
        assertEquals(2, mem.readInt(q.deviceAddr + 16));
    }

    @Test
    void hostDisconnectDiscardsHeldData() {
        device(4);
        Recorder sock = new Recorder("s");
        VirtioSerialPort p = dev.addPort("p1", -1, null, false, sock);
        start(dev.queueCount());
        int txq = 3 + 2 * p.nr();
        long a = buffer(4);
        sock.writable = false;
        assertFalse(offer(txq, a, 4, false));
        sock.connection.accept(false);
        assertEquals(1, mem.readShort(queues[txq].deviceAddr + 2), "returned to the guest, unsent");
        assertEquals(0, sock.out.size());
        assertTrue(offer(txq, a, 4, false), "no peer: discarded at once");
        assertEquals(0, sock.out.size());
    }

    @Test
    void emergencyWriteGoesToTheFirstConsole() {
        device(4);
        Recorder con = new Recorder("con");
        dev.addPort("con", -1, null, true, con);
        dev.writeConfig(CFG_EMERG_WR, 4, 'x');
        dev.writeConfig(CFG_EMERG_WR, 1, '\n');
        assertEquals("x\n", con.out.toString(StandardCharsets.US_ASCII));
        assertEquals(0, dev.readConfig(CFG_EMERG_WR, 4));
    }

    @Test
    void withoutMultiportPortZeroIsOpenAtDriverOk() {
        features = 1L << VirtioPciTransport.VIRTIO_F_VERSION_1;
        device(2);
        Recorder con = new Recorder("con");
        VirtioSerialPort p = dev.addPort("con", -1, null, true, con);
        start(2);
        assertTrue(p.guestConnected());
        long a = buffer(2);
        mem.write(a, "ok".getBytes(StandardCharsets.US_ASCII), 0, 2);
        assertTrue(offer(PORT0_TRANSMITQ, a, 2, false));
        assertEquals("ok", con.out.toString(StandardCharsets.US_ASCII));
        long rx = buffer(16);
        assertTrue(offer(PORT0_RECEIVEQ, rx, 16, true));
        assertEquals(16, p.canReceive());
        assertEquals(List.of(), published, "no control conversation, no events");
    }

    @Test
    void resetClosesOpenPorts() {
        device(4);
        dev.addPort("p1", -1, null, false, new Recorder("f"));
        start(dev.queueCount());
        control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
        dev.reset();
        dev.statusChanged(0);
        assertEquals(List.of(new VmEvent.VserportChange("p1", true), new VmEvent.VserportChange("p1", false)),
                published);
    }
}
