package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Optional;

/**
 * -netdev socket (QEMU's net/socket.c): listen= and connect= carry length-prefixed frames over TCP,
 * mcast= joins a UDP multicast group, udp= exchanges datagrams with one remote address.
 */
public final class SocketNetdev extends FramedStreamClient {
    public static final NetdevFactory FACTORY = SocketNetdev::create;

    private SocketNetdev(String id, ServerSocketChannel listener) throws IOException {
        super(id, "socket", listener);
    }

    private static Netdev create(NetdevOptions o, NetdevContext ctx) throws NetdevException {
        Optional<String> fd = o.string("fd");
        Optional<String> listen = o.string("listen");
        Optional<String> connect = o.string("connect");
        Optional<String> mcast = o.string("mcast");
        Optional<String> udp = o.string("udp");
        Optional<String> localaddr = o.string("localaddr");
        int given = (fd.isPresent() ? 1 : 0) + (listen.isPresent() ? 1 : 0) + (connect.isPresent() ? 1 : 0)
                + (mcast.isPresent() ? 1 : 0) + (udp.isPresent() ? 1 : 0);
        if (given != 1) {
            throw new NetdevException("exactly one of listen=, connect=, mcast= or udp= is required");
        }
        if (localaddr.isPresent() && mcast.isEmpty() && udp.isEmpty()) {
            throw new NetdevException("localaddr= is only valid with mcast= or udp=");
        }
        String id = o.id();
        if (fd.isPresent()) {
            int n = ctx.fd(fd.get());
            boolean stream = NativeSocketClient.isStreamSocket(id, n);
            NativeSocketClient c = new NativeSocketClient(id, "socket", n, stream, null, "socket: fd=" + n);
            return new Netdev(id, "socket", List.of(c));
        }
        if (listen.isPresent()) {
            InetSocketAddress addr = HostPort.parse(listen.get());
            ServerSocketChannel l = null;
            try {
                l = ServerSocketChannel.open();
                l.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
                l.bind(addr, 1);
                SocketNetdev s = new SocketNetdev(id, l);
                s.start("netdev-socket-" + id);
                return new Netdev(id, "socket", List.of(s));
            } catch (IOException e) {
                closeQuietly(l);
                throw new NetdevException("can't bind ip=" + addr.getAddress().getHostAddress() + " to socket: "
                        + reason(e));
            }
        }
        if (connect.isPresent()) {
            InetSocketAddress addr = HostPort.parse(connect.get());
            try {
                SocketNetdev s = new SocketNetdev(id, null);
                s.setInfo("socket: connect to " + HostPort.text(addr));
                s.connect(SocketChannel.open(), addr);
                s.start("netdev-socket-" + id);
                return new Netdev(id, "socket", List.of(s));
            } catch (IOException e) {
                throw new NetdevException(id + ": connect error: " + reason(e));
            }
        }
        if (mcast.isPresent()) {
            InetSocketAddress group = HostPort.parse(mcast.get());
            InetAddress local = null;
            if (localaddr.isPresent()) {
                local = HostPort.ipv4Literal(localaddr.get());
                if (local == null) {
                    throw new NetdevException("localaddr '" + localaddr.get() + "' is not a valid IPv4 address");
                }
            }
            if (!group.getAddress().isMulticastAddress()) {
                byte[] b = group.getAddress().getAddress();
                long v = ((b[0] & 0xffL) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
                throw new NetdevException("specified mcastaddr " + group.getAddress().getHostAddress()
                        + " (0x" + String.format("%08x", v) + ") does not contain a multicast address");
            }
            DatagramClient c = DatagramClient.multicast(id, "socket", group, local);
            c.setInfo("socket: mcast=" + HostPort.text(group));
            return new Netdev(id, "socket", List.of(c));
        }
        if (localaddr.isEmpty()) {
            throw new NetdevException("localaddr= is mandatory with udp=");
        }
        InetSocketAddress remote = HostPort.parse(udp.get());
        InetSocketAddress local = HostPort.parse(localaddr.get());
        DatagramClient c = DatagramClient.unicast(id, "socket", local, remote);
        c.setInfo("socket: udp=" + HostPort.text(remote));
        return new Netdev(id, "socket", List.of(c));
    }

    static String reason(IOException e) {
        if (e instanceof java.net.BindException b && b.getMessage() != null) {
            return b.getMessage().replace(" (Bind failed)", "");
        }
        if (e instanceof SocketException s && s.getMessage() != null) {
            return s.getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // nothing was made from it
            }
        }
    }

    /** net/socket.c keeps "socket: connect to ..." when the connection fails. */
    @Override
    String failedInfo() {
        return infoString();
    }

    @Override
    String connectedInfo(SocketChannel c, boolean accepted) throws IOException {
        if (!accepted) {
            return infoString();
        }
        InetSocketAddress peer = (InetSocketAddress) c.getRemoteAddress();
        return "socket: connection from " + HostPort.text(peer);
    }
}
