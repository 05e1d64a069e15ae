package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetdevException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Enumeration;

/**
 * A backend queue that carries one frame per UDP datagram (QEMU's -netdev socket udp= and mcast=, and
 * -netdev dgram): frames from the NIC go to the remote address, every datagram that arrives goes to the NIC.
 * One thread per backend; reading pauses while the NIC holds frames it could not take yet, and a full socket
 * buffer holds the NIC's frames in this client's bounded queue.
 */
final class DatagramClient extends NetClient implements Runnable {
    private static final int PAUSE_POLL_MS = 50;

    private final DatagramChannel channel;
    private final InetSocketAddress remote;
    private final Selector selector;
    private final SelectionKey key;
    private final ByteBuffer in = ByteBuffer.allocateDirect(FramedStreamClient.NET_BUFSIZE);
    private final Object writeLock = new Object();
    private volatile boolean closing;
    private volatile String info = "";
    private boolean paused;
    private final Thread thread;

    private DatagramClient(String id, String model, DatagramChannel channel, InetSocketAddress remote)
            throws IOException {
        super(id, model, NetClientKind.NETDEV, 0);
        this.channel = channel;
        this.remote = remote;
        channel.configureBlocking(false);
        this.selector = Selector.open();
        this.key = channel.register(selector, SelectionKey.OP_READ);
        this.thread = new Thread(this, "netdev-" + model + "-" + id);
        thread.setDaemon(true);
        thread.start();
    }

    /** A socket bound to local that sends to remote (udp=, dgram with inet addresses). */
    static DatagramClient unicast(String id, String model, InetSocketAddress local, InetSocketAddress remote)
            throws NetdevException {
        DatagramChannel ch = null;
        try {
            ch = DatagramChannel.open(StandardProtocolFamily.INET);
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(local);
        } catch (IOException e) {
            SocketNetdev.closeQuietly(ch);
            throw new NetdevException("can't bind ip=" + local.getAddress().getHostAddress() + " to socket: "
                    + SocketNetdev.reason(e));
        }
        try {
            return new DatagramClient(id, model, ch, remote);
        } catch (IOException e) {
            SocketNetdev.closeQuietly(ch);
            throw new NetdevException(SocketNetdev.reason(e));
        }
    }

    /** A socket bound to group's port that joins group (on the interface of local, if given) and sends there. */
    static DatagramClient multicast(String id, String model, InetSocketAddress group, InetAddress local)
            throws NetdevException {
        DatagramChannel ch = null;
        try {
            ch = DatagramChannel.open(StandardProtocolFamily.INET);
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(group.getPort()));
            NetworkInterface ni = local != null ? NetworkInterface.getByInetAddress(local) : defaultInterface();
            if (ni == null) {
                throw new SocketException("no interface for multicast");
            }
            ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, ni);
            ch.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
            ch.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1);
            ch.join(group.getAddress(), ni);
            return new DatagramClient(id, model, ch, group);
        } catch (IOException e) {
            SocketNetdev.closeQuietly(ch);
            throw new NetdevException("can't add socket to multicast group " + group.getAddress().getHostAddress()
                    + ": " + SocketNetdev.reason(e));
        }
    }

    private static NetworkInterface defaultInterface() throws SocketException {
        NetworkInterface loopback = null;
        Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
        while (all.hasMoreElements()) {
            NetworkInterface ni = all.nextElement();
            if (!ni.isUp()) {
                continue;
            }
            if (ni.isLoopback()) {
                loopback = ni;
            } else if (ni.supportsMulticast()) {
                return ni;
            }
        }
        return loopback;
    }

    void setInfo(String text) {
        info = text;
    }

    @Override
    public String infoString() {
        return info;
    }

    /** The address the socket is bound to (its port when the port was 0). */
    InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    @Override
    protected int receive(ByteBuffer frame) {
        int len = frame.remaining();
        synchronized (writeLock) {
            try {
                int n = channel.send(frame.duplicate(), remote);
                if (n == 0) {
                    if (key.isValid()) {
                        key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                        selector.wakeup();
                    }
                    return 0;
                }
            } catch (IOException e) {
                // an unreachable remote (ECONNREFUSED from an earlier ICMP) drops the frame, as QEMU's sendto
            }
            return len;
        }
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                boolean ready = canSendNow();
                if (paused && ready) {
                    paused = false;
                    key.interestOps(key.interestOps() | SelectionKey.OP_READ);
                } else if (!paused && !ready) {
                    paused = true;
                    key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
                }
                selector.select(paused ? PAUSE_POLL_MS : 1000);
                selector.selectedKeys().clear();
                if (!key.isValid()) {
                    return;
                }
                if ((key.readyOps() & SelectionKey.OP_WRITE) != 0) {
                    synchronized (writeLock) {
                        key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
                    }
                    flushQueued();
                }
                while (!paused) {
                    in.clear();
                    if (channel.receive(in) == null) {
                        break;
                    }
                    in.flip();
                    if (in.hasRemaining() && send(in) == 0) {
                        paused = true;
                        key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
                    }
                }
            }
        } catch (IOException | ClosedSelectorException | java.nio.channels.CancelledKeyException e) {
            // closed by cleanup
        }
    }

    /** The NIC took what it held: the reader looks again at once rather than at its next pause poll. */
    @Override
    protected void peerCanReceive() {
        selector.wakeup();
    }

    @Override
    protected void cleanup() {
        closing = true;
        selector.wakeup();
        if (thread != Thread.currentThread()) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        SocketNetdev.closeQuietly(selector);
        SocketNetdev.closeQuietly(channel);
    }
}
