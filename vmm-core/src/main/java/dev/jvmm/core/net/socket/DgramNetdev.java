package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * -netdev dgram (QEMU 7.2's net/dgram.c): one frame per UDP datagram between local= and remote=, or a
 * multicast group when remote= is one. UNIX datagram sockets and fd= need descriptor-level sockets the JDK
 * does not offer; they are refused with a clear message.
 */
public final class DgramNetdev {
    public static final NetdevFactory FACTORY = DgramNetdev::create;

    private DgramNetdev() {
    }

    private static Netdev create(NetdevOptions o, NetdevContext ctx) throws NetdevException {
        Optional<Map<String, Object>> localArg = o.object("local");
        Optional<Map<String, Object>> remoteArg = o.object("remote");
        if (localArg.isEmpty()) {
            throw new NetdevException("dgram requires local= parameter");
        }
        SocketAddressArg local = SocketAddressArg.parse("local", localArg.get());
        SocketAddressArg remote = remoteArg.isPresent() ? SocketAddressArg.parse("remote", remoteArg.get()) : null;
        if (remote != null) {
            if (local.type().equals("fd")) {
                throw new NetdevException("don't set remote with local.fd");
            }
            if (!remote.type().equals(local.type())) {
                throw new NetdevException("remote and local types must be the same");
            }
        } else if (!local.type().equals("fd")) {
            throw new NetdevException("type=inet or type=unix requires remote parameter");
        }
        String id = o.id();
        if (!local.type().equals("inet")) {
            throw new NetdevException(id + ": dgram with " + local.type()
                    + " addresses is not supported (inet only)");
        }
        InetSocketAddress r = remote.inet();
        InetSocketAddress l = local.inet();
        if (r.getAddress().isMulticastAddress()) {
            DatagramClient c = DatagramClient.multicast(id, "dgram", r,
                    l.getAddress().isAnyLocalAddress() ? null : l.getAddress());
            c.setInfo("mcast=" + HostPort.text(r));
            return new Netdev(id, "dgram", List.of(c));
        }
        DatagramClient c = DatagramClient.unicast(id, "dgram", l, r);
        c.setInfo("udp=" + HostPort.text(l) + "/" + HostPort.text(r));
        return new Netdev(id, "dgram", List.of(c));
    }
}
