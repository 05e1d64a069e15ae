package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.core.os.LibC;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * -netdev dgram (QEMU 7.2's net/dgram.c): one frame per UDP datagram between local= and remote=, or a
 * multicast group when remote= is one; UNIX datagram sockets and local.type=fd run on descriptor-level
 * sockets ({@link NativeSocketClient}), which the JDK does not offer.
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
        if (local.type().equals("fd")) {
            int n = ctx.fd(local.fdName());
            if (NativeSocketClient.isStreamSocket(id, n)) {
                throw new NetdevException(id + ": file descriptor " + n + " is not a datagram socket");
            }
            return new Netdev(id, "dgram", List.of(new NativeSocketClient(id, "dgram", n, false, null, "fd=" + n)));
        }
        if (local.type().equals("unix")) {
            return new Netdev(id, "dgram", List.of(unixDgram(id, local.path(), remote.path())));
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

    /** A UNIX datagram socket bound to local (made afresh, owner-only) that sends to remote. */
    private static NativeSocketClient unixDgram(String id, String local, String remote) throws NetdevException {
        com.sun.jna.Memory localAddr = NativeSocketClient.sockaddrUn(local);
        com.sun.jna.Memory remoteAddr = NativeSocketClient.sockaddrUn(remote);
        int fd;
        try {
            fd = NativeSocketClient.socket(NativeSocketClient.AF_UNIX, NativeSocketClient.SOCK_DGRAM
                    | NativeSocketClient.SOCK_NONBLOCK | NativeSocketClient.SOCK_CLOEXEC, 0);
        } catch (com.sun.jna.LastErrorException e) {
            throw new NetdevException("can't create datagram socket: " + LibC.describe(e.getErrorCode()));
        }
        try {
            Path p = Path.of(local);
            Files.deleteIfExists(p);
            NativeSocketClient.bind(fd, localAddr, NativeSocketClient.SOCKADDR_UN_SIZE);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        } catch (com.sun.jna.LastErrorException e) {
            LibC.close(fd);
            throw new NetdevException("can't bind unix=" + local + " to socket: " + LibC.describe(e.getErrorCode()));
        } catch (IOException e) {
            LibC.close(fd);
            throw new NetdevException("can't bind unix=" + local + " to socket: " + e.getMessage());
        }
        return new NativeSocketClient(id, "dgram", fd, false, remoteAddr, "udp=" + local + ":" + remote);
    }
}
