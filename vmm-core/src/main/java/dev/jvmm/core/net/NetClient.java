package dev.jvmm.core.net;

import java.nio.ByteBuffer;

/**
 * QEMU's NetClientState (net/net.c): one queue of a NIC, one queue of a backend, or one hub port. Two clients
 * are peers; {@link #send} hands a frame to the peer, and a frame the peer cannot take now waits in the peer's
 * bounded {@link NetQueue} until the peer calls {@link #flushQueued()}, as qemu_send_packet_async and
 * qemu_flush_queued_packets do.
 *
 * <p>Threads: senders are device threads and backend threads. Each client's delivery lock serialises
 * {@link #receive} calls and its queue, so a subclass's receive never runs concurrently with itself. A receive
 * must not block and must not send back to the client that is delivering to it on the same thread.
 *
 * <p>Frames carry a virtio-net header in front when the NIC switched its peer to it
 * ({@link #useVnetHdr}) and the backend has one ({@link #hasVnetHdr()}), as between QEMU's virtio-net and tap.
 */
public abstract class NetClient {
    private final String name;
    private final String model;
    private final NetClientKind kind;
    private final int queueIndex;
    private final NetQueue incoming = new NetQueue();
    private final Object deliveryLock = new Object();
    private volatile NetClient peer;
    private volatile boolean linkDown;
    private volatile boolean receiveDisabled;
    private volatile boolean rxFilterNotifyEnabled = true;
    private volatile NetClients owner;
    private boolean delivering;

    /**
     * @param name QEMU's nc->name: the netdev id, the NIC's id (or "MODEL.N"), "hubNportM"
     * @param model QEMU's nc->model: "tap", "user", "socket", "stream", "dgram", "hubport" or the NIC's type
     * @param queueIndex which queue of a multi-queue NIC or backend this is ("index=" in info network)
     */
    protected NetClient(String name, String model, NetClientKind kind, int queueIndex) {
        this.name = name;
        this.model = model;
        this.kind = kind;
        this.queueIndex = queueIndex;
    }

    public final String name() {
        return name;
    }

    public final String model() {
        return model;
    }

    public final NetClientKind kind() {
        return kind;
    }

    public final int queueIndex() {
        return queueIndex;
    }

    public final NetClient peer() {
        return peer;
    }

    /** Links a and b both ways (either may be null to unlink the other). */
    public static void connect(NetClient a, NetClient b) {
        if (a != null) {
            a.peer = b;
        }
        if (b != null) {
            b.peer = a;
        }
    }

    public final boolean isLinkDown() {
        return linkDown;
    }

    /** Sets this client's link state without telling anyone; {@link NetClients#setLink} runs QEMU's policy. */
    public final void setLinkDown(boolean down) {
        linkDown = down;
    }

    /** QEMU's link_status_changed callback: a NIC shows the new state to its guest (STATUS, LSC). */
    protected void linkStatusChanged() {
    }

    /** The text after "type=...," in info network (QEMU's info_str), e.g. "net=10.0.2.0,restrict=off". */
    public abstract String infoString();

    /**
     * Takes one frame (position to limit; the buffer is the sender's, valid only during the call). Returns
     * the frame's length when it was taken or dropped on purpose, 0 when the client cannot take it now: it is
     * then queued and this client must call {@link #flushQueued()} once it can take frames again.
     */
    protected abstract int receive(ByteBuffer frame);

    /** QEMU's can_receive: false holds frames in this client's queue (no receive call) until a flush. */
    public boolean canReceive() {
        return true;
    }

    /** Whether the machine runs; frames to or from a stopped machine wait, as qemu_can_send_packet has it. */
    private boolean machineRunning() {
        NetClients o = owner;
        return o == null || o.isRunning();
    }

    /**
     * QEMU's qemu_can_send_packet: whether a backend should read a frame for this client to send now. False
     * while the machine is not running (QEMU reads no backend then), or while the peer refuses frames or still
     * holds some; true without a peer (the frame is then dropped, as QEMU drops it). A backend that stops
     * reading on false is woken by {@link #peerCanReceive()}.
     */
    public final boolean canSendNow() {
        if (!machineRunning()) {
            return false;
        }
        NetClient p = peer;
        if (p == null) {
            return true;
        }
        return !p.receiveDisabled && p.queuedFrames() == 0 && p.canReceive();
    }

    /**
     * The peer may take frames again: it flushed what it held, or the machine started. A backend whose reader
     * stopped because {@link #canSendNow()} was false wakes it here. Any thread; must not block.
     */
    protected void peerCanReceive() {
    }

    /**
     * Sends frame to the peer (qemu_send_packet): dropped silently when this client's link is down or it has
     * no peer; delivered now, or queued at the peer. Returns frame's length when delivered or dropped, 0 when
     * queued, -1 when the peer's queue was full and the frame was dropped.
     */
    public final int send(ByteBuffer frame) {
        int len = frame.remaining();
        NetClient p = peer;
        if (linkDown || p == null) {
            return len;
        }
        return p.deliverFrom(this, frame);
    }

    private int deliverFrom(NetClient sender, ByteBuffer frame) {
        int len = frame.remaining();
        synchronized (deliveryLock) {
            if (delivering || receiveDisabled || !machineRunning() || !canReceive()
                    || incoming.size() > 0) {
                return incoming.append(sender, frame) ? 0 : -1;
            }
            int r = deliverLocked(frame);
            if (r == 0) {
                return incoming.append(sender, frame) ? 0 : -1;
            }
            return len;
        }
    }

    private int deliverLocked(ByteBuffer frame) {
        if (linkDown) {
            return frame.remaining();
        }
        delivering = true;
        try {
            int r = receive(frame);
            if (r == 0) {
                receiveDisabled = true;
            }
            return r;
        } finally {
            delivering = false;
        }
    }

    /**
     * This client can take frames again (qemu_flush_queued_packets): delivers what waits, oldest first, until
     * one is refused. Any thread.
     */
    public final void flushQueued() {
        boolean drained = false;
        synchronized (deliveryLock) {
            receiveDisabled = false;
            if (delivering) {
                return;
            }
            while (machineRunning() && canReceive()) {
                NetQueue.Queued q = incoming.peek();
                if (q == null) {
                    drained = true;
                    break;
                }
                int r = deliverLocked(ByteBuffer.wrap(q.frame()));
                if (r == 0) {
                    break;
                }
                incoming.remove();
            }
        }
        NetClient p = peer;
        if (drained && p != null) {
            p.peerCanReceive();
        }
    }

    /** Drops the frames waiting here (from sender, or all for null), as qemu_purge_queued_packets. */
    public final void purgeQueued(NetClient sender) {
        synchronized (deliveryLock) {
            incoming.purge(sender);
        }
    }

    /** The frames waiting for this client (for tests and statistics). */
    public final int queuedFrames() {
        synchronized (deliveryLock) {
            return incoming.size();
        }
    }

    /** Frames dropped because this client's queue was full. */
    public final long droppedFrames() {
        synchronized (deliveryLock) {
            return incoming.dropped();
        }
    }

    // The vnet header (QEMU's qemu_has_vnet_hdr, qemu_using_vnet_hdr, qemu_set_vnet_hdr_len, qemu_set_offload).

    /** Whether frames to and from this backend can carry a virtio-net header. */
    public boolean hasVnetHdr() {
        return false;
    }

    /** Whether a vnet-header backend can take UDP fragmentation offload. */
    public boolean hasUfo() {
        return false;
    }

    /** Whether the backend can take a header of len bytes (10 or 12). */
    public boolean hasVnetHdrLen(int len) {
        return hasVnetHdr();
    }

    /** The NIC switches this backend to frames with (true) or without a header in front. */
    public void useVnetHdr(boolean on) {
    }

    /** The header length the NIC uses: 10 (legacy without MRG_RXBUF) or 12. */
    public void setVnetHdrLen(int len) {
    }

    public void setOffload(NetOffloads offloads) {
    }

    // NIC_RX_FILTER_CHANGED rate limiting (QEMU's rxfilter_notify_enabled).

    /** True once, then false until query-rx-filter re-enables it: whether a filter change may be announced. */
    public final boolean takeRxFilterNotify() {
        synchronized (deliveryLock) {
            boolean was = rxFilterNotifyEnabled;
            rxFilterNotifyEnabled = false;
            return was;
        }
    }

    public final void enableRxFilterNotify() {
        rxFilterNotifyEnabled = true;
    }

    final void setOwner(NetClients owner) {
        this.owner = owner;
    }

    /** Releases what the client holds (fds, threads); the client is already unlinked. */
    protected void cleanup() {
    }
}
