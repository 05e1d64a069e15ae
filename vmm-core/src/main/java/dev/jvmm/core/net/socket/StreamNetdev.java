package dev.jvmm.core.net.socket;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/**
 * -netdev stream (QEMU 7.2's net/stream.c): frames with a 4-byte big-endian length over a TCP or UNIX
 * stream; server=on listens for one peer at a time, server=off connects once. NETDEV_STREAM_CONNECTED and
 * NETDEV_STREAM_DISCONNECTED report the connection, as QEMU 7.2 does.
 */
public final class StreamNetdev extends FramedStreamClient {
    public static final NetdevFactory FACTORY = StreamNetdev::create;

    private final EventBus events;
    private final SocketAddressArg addr;
    private final Path unixPath;

    private StreamNetdev(String id, ServerSocketChannel listener, EventBus events, SocketAddressArg addr,
            Path unixPath) throws IOException {
        super(id, "stream", listener);
        this.events = events;
        this.addr = addr;
        this.unixPath = unixPath;
    }

    private static Netdev create(NetdevOptions o, NetdevContext ctx) throws NetdevException {
        boolean server = o.bool("server", false);
        Map<String, Object> a = o.object("addr")
                .orElseThrow(() -> new NetdevException("Parameter 'addr' is missing"));
        SocketAddressArg addr = SocketAddressArg.parse("addr", a);
        String id = o.id();
        if (addr.type().equals("fd")) {
            if (server) {
                throw new NetdevException(id + ": a listening descriptor (server=on, addr.type=fd) is not supported");
            }
            int n = ctx.fd(addr.fdName());
            if (!NativeSocketClient.isStreamSocket(id, n)) {
                throw new NetdevException(id + ": file descriptor " + n + " is not a stream socket");
            }
            return new Netdev(id, "stream", List.of(new NativeSocketClient(id, "stream", n, true, null, "fd=" + n)));
        }
        try {
            StreamNetdev s;
            if (addr.type().equals("inet")) {
                InetSocketAddress isa = addr.inet();
                if (server) {
                    ServerSocketChannel l = ServerSocketChannel.open();
                    try {
                        l.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                        l.bind(isa, 1);
                    } catch (IOException e) {
                        l.close();
                        throw new NetdevException("Failed to bind socket: " + SocketNetdev.reason(e));
                    }
                    s = new StreamNetdev(id, l, ctx.events(), addr, null);
                } else {
                    s = new StreamNetdev(id, null, ctx.events(), addr, null);
                    s.connect(SocketChannel.open(StandardProtocolFamily.INET), isa);
                }
            } else {
                Path path = Path.of(addr.path());
                UnixDomainSocketAddress usa = UnixDomainSocketAddress.of(path);
                if (server) {
                    ServerSocketChannel l = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        Files.deleteIfExists(path);
                        l.bind(usa, 1);
                        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
                    } catch (IOException e) {
                        l.close();
                        throw new NetdevException("Failed to bind socket to " + path + ": "
                                + SocketNetdev.reason(e));
                    }
                    s = new StreamNetdev(id, l, ctx.events(), addr, path);
                } else {
                    s = new StreamNetdev(id, null, ctx.events(), addr, null);
                    s.connect(SocketChannel.open(StandardProtocolFamily.UNIX), usa);
                }
            }
            s.start("netdev-stream-" + id);
            return new Netdev(id, "stream", List.of(s));
        } catch (IOException e) {
            throw new NetdevException(id + ": " + SocketNetdev.reason(e));
        }
    }

    @Override
    String connectedInfo(SocketChannel c, boolean accepted) throws IOException {
        if (addr.type().equals("unix")) {
            return "unix:" + addr.path();
        }
        return "tcp:" + HostPort.text((InetSocketAddress) c.getRemoteAddress());
    }

    @Override
    void connectionChanged(SocketChannel c, boolean up) {
        if (events == null) {
            return;
        }
        if (!up) {
            events.publish(new VmEvent.NetdevStreamDisconnected(name()));
            return;
        }
        Map<String, Object> peer;
        try {
            peer = addr.type().equals("unix") ? Map.of("type", "unix", "path", addr.path())
                    : SocketAddressArg.inetJson((InetSocketAddress) c.getRemoteAddress());
        } catch (IOException e) {
            peer = Map.of("type", addr.type());
        }
        events.publish(new VmEvent.NetdevStreamConnected(name(), peer));
    }

    @Override
    void closed() {
        if (unixPath != null) {
            try {
                Files.deleteIfExists(unixPath);
            } catch (IOException e) {
                // someone else removed or replaced it
            }
        }
    }
}
