package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * The early QMP sockets on the JDK's own UNIX-domain channels: opening and greeting then need nothing the
 * JVM has not loaded already, which keeps JNA's start (~50 ms of class initialisation on this project's
 * hosts: its logging, its structures' annotations) off the time to the greeting. At the hand-over each
 * channel's descriptor is duplicated for the QMP server (which works on descriptors) and the channel closed.
 * The descriptor number comes from the JDK's {@code sun.nio.ch.SelChImpl}, which the jar's manifest exports
 * to jvmm (Add-Exports); {@link #available} says whether it is.
 */
final class JdkEarlyAcceptor implements EarlyAcceptor {
    /** The backlog Netty gives a listener it binds (its SOMAXCONN default). */
    private static final int BACKLOG = 128;
    private final List<QmpEndpoint> endpoints;
    private final byte[] greeting;
    private final List<ServerSocketChannel> servers = new ArrayList<>();
    /** Per listener, its accepted clients and what of the greeting each did not take. */
    private final List<List<SocketChannel>> clients = new ArrayList<>();
    private final List<List<byte[]>> unsent = new ArrayList<>();
    private Selector selector;
    private volatile boolean stopping;

    JdkEarlyAcceptor(List<QmpEndpoint> endpoints, byte[] greeting) {
        this.endpoints = endpoints;
        this.greeting = greeting;
    }

    /** Whether the JDK lets jvmm read its channels' descriptors, and every endpoint is a path. */
    static boolean available(List<QmpEndpoint> endpoints) {
        for (QmpEndpoint ep : endpoints) {
            if (ep.fd() >= 0) {
                return false;
            }
        }
        return Object.class.getModule().isExported("sun.nio.ch", JdkEarlyAcceptor.class.getModule());
    }

    @Override
    public boolean open() {
        try {
            selector = Selector.open();
            for (QmpEndpoint ep : endpoints) {
                if (ep.path().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                        > EarlyQmpListener.SUN_PATH_MAX) {
                    throw new IOException("socket path too long"); // the usual path says so in QEMU's words
                }
                java.nio.file.Path bound = EarlyQmpListener.bindPath(ep);
                Files.deleteIfExists(bound);
                ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                servers.add(ch);
                clients.add(new ArrayList<>());
                unsent.add(new ArrayList<>());
                ch.bind(UnixDomainSocketAddress.of(bound), BACKLOG);
                EarlyQmpListener.publish(bound, ep);
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_ACCEPT, servers.size() - 1);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            closeAll();
            return false;
        }
    }

    @Override
    public void acceptLoop() {
        while (!stopping) {
            try {
                selector.select();
            } catch (IOException e) {
                return; // the server takes over what was accepted; it accepts the rest itself
            }
            for (SelectionKey k : selector.selectedKeys()) {
                acceptAll((Integer) k.attachment());
            }
            selector.selectedKeys().clear();
        }
    }

    private void acceptAll(int index) {
        while (true) {
            SocketChannel c;
            try {
                c = servers.get(index).accept();
                if (c == null) {
                    return;
                }
                c.configureBlocking(false);
            } catch (IOException e) {
                return;
            }
            ByteBuffer b = ByteBuffer.wrap(greeting);
            try {
                c.write(b);
            } catch (IOException e) {
                b.position(b.limit()); // the client is gone: its socket tells the next owner, who closes it
            }
            byte[] rest = new byte[b.remaining()];
            b.get(rest);
            clients.get(index).add(c);
            unsent.get(index).add(rest);
        }
    }

    @Override
    public void stop() {
        stopping = true;
        selector.wakeup();
    }

    @Override
    public List<EarlyQmpListener.Listener> takeOver() {
        closeQuietly(selector);
        List<EarlyQmpListener.Listener> out = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            List<EarlyQmpListener.Client> taken = new ArrayList<>();
            for (int j = 0; j < clients.get(i).size(); j++) {
                int fd = duplicate(clients.get(i).get(j));
                if (fd >= 0) {
                    taken.add(new EarlyQmpListener.Client(fd, unsent.get(i).get(j)));
                }
            }
            out.add(new EarlyQmpListener.Listener(endpoints.get(i), duplicate(servers.get(i)), taken));
        }
        return out;
    }

    /**
     * A descriptor of the caller's own for the channel's socket (close-on-exec, non-blocking like the channel,
     * whose file status it shares); the channel is closed. Closing a bound UNIX server channel leaves its
     * socket file, which the duplicate keeps serving.
     */
    private static int duplicate(AbstractSelectableChannel ch) {
        int fd = -1;
        try {
            fd = EarlyLibc.fcntl(((sun.nio.ch.SelChImpl) ch).getFDVal(), EarlyLibc.F_DUPFD_CLOEXEC, 0);
        } catch (LastErrorException e) {
            // out of descriptors: the client is dropped (its connection ends when the channel closes)
        }
        closeQuietly(ch);
        return fd;
    }

    @Override
    public void closeAll() {
        closeQuietly(selector);
        for (int i = 0; i < servers.size(); i++) {
            for (SocketChannel c : clients.get(i)) {
                closeQuietly(c);
            }
            closeQuietly(servers.get(i));
            EarlyQmpListener.removeSocketFile(endpoints.get(i));
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
