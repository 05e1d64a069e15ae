package dev.jvmm.devices.net;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetOffloads;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.core.net.RxFilterInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.virtio.DescriptorChain;
import dev.jvmm.devices.virtio.VirtQueue;
import dev.jvmm.devices.virtio.VirtioDevice;
import dev.jvmm.devices.virtio.VirtioHost;
import dev.jvmm.devices.virtio.VirtioPciTransport;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Virtio 1.1, section 5.1: the network device, behaving as QEMU 7.2's virtio-net (hw/net/virtio-net.c)
 * without vhost: same features offered, configuration values, control commands and receive filter. Queue
 * pair i is receiveq 2i and transmitq 2i+1, seen by the net layer as the {@link NicClient} {@link #nic(int)};
 * the control queue follows the pairs (index 2 when the driver did not take MQ, as QEMU then has one pair).
 *
 * <p>Threads: transmit and control chains run on the transport's device thread, which also posts the
 * receive buffers the driver makes available. Backends deliver frames on their own threads through the
 * NIC's receive, which fills posted buffers and pushes them to the used ring under this device's lock;
 * the device thread takes the same lock to post buffers. The lock is never held while calling into the
 * transport (interrupts) or the net layer (send, flush), so neither can wait on it.
 *
 * <p>The configuration layout lives in {@link VirtioNetConfig}, the transmit path in
 * {@link VirtioNetTransmitter}, the receive side in {@link VirtioNetReceiver}, the control queue in
 * {@link VirtioNetControl} and the saved state in {@link VirtioNetState}.
 */
public final class VirtioNet implements VirtioDevice {
    /** Section 5.1.1: virtio device ID. */
    public static final int VIRTIO_ID_NET = 1;
    /** PCI class code of QEMU's virtio-net-pci: network, Ethernet (query-pci "Ethernet controller"). */
    public static final int PCI_CLASS_NETWORK_ETHERNET = 0x020000;
    /** The NIC model, QEMU's netclient_type (the proxy's type name). */
    public static final String MODEL = "virtio-net-pci";

    /** Section 5.1.3: feature bits. */
    public static final int VIRTIO_NET_F_CSUM = 0;
    public static final int VIRTIO_NET_F_GUEST_CSUM = 1;
    public static final int VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
    public static final int VIRTIO_NET_F_MTU = 3;
    public static final int VIRTIO_NET_F_MAC = 5;
    /** Legacy only: QEMU hides it from modern drivers (legacy_features). */
    public static final int VIRTIO_NET_F_GSO = 6;
    public static final int VIRTIO_NET_F_GUEST_TSO4 = 7;
    public static final int VIRTIO_NET_F_GUEST_TSO6 = 8;
    public static final int VIRTIO_NET_F_GUEST_ECN = 9;
    public static final int VIRTIO_NET_F_GUEST_UFO = 10;
    public static final int VIRTIO_NET_F_HOST_TSO4 = 11;
    public static final int VIRTIO_NET_F_HOST_TSO6 = 12;
    public static final int VIRTIO_NET_F_HOST_ECN = 13;
    public static final int VIRTIO_NET_F_HOST_UFO = 14;
    public static final int VIRTIO_NET_F_MRG_RXBUF = 15;
    public static final int VIRTIO_NET_F_STATUS = 16;
    public static final int VIRTIO_NET_F_CTRL_VQ = 17;
    public static final int VIRTIO_NET_F_CTRL_RX = 18;
    public static final int VIRTIO_NET_F_CTRL_VLAN = 19;
    public static final int VIRTIO_NET_F_CTRL_RX_EXTRA = 20;
    public static final int VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
    public static final int VIRTIO_NET_F_MQ = 22;
    public static final int VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
    public static final int VIRTIO_NET_F_HASH_REPORT = 57;
    public static final int VIRTIO_NET_F_RSS = 60;
    public static final int VIRTIO_NET_F_RSC_EXT = 61;
    public static final int VIRTIO_NET_F_STANDBY = 62;
    public static final int VIRTIO_NET_F_SPEED_DUPLEX = 63;

    /** QEMU 7.2's virtio-net-device feature properties that default to on. */
    public static final long DEFAULT_FEATURES = bits(VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
            VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, VIRTIO_NET_F_MAC, VIRTIO_NET_F_GSO, VIRTIO_NET_F_GUEST_TSO4,
            VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
            VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_MRG_RXBUF,
            VIRTIO_NET_F_STATUS, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VLAN,
            VIRTIO_NET_F_CTRL_RX_EXTRA, VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_NET_F_CTRL_MAC_ADDR);
    /** The offloads that need a vnet-header backend (QEMU's virtio_net_get_features clears them otherwise). */
    static final long VNET_HDR_FEATURES = bits(VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
            VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
            VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_HASH_REPORT);
    static final long UFO_FEATURES = bits(VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_UFO);
    /** QEMU's guest_offloads_mask: what VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET may switch. */
    static final long GUEST_OFFLOADS = bits(VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
            VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO);

    /** Section 5.1.4: struct virtio_net_config offsets. */
    public static final int CFG_MAC = 0;
    public static final int CFG_STATUS = 6;
    public static final int CFG_MAX_VIRTQUEUE_PAIRS = 8;
    public static final int CFG_MTU = 10;
    public static final int CFG_SPEED = 12;
    public static final int CFG_DUPLEX = 16;
    /** Section 5.1.4: status bits. */
    public static final int VIRTIO_NET_S_LINK_UP = 1;
    public static final int VIRTIO_NET_S_ANNOUNCE = 2;
    public static final int SPEED_UNKNOWN = -1;
    public static final int DUPLEX_HALF = 0;
    public static final int DUPLEX_FULL = 1;
    public static final int DUPLEX_UNKNOWN = 0xff;

    /** Section 5.1.6: struct virtio_net_hdr (10 bytes) and with num_buffers (virtio 1.0's 12 bytes). */
    public static final int VIRTIO_NET_HDR_LEN = 10;
    public static final int VIRTIO_NET_HDR_MRG_RXBUF_LEN = 12;
    public static final int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    static final int NUM_BUFFERS_OFFSET = 10;
    /** QEMU's NET_BUFSIZE: jvmm's largest frame (headers included), the 64 KiB of a TSO frame and more. */
    public static final int NET_BUFSIZE = 4096 + 65536;
    /** QEMU's control queue size. */
    public static final int CTRL_QUEUE_SIZE = 64;
    /** QEMU's VIRTIO_QUEUE_MAX. */
    static final int VIRTIO_QUEUE_MAX = 1024;

    /** Section 5.1.6.5: control classes, commands and acks. */
    public static final int VIRTIO_NET_OK = 0;
    public static final int VIRTIO_NET_ERR = 1;
    public static final int VIRTIO_NET_CTRL_RX = 0;
    public static final int VIRTIO_NET_CTRL_RX_PROMISC = 0;
    public static final int VIRTIO_NET_CTRL_RX_ALLMULTI = 1;
    public static final int VIRTIO_NET_CTRL_RX_ALLUNI = 2;
    public static final int VIRTIO_NET_CTRL_RX_NOMULTI = 3;
    public static final int VIRTIO_NET_CTRL_RX_NOUNI = 4;
    public static final int VIRTIO_NET_CTRL_RX_NOBCAST = 5;
    public static final int VIRTIO_NET_CTRL_MAC = 1;
    public static final int VIRTIO_NET_CTRL_MAC_TABLE_SET = 0;
    public static final int VIRTIO_NET_CTRL_MAC_ADDR_SET = 1;
    public static final int VIRTIO_NET_CTRL_VLAN = 2;
    public static final int VIRTIO_NET_CTRL_VLAN_ADD = 0;
    public static final int VIRTIO_NET_CTRL_VLAN_DEL = 1;
    public static final int VIRTIO_NET_CTRL_ANNOUNCE = 3;
    public static final int VIRTIO_NET_CTRL_ANNOUNCE_ACK = 0;
    public static final int VIRTIO_NET_CTRL_MQ = 4;
    public static final int VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
    public static final int VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN = 1;
    public static final int VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX = 0x8000;
    public static final int VIRTIO_NET_CTRL_GUEST_OFFLOADS = 5;
    public static final int VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET = 0;

    private final VirtioNetOptions opts;
    private final int pairs;
    private final int vectors;
    private final List<NetClient> peers;
    private final EventBus events;
    private final boolean hasVnetHdr;
    private final boolean hasUfo;
    private final List<VirtioNetNic> nics = new ArrayList<>();
    private final VirtioNetControl control = new VirtioNetControl(this);
    private final VirtioNetTransmitter transmitter = new VirtioNetTransmitter(this);
    private VirtioHost host;
    private GuestMemory mem;
    volatile boolean driverOk;

    // Guarded by lock: the receive side, the filter and everything the guest set.
    final Object lock = new Object();
    final VirtioNetRxFilter filter = new VirtioNetRxFilter();
    final VirtioNetReceiver receiver;
    int status = VIRTIO_NET_S_LINK_UP;
    int currPairs = 1;
    boolean multiqueue;
    boolean mergeable;
    volatile int guestHdrLen = VIRTIO_NET_HDR_LEN;
    volatile int hostHdrLen;
    long curGuestOffloads;
    long negotiated;

    /**
     * A device whose queue pairs are peered with the given netdev queues (none: one pair without peer, whose
     * frames go nowhere). Makes the NIC clients, one per pair, and adds them to net, named as QEMU names them.
     *
     * @param vectors MSI-X vectors of the PCI function (QEMU's default: 2 per pair + 2)
     * @param events  where NIC_RX_FILTER_CHANGED goes (null: nowhere)
     */
    public VirtioNet(VirtioNetOptions opts, int vectors, List<NetClient> peers, NetClients net, EventBus events) {
        this.opts = opts;
        this.pairs = Math.max(peers.size(), 1);
        if (pairs * 2 + 1 > VIRTIO_QUEUE_MAX) {
            throw new IllegalArgumentException("Invalid number of queue pairs (= " + pairs + "), must be a positive"
                    + " integer less than " + (VIRTIO_QUEUE_MAX - 1) / 2 + ".");
        }
        this.vectors = vectors;
        this.peers = List.copyOf(peers);
        this.events = events;
        this.hasVnetHdr = !peers.isEmpty() && peers.get(0).hasVnetHdr();
        this.hasUfo = hasVnetHdr && peers.get(0).hasUfo();
        this.receiver = new VirtioNetReceiver(this, pairs, opts.rxQueueSize());
        filter.reset(opts.mac());
        if (hasVnetHdr) {
            for (NetClient p : peers) {
                p.useVnetHdr(true);
            }
            hostHdrLen = VIRTIO_NET_HDR_LEN;
        }
        // before features the header is the legacy 10 bytes, as QEMU's realize sets it
        tellBackend(VIRTIO_NET_HDR_LEN, null);
        for (int i = 0; i < pairs; i++) {
            VirtioNetNic nic = new VirtioNetNic(this, net.nicName(MODEL, opts.id()), i);
            NetClient.connect(nic, i < peers.size() ? peers.get(i) : null);
            nics.add(nic);
            net.add(nic);
        }
    }

    private static long bits(int... features) {
        long f = 0;
        for (int b : features) {
            f |= 1L << b;
        }
        return f;
    }

    public VirtioNetOptions options() {
        return opts;
    }

    /** The NIC client of queue pair i. */
    public NicClient nic(int i) {
        return nics.get(i);
    }

    public int queuePairs() {
        return pairs;
    }

    /** Takes the NICs out of net and unlinks them from their peers (QEMU's qemu_del_nic). */
    public void detach(NetClients net) {
        net.remove(nics);
        for (VirtioNetNic n : nics) {
            NetClient p = n.peer();
            NetClient.connect(n, null);
            if (p != null && p.peer() == n) {
                NetClient.connect(null, p);
            }
        }
    }

    // ---- VirtioDevice

    @Override
    public int deviceType() {
        return VIRTIO_ID_NET;
    }

    @Override
    public int pciClassCode() {
        return PCI_CLASS_NETWORK_ETHERNET;
    }

    @Override
    public String pciDescription() {
        return "Ethernet controller";
    }

    @Override
    public String threadName() {
        return "virtio-net-" + (opts.id().isEmpty() ? nics.isEmpty() ? MODEL : nics.get(0).name() : opts.id());
    }

    /** QEMU 7.2's virtio_net_get_features without vhost, less the legacy-only GSO. */
    @Override
    public long deviceFeatures() {
        long f = opts.features() | 1L << VIRTIO_NET_F_MAC;
        if (!hasVnetHdr) {
            f &= ~VNET_HDR_FEATURES;
        }
        if (!hasVnetHdr || !hasUfo) {
            f &= ~UFO_FEATURES;
        }
        return f & ~(1L << VIRTIO_NET_F_GSO);
    }

    @Override
    public int queueCount() {
        return 2 * pairs + 1;
    }

    @Override
    public int queueMaxSize(int i) {
        if (i == 2 * pairs) {
            return CTRL_QUEUE_SIZE;
        }
        return i % 2 == 0 ? opts.rxQueueSize() : opts.txQueueSize();
    }

    @Override
    public int msixVectors() {
        return vectors;
    }

    // ---- configuration space (VirtioNetConfig)

    @Override
    public int configLength() {
        return VirtioNetConfig.length(opts);
    }

    @Override
    public int readConfig(int offset, int size) {
        return VirtioNetConfig.read(this, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        VirtioNetConfig.write(this, offset, size, value);
    }

    // ---- the driver's setup

    @Override
    public void attach(VirtioHost host) {
        this.host = host;
        this.mem = host.memory();
    }

    /**
     * QEMU's virtio_net_set_features (FEATURES_OK). The backend hears of header length and offloads after
     * this device's lock is released, so a backend thread delivering a frame never waits on it.
     */
    @Override
    public boolean acceptFeatures(long features) {
        boolean mrg = (features & 1L << VIRTIO_NET_F_MRG_RXBUF) != 0;
        NetOffloads offloads;
        synchronized (lock) {
            negotiated = features;
            multiqueue = (features & 1L << VIRTIO_NET_F_MQ) != 0;
            // a modern driver always uses the 12-byte header, num_buffers filled in only with MRG_RXBUF
            mergeable = mrg;
            guestHdrLen = VIRTIO_NET_HDR_MRG_RXBUF_LEN;
            if (hasVnetHdr) {
                curGuestOffloads = features & GUEST_OFFLOADS;
            }
            offloads = guestOffloads();
            filter.setAllVlans((features & 1L << VIRTIO_NET_F_CTRL_VLAN) == 0);
        }
        tellBackend(VIRTIO_NET_HDR_MRG_RXBUF_LEN, offloads);
        return true;
    }

    /**
     * QEMU's virtio_net_set_mrg_rx_bufs (the backend's header length, when it takes the guest's) and
     * virtio_net_apply_guest_offloads (what queue 0's backend may hand the guest).
     */
    private void tellBackend(int hdrLen, NetOffloads offloads) {
        if (!hasVnetHdr) {
            return;
        }
        for (NetClient p : peers) {
            if (p.hasVnetHdrLen(hdrLen)) {
                p.setVnetHdrLen(hdrLen);
                hostHdrLen = hdrLen;
            }
        }
        if (offloads != null) {
            peers.get(0).setOffload(offloads);
        }
    }

    /** The offloads the guest takes now, as the backend is told them (caller holds lock). */
    NetOffloads guestOffloads() {
        long o = curGuestOffloads;
        return new NetOffloads((o & 1L << VIRTIO_NET_F_GUEST_CSUM) != 0, (o & 1L << VIRTIO_NET_F_GUEST_TSO4) != 0,
                (o & 1L << VIRTIO_NET_F_GUEST_TSO6) != 0, (o & 1L << VIRTIO_NET_F_GUEST_ECN) != 0,
                (o & 1L << VIRTIO_NET_F_GUEST_UFO) != 0);
    }

    /** VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET took effect: the backend hears of it (no lock held). */
    void applyGuestOffloads(NetOffloads offloads) {
        peers.get(0).setOffload(offloads);
    }

    VirtioHost host() {
        return host;
    }

    GuestMemory memory() {
        return mem;
    }

    boolean hasVnetHdr() {
        return hasVnetHdr;
    }

    /** Whether the driver took feature bit (valid from FEATURES_OK on). */
    boolean negotiated(int feature) {
        return (host.negotiatedFeatures() & 1L << feature) != 0;
    }

    @Override
    public void statusChanged(int newStatus) {
        driverOk = (newStatus & VirtioPciTransport.DRIVER_OK) != 0;
        if (driverOk) {
            // QEMU's virtio_net_set_status flushes what waited for the started queues; here on the device
            // thread, which holds no transport lock while a NIC delivers
            host.execute(this::flushAll);
        }
    }

    /** Lets every active pair's NIC take what waits for it (QEMU's qemu_flush_queued_packets). */
    void flushAll() {
        int n;
        synchronized (lock) {
            n = currPairs;
        }
        for (int i = 0; i < n && i < pairs; i++) {
            nics.get(i).flushQueued();
        }
    }

    /** QEMU's virtio_net_reset: filter back to promiscuous, one pair, no announcement, posted buffers gone. */
    @Override
    public void reset() {
        synchronized (lock) {
            filter.reset(opts.mac());
            currPairs = 1;
            status &= ~VIRTIO_NET_S_ANNOUNCE;
            receiver.reset();
        }
        driverOk = false;
    }

    // ---- queues

    /** The control queue's index: after the pairs, or 2 while the driver has not taken MQ. */
    private int ctrlIndex() {
        boolean mq;
        synchronized (lock) {
            mq = multiqueue;
        }
        return mq ? 2 * pairs : 2;
    }

    @Override
    public boolean handle(VirtQueue queue, DescriptorChain chain) {
        int qi = queue.index();
        int ctrl = ctrlIndex();
        if (qi == ctrl) {
            control.handle(queue, chain, mem);
        } else if (qi < ctrl) {
            if (qi % 2 == 0) {
                post(qi / 2, queue, chain);
            } else {
                transmitter.transmit(nics.get(qi / 2), queue, chain, mem);
            }
        }
        // queues past the control queue do not exist for a driver without MQ: their buffers stay unused
        return true;
    }

    /** A receive buffer: kept until a frame fills it; frames that waited for it are delivered now. */
    private void post(int pair, VirtQueue queue, DescriptorChain chain) {
        if (receiver.post(pair, queue, chain)) {
            nics.get(pair).flushQueued();
        }
    }

    // ---- receive (backend threads)

    /** QEMU's virtio_net_can_receive for pair (the net layer holds frames while the machine is stopped). */
    boolean canReceive(int pair) {
        return receiver.canReceive(pair);
    }

    int receive(int pair, ByteBuffer frame) {
        return receiver.receive(pair, frame);
    }

    // ---- the NIC's side

    MacAddress macAddress() {
        synchronized (lock) {
            return filter.macAddress();
        }
    }

    /** QEMU's virtio_net_set_link_status: LINK_UP follows the NIC, the driver hears of a change. */
    void linkChanged(boolean down) {
        boolean changed;
        synchronized (lock) {
            int old = status;
            status = down ? status & ~VIRTIO_NET_S_LINK_UP : status | VIRTIO_NET_S_LINK_UP;
            changed = old != status;
        }
        if (host == null) {
            return;
        }
        if (changed) {
            host.configChanged();
        }
        if (!down) {
            host.execute(this::flushAll);
        }
    }

    /**
     * QEMU's qemu_announce_self_iter for this NIC: a RARP from the configured address (raw: a vnet-header
     * backend gets an empty header in front), then virtio_net_announce, which asks a driver that took
     * GUEST_ANNOUNCE and CTRL_VQ to announce itself.
     */
    void announce() {
        byte[] rarp = NicClient.rarp(opts.mac());
        int hhl = hostHdrLen;
        byte[] f = new byte[hhl + rarp.length];
        System.arraycopy(rarp, 0, f, hhl, rarp.length);
        nics.get(0).send(ByteBuffer.wrap(f));
        if (host == null || !negotiated(VIRTIO_NET_F_GUEST_ANNOUNCE) || !negotiated(VIRTIO_NET_F_CTRL_VQ)) {
            return;
        }
        synchronized (lock) {
            status |= VIRTIO_NET_S_ANNOUNCE;
        }
        host.configChanged();
    }

    /** query-rx-filter's answer for the NIC named name; re-enables NIC_RX_FILTER_CHANGED. */
    RxFilterInfo rxFilter(String name) {
        RxFilterInfo info;
        synchronized (lock) {
            info = filter.info(name, (negotiated & 1L << VIRTIO_NET_F_CTRL_VLAN) != 0);
        }
        nics.get(0).enableRxFilterNotify();
        return info;
    }

    /** QEMU's rxfilter_notify: one NIC_RX_FILTER_CHANGED until the next query-rx-filter. */
    void rxFilterNotify() {
        if (nics.get(0).takeRxFilterNotify() && events != null) {
            events.publish(new VmEvent.NicRxFilterChanged(opts.id().isEmpty() ? null : opts.id(), opts.path()));
        }
    }

    /** VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET took effect: the active pairs' NICs take what waited. */
    void queuePairsChanged() {
        host.execute(this::flushAll);
    }

    // ---- saved state (VirtioNetState)

    @Override
    public void saveState(StateWriter w) {
        VirtioNetState.save(this, w);
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        VirtioNetState.load(this, r);
    }

    /**
     * A loaded state took effect: the backend hears of header length and offloads, and the NICs' link follows
     * LINK_UP (the net layer saves no link state; QEMU infers it the same way). Called without the lock.
     */
    void restored(int backendHdrLen, NetOffloads offloads, boolean down) {
        tellBackend(backendHdrLen, offloads);
        driverOk = host instanceof VirtioPciTransport t
                && (t.deviceStatus() & VirtioPciTransport.DRIVER_OK) != 0;
        for (VirtioNetNic n : nics) {
            n.setLinkDown(down);
        }
    }
}
