package dev.jvmm.devices.virtio;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetOffloads;
import dev.jvmm.core.net.NetQueue;
import dev.jvmm.core.net.RxFilterInfo;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.net.VirtioNet;
import dev.jvmm.devices.net.VirtioNetOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.jvmm.devices.net.VirtioNet.*;
import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * virtio-net driven through the transport with guest memory, against recording peers standing in for
 * netdev queues: transmit with and without a vnet-header backend, receive into mergeable and plain
 * buffers, the receive filter and control commands, link state, bad chains, a flood without buffers, queue
 * pairs and saved state.
 */
class VirtioNetTest {
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    static final byte[] OTHER = {0x52, 0x54, 0, 0x12, 0x34, 0x77};
    static final long BASE = 1L << VIRTIO_F_VERSION_1;

    final NetClients net = new NetClients();
    final EventBus bus = new EventBus();
    final List<VmEvent> events = new CopyOnWriteArrayList<>();
    final List<Peer> peers = new ArrayList<>();
    VirtioNet dev;
    VirtioGuest g;
    int[] heads = new int[8];

    /** A netdev queue that records what reaches it. */
    static final class Peer extends NetClient {
        final List<byte[]> frames = new CopyOnWriteArrayList<>();
        final boolean vnet;
        volatile int hdrLen;
        volatile boolean using;
        volatile NetOffloads offloads = NetOffloads.NONE;

        Peer(int index, boolean vnet) {
            super("n0", "tap", NetClientKind.NETDEV, index);
            this.vnet = vnet;
        }

        @Override
        public String infoString() {
            return "test";
        }

        @Override
        protected int receive(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.duplicate().get(b);
            frames.add(b);
            return b.length;
        }

        @Override
        public boolean hasVnetHdr() {
            return vnet;
        }

        @Override
        public boolean hasUfo() {
            return vnet;
        }

        @Override
        public void useVnetHdr(boolean on) {
            using = on;
        }

        @Override
        public void setVnetHdrLen(int len) {
            hdrLen = len;
        }

        @Override
        public void setOffload(NetOffloads o) {
            offloads = o;
        }
    }

    void build(int queues, boolean vnet, long extraFeatures) {
        for (int i = 0; i < queues; i++) {
            Peer p = new Peer(i, vnet);
            peers.add(p);
            net.add(p);
        }
        bus.subscribe((e, t) -> events.add(e));
        VirtioNetOptions d = VirtioNetOptions.defaults("net0", "/machine/peripheral/net0/virtio-backend", MAC);
        VirtioNetOptions o = new VirtioNetOptions(d.id(), d.path(), MAC, d.features() | extraFeatures,
                d.rxQueueSize(), d.txQueueSize(), 0, SPEED_UNKNOWN, DUPLEX_UNKNOWN);
        dev = new VirtioNet(o, 2 * Math.max(queues, 1) + 2, new ArrayList<NetClient>(peers), net, bus);
        net.setRunning(true);
        g = new VirtioGuest(dev, "net0");
        g.nextData = 0x400000;
    }

    /** Driver start: features, every queue at size 64, DRIVER_OK. */
    void start(long features) {
        assertTrue(g.negotiate(BASE | features));
        for (int q = 0; q < dev.queueCount(); q++) {
            g.setupQueue(q, 64, q + 1);
        }
        g.common(CONFIG_MSIX_VECTOR, 2, 0);
        g.common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        for (int v = 0; v <= dev.queueCount(); v++) {
            g.msix.write(16L * v + MsixTable.VECTOR_CTRL, 4, 0);
        }
        g.t.writeConfig(CAP_MSIX + 2, 2, MsixTable.MSIX_ENABLE);
    }

    @AfterEach
    void close() {
        if (g != null) {
            g.close();
        }
    }

    static byte[] frame(byte[] dst, int len) {
        byte[] f = new byte[len];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(new byte[] {0x52, 0x54, 0, 0x11, 0x11, 0x11}, 0, f, 6, 6);
        f[12] = 0x08;
        for (int i = 14; i < len; i++) {
            f[i] = (byte) i;
        }
        return f;
    }

    /** Posts one device-writable receive buffer of len bytes on queue q; returns its address. */
    long rxBuffer(int q, int len) {
        int head = heads[q]++;
        long a = g.alloc(len);
        g.writeDesc(q, head, a, len, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
        g.makeAvailable(q, head);
        return a;
    }

    /** Transmits bytes (header included) as one chain on transmitq q and waits for it. */
    void transmit(int q, byte[] bytes) {
        int head = heads[q]++;
        long a = g.alloc(bytes.length);
        g.mem.write(a, bytes, 0, bytes.length);
        g.writeDesc(q, head, a, bytes.length, 0, 0);
        int expect = g.usedIdx(q) + 1;
        g.makeAvailable(q, head);
        g.kick(q);
        g.awaitUsed(q, expect);
    }

    /** One control command on queue q; returns the ack byte. */
    int control(int q, int cls, int cmd, byte[] data) {
        int head = heads[q];
        heads[q] += 3;
        long h = g.alloc(2);
        g.mem.writeByte(h, (byte) cls);
        g.mem.writeByte(h + 1, (byte) cmd);
        long ack = g.alloc(1);
        g.mem.writeByte(ack, (byte) 0x7f);
        if (data.length > 0) {
            long d = g.alloc(data.length);
            g.mem.write(d, data, 0, data.length);
            g.writeDesc(q, head, h, 2, VirtQueue.VIRTQ_DESC_F_NEXT, head + 1);
            g.writeDesc(q, head + 1, d, data.length, VirtQueue.VIRTQ_DESC_F_NEXT, head + 2);
            g.writeDesc(q, head + 2, ack, 1, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
        } else {
            g.writeDesc(q, head, h, 2, VirtQueue.VIRTQ_DESC_F_NEXT, head + 2);
            g.writeDesc(q, head + 2, ack, 1, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
        }
        int expect = g.usedIdx(q) + 1;
        g.makeAvailable(q, head);
        g.kick(q);
        g.awaitUsed(q, expect);
        return g.mem.readByte(ack) & 0xff;
    }

    /** Delivers a frame from peer i and waits until it was taken or queued. */
    int deliver(int i, byte[] f) {
        return peers.get(i).send(ByteBuffer.wrap(f));
    }

    byte[] read(long a, int len) {
        byte[] b = new byte[len];
        g.mem.read(a, b, 0, len);
        return b;
    }

    void await(java.util.function.BooleanSupplier c, String what) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what + " (device error: " + g.t.lastError()
                        + ", queued " + dev.nic(0).queuedFrames() + ")");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void featuresFollowTheBackend() {
        build(1, false, 0);
        long f = g.deviceFeatures();
        for (int b : new int[] {VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_CTRL_VQ,
            VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_F_CTRL_RX_EXTRA, VIRTIO_NET_F_GUEST_ANNOUNCE,
            VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, VIRTIO_F_VERSION_1}) {
            assertTrue((f & 1L << b) != 0, "bit " + b);
        }
        for (int b : new int[] {VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_HOST_TSO4,
            VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_GSO, VIRTIO_NET_F_MQ}) {
            assertEquals(0, f & 1L << b, "bit " + b);
        }
        g.close();
        g = null;
        peers.clear();
        build(1, true, 0);
        f = g.deviceFeatures();
        assertTrue((f & (1L << VIRTIO_NET_F_CSUM | 1L << VIRTIO_NET_F_GUEST_TSO6 | 1L << VIRTIO_NET_F_HOST_UFO))
                == (1L << VIRTIO_NET_F_CSUM | 1L << VIRTIO_NET_F_GUEST_TSO6 | 1L << VIRTIO_NET_F_HOST_UFO));
        assertTrue(peers.get(0).using, "the backend was switched to frames with a header");
        assertEquals(VIRTIO_NET_HDR_LEN, peers.get(0).hdrLen);
    }

    @Test
    void configSpaceShowsMacStatusAndPairs() {
        build(1, false, 0);
        assertEquals(0x52, g.deviceCfg(0, 1));
        assertEquals(0x56, g.deviceCfg(5, 1));
        assertEquals(VIRTIO_NET_S_LINK_UP, g.deviceCfg(CFG_STATUS, 2));
        assertEquals(0xffff, g.deviceCfg(CFG_MAX_VIRTQUEUE_PAIRS, 2), "past the config (no MQ) reads ones");
        assertEquals(PCI_CLASS_NETWORK_ETHERNET, g.t.readConfig(8, 4) >>> 8);
        assertEquals(0x1041, g.t.readConfig(2, 2));
    }

    @Test
    void transmitStripsTheHeaderForAPlainBackend() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        byte[] f = frame(OTHER, 60);
        byte[] withHdr = new byte[12 + 60];
        System.arraycopy(f, 0, withHdr, 12, 60);
        withHdr[0] = 1; // NEEDS_CSUM from a misbehaving driver: passed through as it is, as QEMU does
        transmit(1, withHdr);
        assertEquals(1, peers.get(0).frames.size());
        assertArrayEquals(f, peers.get(0).frames.get(0));
        assertEquals(0, g.usedLen(1, 0));
        assertFalse(g.t.broken());
    }

    @Test
    void transmitKeepsTheHeaderForAVnetBackend() {
        build(1, true, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF | 1L << VIRTIO_NET_F_CSUM | 1L << VIRTIO_NET_F_GUEST_CSUM);
        assertEquals(12, peers.get(0).hdrLen);
        assertTrue(peers.get(0).offloads.csum());
        byte[] withHdr = new byte[12 + 60];
        System.arraycopy(frame(OTHER, 60), 0, withHdr, 12, 60);
        withHdr[0] = 1;
        withHdr[6] = 34;
        transmit(1, withHdr);
        assertArrayEquals(withHdr, peers.get(0).frames.get(0));
        // shorter than the header: QEMU's "virtio-net header incorrect"
        int head = heads[1]++;
        long a = g.alloc(4);
        g.writeDesc(1, head, a, 4, 0, 0);
        g.makeAvailable(1, head);
        g.kick(1);
        g.awaitBroken();
        assertEquals("virtio-net header incorrect", g.t.lastError());
    }

    @Test
    void receiveIntoMergeableBuffers() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        long b0 = rxBuffer(0, 40);
        long b1 = rxBuffer(0, 40);
        long b2 = rxBuffer(0, 40);
        g.kick(0);
        byte[] f = frame(MAC.bytes(), 60);
        deliver(0, f); // taken now, or once the buffers are posted
        g.awaitUsed(0, 2);
        assertEquals(40, g.usedLen(0, 0));
        assertEquals(32, g.usedLen(0, 1));
        byte[] h = read(b0, 12);
        assertEquals(2, h[10] | h[11] << 8, "num_buffers");
        assertEquals(0, h[0]);
        byte[] got = new byte[60];
        System.arraycopy(read(b0 + 12, 28), 0, got, 0, 28);
        System.arraycopy(read(b1, 32), 0, got, 28, 32);
        assertArrayEquals(f, got);
        assertEquals(0, read(b2, 1)[0]);
    }

    @Test
    void plainBuffersDropWhatDoesNotFit() {
        build(1, false, 0);
        start(0);
        long small = rxBuffer(0, 40);
        g.kick(0);
        await(() -> g.t.queue(0).lastAvailIndex() == 1, "the buffer posted");
        assertEquals(100, deliver(0, frame(MAC.bytes(), 100)));
        assertEquals(0, g.usedIdx(0), "too big for a plain buffer: dropped, the buffer stays");
        deliver(0, frame(MAC.bytes(), 28));
        assertEquals(1, g.usedIdx(0));
        assertEquals(40, g.usedLen(0, 0));
        assertEquals(0x52, read(small + 12, 1)[0]);
    }

    @Test
    void receiveFilter() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_CTRL_RX | 1L << VIRTIO_NET_F_CTRL_VLAN
                | 1L << VIRTIO_NET_F_MRG_RXBUF);
        for (int i = 0; i < 16; i++) {
            rxBuffer(0, 2048);
        }
        g.kick(0);
        int used = 0;
        // promiscuous after reset: anything passes
        deliver(0, frame(OTHER, 60));
        g.awaitUsed(0, 1);
        await(() -> g.t.queue(0).lastAvailIndex() == 16, "every buffer posted");
        used = 1;
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new byte[] {0}));
        deliver(0, frame(OTHER, 60));
        assertEquals(used, g.usedIdx(0), "another address is filtered");
        deliver(0, frame(MAC.bytes(), 60));
        assertEquals(++used, g.usedIdx(0));
        byte[] bcast = {-1, -1, -1, -1, -1, -1};
        deliver(0, frame(bcast, 60));
        assertEquals(++used, g.usedIdx(0));
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, new byte[] {1}));
        deliver(0, frame(bcast, 60));
        assertEquals(used, g.usedIdx(0));
        // MAC table: one unicast, one multicast entry
        byte[] multi = {1, 0, 0x5e, 0, 0, 1};
        deliver(0, frame(multi, 60));
        assertEquals(used, g.usedIdx(0));
        ByteBuffer t = ByteBuffer.allocate(4 + 6 + 4 + 6).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        t.putInt(1).put(OTHER).putInt(1).put(multi);
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, t.array()));
        deliver(0, frame(OTHER, 60));
        deliver(0, frame(multi, 60));
        used += 2;
        assertEquals(used, g.usedIdx(0));
        RxFilterInfo info = dev.nic(0).rxFilter();
        assertEquals(List.of("52:54:00:12:34:77"), info.unicastTable());
        assertEquals(List.of("01:00:5e:00:00:01"), info.multicastTable());
        assertFalse(info.promiscuous());
        assertEquals("none", info.vlan(), "CTRL_VLAN taken, no VLAN added");
        // VLAN 5: tagged frames pass only once the VLAN is added
        byte[] tagged = frame(MAC.bytes(), 64);
        tagged[12] = (byte) 0x81;
        tagged[13] = 0;
        tagged[14] = 0;
        tagged[15] = 5;
        deliver(0, tagged);
        assertEquals(used, g.usedIdx(0));
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, new byte[] {5, 0}));
        deliver(0, tagged);
        assertEquals(++used, g.usedIdx(0));
        assertEquals(List.of(5), dev.nic(0).rxFilter().vlanTable());
        // the address itself
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
                new byte[] {2, 0, 0, 0, 0, 9}));
        assertEquals("02:00:00:00:00:09", dev.nic(0).macAddress().toString());
        assertEquals(2, g.deviceCfg(0, 1));
    }

    @Test
    void rxFilterChangedOnceUntilQueried() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_CTRL_RX);
        control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, new byte[] {1});
        control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, new byte[] {1});
        assertEquals(List.of(new VmEvent.NicRxFilterChanged("net0", "/machine/peripheral/net0/virtio-backend")),
                events);
        RxFilterInfo info = dev.nic(0).rxFilter();
        assertEquals("all", info.multicast());
        assertEquals("all", info.unicast());
        assertEquals("net0", info.name());
        control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, new byte[] {1});
        assertEquals(2, events.size());
    }

    @Test
    void badControlCommands() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_CTRL_RX);
        assertEquals(VIRTIO_NET_ERR, control(2, 0x42, 0, new byte[] {1}), "unknown class");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_RX, 9, new byte[] {1}), "unknown command");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_RX, 0, new byte[0]), "no data");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_VLAN, 0, new byte[] {0, 0x10}), "VLAN 4096");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new byte[5]));
        // a table claiming 2^30 entries: the 32-bit byte count wraps as in QEMU and still does not match
        ByteBuffer t = ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0x4000_0000).putInt(0)
                .putInt(0);
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, t.array()));
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                new byte[] {1, 0}), "MQ not negotiated");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK,
                new byte[0]), "nothing to acknowledge");
        assertEquals(VIRTIO_NET_ERR, control(2, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, new byte[8]));
        assertFalse(g.t.broken());
        // no room for the ack: virtio_error
        int head = heads[2];
        long h = g.alloc(2);
        g.writeDesc(2, head, h, 2, 0, 0);
        g.makeAvailable(2, head);
        g.kick(2);
        g.awaitBroken();
        assertEquals("virtio-net ctrl missing headers", g.t.lastError());
    }

    @Test
    void linkStateShowsInConfigStatus() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_STATUS);
        int before = g.msi.triggers.get(0);
        assertTrue(net.setLink("n0", false));
        assertEquals(0, g.deviceCfg(CFG_STATUS, 2));
        assertEquals(before + 1, g.msi.triggers.get(0), "configuration interrupt");
        assertTrue(net.setLink("net0", true));
        assertEquals(VIRTIO_NET_S_LINK_UP, g.deviceCfg(CFG_STATUS, 2));
        assertEquals(before + 2, g.msi.triggers.get(0));
        net.setLink("net0", true);
        assertEquals(before + 2, g.msi.triggers.get(0), "no change, no interrupt");
    }

    @Test
    void announceThroughTheGuest() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_GUEST_ANNOUNCE | 1L << VIRTIO_NET_F_STATUS);
        dev.nic(0).announce();
        assertEquals(1, peers.get(0).frames.size(), "the RARP");
        assertEquals(60, peers.get(0).frames.get(0).length);
        assertEquals(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE, g.deviceCfg(CFG_STATUS, 2));
        assertEquals(VIRTIO_NET_OK, control(2, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, new byte[0]));
        assertEquals(VIRTIO_NET_S_LINK_UP, g.deviceCfg(CFG_STATUS, 2));
    }

    /** QEMU's virtio_net_flush_tx: a header with no frame after it leaves nothing for a plain backend. */
    @Test
    void headerAloneBreaksTheDeviceForAPlainBackend() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        long a = g.alloc(12);
        g.writeDesc(1, 0, a, 12, 0, 0);
        g.submitExpectingFailure(1, 0);
        assertTrue(g.t.broken());
        assertEquals("virtio-net nothing to send", g.t.lastError());
        assertEquals(0, g.usedIdx(1), "the chain is not completed");
    }

    @Test
    void garbageChainsBreakTheDevice() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        // a transmit descriptor outside RAM
        g.writeDesc(1, 0, 0x7fff_0000_0000L, 64, 0, 0);
        g.submitExpectingFailure(1, 0);
        assertTrue(g.t.broken());
        byte[] f = frame(MAC.bytes(), 60);
        deliver(0, f);
        assertEquals(0, g.usedIdx(0), "a broken device takes nothing");
        // after a reset it works again; a receive buffer that is device-readable only breaks it on use
        Arrays.fill(heads, 0);
        g.common(DEVICE_STATUS, 1, 0);
        for (int q = 0; q < 3; q++) {
            g.mem.zero(g.avail(q), 0x1000);
            g.mem.zero(g.used(q), 0x1000);
            g.availIdx[q] = 0;
        }
        start(0);
        long a = g.alloc(64);
        g.writeDesc(0, 0, a, 64, 0, 0);
        g.makeAvailable(0, 0);
        g.kick(0);
        deliver(0, f);
        g.awaitBroken();
        assertEquals("virtio-net receive queue contains no in buffers", g.t.lastError());
    }

    @Test
    void floodWithoutBuffersIsBoundedAndDrains() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        byte[] f = frame(MAC.bytes(), 60);
        int queued = 0;
        int dropped = 0;
        for (int i = 0; i < NetQueue.MAX_FRAMES + 500; i++) {
            int r = deliver(0, f);
            if (r == 0) {
                queued++;
            } else if (r < 0) {
                dropped++;
            }
        }
        assertEquals(NetQueue.MAX_FRAMES, queued);
        assertEquals(500, dropped);
        assertEquals(NetQueue.MAX_FRAMES, dev.nic(0).queuedFrames());
        for (int i = 0; i < 5; i++) {
            rxBuffer(0, 2048);
        }
        g.kick(0);
        g.awaitUsed(0, 5);
        await(() -> dev.nic(0).queuedFrames() == NetQueue.MAX_FRAMES - 5, "the queue to shrink by five");
        assertFalse(g.t.broken());
    }

    @Test
    void queuePairs() {
        build(2, false, 1L << VIRTIO_NET_F_MQ);
        assertEquals(5, dev.queueCount());
        assertEquals(2, g.deviceCfg(CFG_MAX_VIRTQUEUE_PAIRS, 2));
        start(1L << VIRTIO_NET_F_MQ | 1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_MRG_RXBUF);
        rxBuffer(2, 2048);
        g.kick(2);
        byte[] f = frame(MAC.bytes(), 60);
        assertEquals(0, deliver(1, f), "pair 1 is inactive until VQ_PAIRS_SET: the frame waits");
        assertEquals(VIRTIO_NET_ERR, control(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                new byte[] {3, 0}));
        assertEquals(VIRTIO_NET_ERR, control(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                new byte[] {0, 0}));
        assertEquals(VIRTIO_NET_OK, control(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                new byte[] {2, 0}));
        g.awaitUsed(2, 1);
        // transmit on pair 1 reaches the netdev's second queue
        byte[] withHdr = new byte[72];
        System.arraycopy(frame(OTHER, 60), 0, withHdr, 12, 60);
        transmit(3, withHdr);
        assertEquals(1, peers.get(1).frames.size());
        assertEquals(0, peers.get(0).frames.size());
        assertEquals("net0", dev.nic(1).name());
    }

    @Test
    void savedStateCarriesTheFilter() throws Exception {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_CTRL_VQ | 1L << VIRTIO_NET_F_CTRL_RX | 1L << VIRTIO_NET_F_MRG_RXBUF);
        control(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new byte[] {0});
        control(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new byte[] {2, 0, 0, 0, 0, 9});
        rxBuffer(0, 1024);
        g.kick(0);
        await(() -> g.t.queue(0).lastAvailIndex() == 1, "the receive buffer to be posted");
        StateWriter w = new StateWriter();
        g.t.saveState(w);
        byte[] saved = w.toByteArray();
        // a fresh device of the same configuration takes it
        NetClients net2 = new NetClients();
        VirtioNet d2 = new VirtioNet(VirtioNetOptions.defaults("net0", "/p", MAC), 4, List.of(), net2, null);
        VirtioGuest g2 = new VirtioGuest(d2, "net0");
        try {
            byte[] ram = new byte[1 << 20];
            for (long a = 0; a < VirtioGuest.RAM; a += ram.length) {
                g.mem.read(a, ram, 0, ram.length);
                g2.mem.write(a, ram, 0, ram.length);
            }
            g2.t.loadState(new StateReader("virtio", saved));
            assertEquals("02:00:00:00:00:09", d2.nic(0).macAddress().toString());
            assertFalse(d2.nic(0).rxFilter().promiscuous());
            net2.setRunning(true);
            assertEquals(DRIVER_OK | FEATURES_OK | DRIVER | ACKNOWLEDGE, g2.status());
            assertTrue(d2.nic(0).canReceive(), "the restored device takes frames");
            NetClient src = new Peer(0, false);
            NetClient.connect(src, d2.nic(0));
            assertEquals(60, src.send(ByteBuffer.wrap(frame(new byte[] {2, 0, 0, 0, 0, 9}, 60))));
            assertEquals(1, g2.usedIdx(0), "the posted buffer came back with the state");
        } finally {
            g2.close();
        }
    }

    @Test
    void receiveFromAVnetBackend() {
        build(1, true, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF | 1L << VIRTIO_NET_F_GUEST_CSUM);
        long b0 = rxBuffer(0, 2048);
        long b1 = rxBuffer(0, 2048);
        g.kick(0);
        // the backend's header reaches the guest as it is (num_buffers aside)
        byte[] f = new byte[12 + 60];
        System.arraycopy(frame(MAC.bytes(), 60), 0, f, 12, 60);
        f[1] = 0; // gso none
        f[6] = 34; // csum_start
        f[8] = 6; // csum_offset
        deliver(0, f);
        g.awaitUsed(0, 1);
        assertEquals(72, g.usedLen(0, 0));
        byte[] got = read(b0, 72);
        assertEquals(34, got[6]);
        assertEquals(6, got[8]);
        assertEquals(1, got[10], "num_buffers");
        assertArrayEquals(Arrays.copyOfRange(f, 12, 72), Arrays.copyOfRange(got, 12, 72));
        // a DHCP reply flagged NEEDS_CSUM gets its UDP checksum (QEMU's work_around_broken_dhclient)
        byte[] dhcp = new byte[12 + 14 + 20 + 8 + 8];
        dhcp[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        int e = 12;
        System.arraycopy(MAC.bytes(), 0, dhcp, e, 6);
        dhcp[e + 12] = 0x08;
        int ip = e + 14;
        dhcp[ip] = 0x45;
        dhcp[ip + 3] = 36; // total length: 20 + 8 + 8
        dhcp[ip + 8] = 64;
        dhcp[ip + 9] = 17;
        dhcp[ip + 12] = 10;
        dhcp[ip + 15] = 2; // 10.0.0.2
        dhcp[ip + 16] = 10;
        dhcp[ip + 19] = 15; // 10.0.0.15
        int udp = ip + 20;
        dhcp[udp + 1] = 67;
        dhcp[udp + 3] = 68;
        dhcp[udp + 5] = 16;
        for (int i = 0; i < 8; i++) {
            dhcp[udp + 8 + i] = (byte) (i + 1);
        }
        byte[] sent = dhcp.clone();
        deliver(0, dhcp);
        g.awaitUsed(0, 2);
        byte[] h = read(b1, dhcp.length);
        assertEquals(0, h[0], "NEEDS_CSUM cleared");
        // one's complement sum over pseudo header and segment, checksum included, is 0xffff
        long sum = 0;
        for (int i = 0; i < 16; i += 2) {
            sum += (h[udp + i] & 0xff) << 8 | (h[udp + i + 1] & 0xff);
        }
        sum += (10 << 8) + 2 + (10 << 8) + 15 + 17 + 16;
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assertEquals(0xffff, sum);
        assertArrayEquals(sent, dhcp, "the backend's buffer is left as it was");
    }


    @Test
    void oversizedTransmitIsDroppedAndCompleted() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        byte[] big = new byte[12 + NET_BUFSIZE + 1];
        System.arraycopy(frame(OTHER, 60), 0, big, 12, 60);
        transmit(1, big);
        assertEquals(0, peers.get(0).frames.size(), "larger than any backend takes: dropped");
        assertEquals(0, g.usedLen(1, 0));
        byte[] max = new byte[12 + NET_BUFSIZE];
        System.arraycopy(frame(OTHER, 60), 0, max, 12, 60);
        transmit(1, max);
        assertEquals(NET_BUFSIZE, peers.get(0).frames.get(0).length, "the largest frame passes");
        assertFalse(g.t.broken());
    }

    @Test
    void moreReceiveBuffersThanTheQueueHoldsBreakTheDevice() {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        long a = g.alloc(64);
        for (int i = 0; i < 64; i++) {
            g.writeDesc(0, i, a, 64, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
            g.makeAvailable(0, i);
        }
        g.kick(0);
        await(() -> g.t.queue(0).lastAvailIndex() == 64, "64 buffers posted");
        g.makeAvailable(0, 0); // head 0 again, while the device still holds it
        g.kick(0);
        g.awaitBroken();
        assertEquals("Virtqueue size exceeded", g.t.lastError());
    }


    /**
     * A backend thread floods while the guest recycles its receive buffers and transmits: every frame arrives
     * once, in order, and nothing deadlocks.
     */
    @Test
    void backendFloodWhileTheGuestRecyclesBuffers() throws Exception {
        build(1, false, 0);
        start(1L << VIRTIO_NET_F_MRG_RXBUF);
        long base = g.alloc(64 * 2048);
        for (int i = 0; i < 32; i++) {
            g.writeDesc(0, i, base + 2048L * i, 2048, VirtQueue.VIRTQ_DESC_F_WRITE, 0);
            g.makeAvailable(0, i);
        }
        g.kick(0);
        int total = 5000;
        Thread backend = new Thread(() -> {
            for (int i = 0; i < total; i++) {
                byte[] f = frame(MAC.bytes(), 64);
                f[20] = (byte) i;
                f[21] = (byte) (i >>> 8);
                deliver(0, f);
            }
        });
        backend.start();
        int seen = 0;
        long end = System.nanoTime() + 20_000_000_000L;
        while (seen < total && System.nanoTime() < end) {
            int idx = g.usedIdx(0);
            while (seen != idx && seen < total) {
                int id = g.usedId(0, seen);
                byte[] got = read(base + 2048L * id + 12 + 20, 2);
                assertEquals(seen & 0xffff, (got[0] & 0xff) | (got[1] & 0xff) << 8, "frame " + seen + " in order");
                g.makeAvailable(0, id);
                seen++;
                if (seen % 16 == 0) {
                    g.kick(0);
                }
            }
            g.kick(0);
            if (seen % 500 == 0) {
                byte[] withHdr = new byte[72];
                System.arraycopy(frame(OTHER, 60), 0, withHdr, 12, 60);
                transmit(1, withHdr);
                heads[1] %= 64;
            }
        }
        backend.join(5000);
        assertEquals(total, seen, "every frame delivered" + (g.t.broken() ? " (" + g.t.lastError() + ")" : ""));
        assertEquals(0, dev.nic(0).droppedFrames());
        assertFalse(g.t.broken());
    }

}
