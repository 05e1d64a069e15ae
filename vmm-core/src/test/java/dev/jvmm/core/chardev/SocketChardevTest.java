package dev.jvmm.core.chardev;

import dev.jvmm.core.loop.IoLoop;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SocketChardevTest {
    @TempDir
    Path dir;
    IoLoop loop;

    @BeforeEach
    void setUp() {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable: " + Epoll.unavailabilityCause());
        loop = new IoLoop();
    }

    @AfterEach
    void tearDown() {
        if (loop != null) {
            loop.close();
        }
    }

    static SocketChannel connect(Path p) throws IOException {
        return SocketChannel.open(UnixDomainSocketAddress.of(p));
    }

    static String readN(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                break;
            }
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    static void send(SocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (!cond.getAsBoolean() && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
        assertTrue(cond.getAsBoolean());
    }

    @Test
    void serverRoundTripModeAndDescribe() throws Exception {
        Path p = dir.resolve("s.sock");
        try (SocketChardev c = SocketChardev.server("c0", p, false, loop)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
            assertFalse(c.isConnected());
            assertEquals("disconnected:unix:" + p + ",server=on", c.describe());
            c.write("dropped".getBytes(), 0, 7);   // nobody connected
            TestReceiver r = new TestReceiver(1 << 20);
            c.setReceiver(r);
            try (SocketChannel client = connect(p)) {
                assertTrue(c.awaitConnection(5, TimeUnit.SECONDS));
                waitFor(c::isConnected);
                assertEquals("unix:" + p + ",server=on", c.describe());
                c.write("hello".getBytes(), 0, 5);
                assertEquals("hello", readN(client, 5));
                send(client, "from host");
                assertTrue(r.awaitText("from host", 5000), r.text());
            }
            waitFor(() -> !c.isConnected());
            // a second client after the first left is served too
            try (SocketChannel client = connect(p)) {
                waitFor(c::isConnected);
                c.write("again".getBytes(), 0, 5);
                assertEquals("again", readN(client, 5));
            }
        }
        assertFalse(Files.exists(p), "socket file removed on close");
    }

    /** libvirt's channels: -chardev socket,fd=N,server=on with a socket libvirt bound and listens on. */
    @Test
    void inheritedListeningSocket() throws Exception {
        Path p = dir.resolve("chan.sock");
        io.netty.channel.unix.Socket sock = io.netty.channel.unix.Socket.newSocketDomain();
        sock.bind(new io.netty.channel.unix.DomainSocketAddress(p.toString()));
        sock.listen(4);
        try (SocketChardev c = SocketChardev.serverFd("charchannel0", sock.intValue(), false, loop)) {
            assertEquals("disconnected:unix:" + p + ",server=on", c.describe());
            TestReceiver r = new TestReceiver(1 << 20);
            c.setReceiver(r);
            try (SocketChannel client = connect(p)) {
                waitFor(c::isConnected);
                assertEquals("unix:" + p + ",server=on", c.describe());
                c.write("hello".getBytes(), 0, 5);
                assertEquals("hello", readN(client, 5));
                send(client, "from host");
                assertTrue(r.awaitText("from host", 5000), r.text());
            }
        }
        assertFalse(Files.exists(p), "QEMU removes an inherited listener's socket file on close too");
    }

    @Test
    void staleSocketFileReplaced() throws Exception {
        Path p = dir.resolve("stale.sock");
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(p));
        }
        assertTrue(Files.exists(p));
        try (SocketChardev c = SocketChardev.server("c0", p, false, loop); SocketChannel client = connect(p)) {
            waitFor(c::isConnected);
        }
    }

    @Test
    void bindFailureHasQemuText() {
        Path p = dir.resolve("missing/dir/s.sock");
        IOException e = assertThrows(IOException.class, () -> SocketChardev.server("c0", p, false, loop));
        assertEquals("Failed to bind socket to " + p + ": No such file or directory", e.getMessage());
    }

    @Test
    void connectToDeadSocketIsRefused() throws Exception {
        Path p = dir.resolve("dead.sock");
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(p));
        }
        IOException e = assertThrows(IOException.class, () -> SocketChardev.client("c1", p, 0, loop));
        assertEquals("Failed to connect to '" + p + "': Connection refused", e.getMessage());
    }

    @Test
    void oneClientAtATime() throws Exception {
        Path p = dir.resolve("one.sock");
        try (SocketChardev c = SocketChardev.server("c0", p, false, loop)) {
            TestReceiver r = new TestReceiver(1 << 20);
            c.setReceiver(r);
            SocketChannel first = connect(p);
            waitFor(c::isConnected);
            SocketChannel second = connect(p);   // waits in the backlog
            send(second, "second");
            send(first, "first");
            assertTrue(r.awaitText("first", 5000));
            Thread.sleep(100);
            assertEquals("first", r.text(), "the waiting client is not read");
            c.write("to-first".getBytes(), 0, 8);
            assertEquals("to-first", readN(first, 8));
            first.close();
            assertTrue(r.awaitText("firstsecond", 5000), r.text());
            c.write("to-second".getBytes(), 0, 9);
            assertEquals("to-second", readN(second, 9));
            second.close();
        }
    }

    @Test
    void backpressureLosesNothing() throws Exception {
        Path p = dir.resolve("bp.sock");
        try (SocketChardev c = SocketChardev.server("c0", p, false, loop)) {
            TestReceiver r = new TestReceiver(0);
            c.setReceiver(r);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 2000; i++) {
                sb.append(i).append(',');
            }
            String msg = sb.toString();
            try (SocketChannel client = connect(p)) {
                waitFor(c::isConnected);
                send(client, msg);
                Thread.sleep(100);
                assertEquals("", r.text());
                assertTrue(r.drainUntil(msg, 20000), "received " + r.text().length() + " of " + msg.length());
                assertEquals(0, r.overflow());
            }
        }
    }

    @Test
    void waitOnBlocksUntilFirstClient() throws Exception {
        Path p = dir.resolve("wait.sock");
        CompletableFuture<SocketChardev> f = CompletableFuture.supplyAsync(() -> {
            try {
                return SocketChardev.server("c0", p, true, loop);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        waitFor(() -> Files.exists(p));
        Thread.sleep(100);
        assertFalse(f.isDone());
        try (SocketChannel client = connect(p)) {
            SocketChardev c = f.get(5, TimeUnit.SECONDS);
            assertTrue(c.isConnected());
            c.close();
        }
    }

    @Test
    void clientModeAndReconnect() throws Exception {
        Path p = dir.resolve("peer.sock");
        IOException e = assertThrows(IOException.class, () -> SocketChardev.client("c1", p, 0, loop));
        assertEquals("Failed to connect to '" + p + "': No such file or directory", e.getMessage());

        try (SocketChardev c = SocketChardev.client("c1", p, 1, loop);
             ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            TestReceiver r = new TestReceiver(1 << 20);
            c.setReceiver(r);
            assertFalse(c.isConnected());
            assertEquals("disconnected:unix:" + p, c.describe());
            server.bind(UnixDomainSocketAddress.of(p));
            SocketChannel peer = server.accept();        // the retry arrives within a second or so
            waitFor(c::isConnected);
            send(peer, "ping");
            assertTrue(r.awaitText("ping", 5000));
            c.write("pong".getBytes(), 0, 4);
            assertEquals("pong", readN(peer, 4));
            peer.close();
            waitFor(() -> !c.isConnected());
            SocketChannel peer2 = server.accept();       // reconnected
            waitFor(c::isConnected);
            c.write("x".getBytes(), 0, 1);
            assertEquals("x", readN(peer2, 1));
            peer2.close();
        }
    }

    // ---- The socket backend's output backpressure (isWritable and its hook) and its connection events.

    @Test
    void aPeerThatDoesNotReadMakesItUnwritableUntilItReads() throws Exception {
        Path p = dir.resolve("s.sock");
        SocketChardev c = SocketChardev.server("c", p, false, loop);
        AtomicInteger hooks = new AtomicInteger();
        c.setWritableHook(hooks::incrementAndGet);
        try (SocketChannel peer = SocketChardevTest.connect(p)) {
            assertTrue(c.awaitConnection(5, TimeUnit.SECONDS));
            SocketChardevTest.waitFor(c::isConnected);
            byte[] chunk = new byte[64 * 1024];
            long written = 0;
            // far more than the socket buffers and the high-water mark hold
            while (c.isWritable() && written < (64L << 20)) {
                c.write(chunk, 0, chunk.length);
                written += chunk.length;
                Thread.sleep(1);
            }
            assertFalse(c.isWritable(), "still writable after " + written + " bytes");
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            long read = 0;
            while (read < written) {
                b.clear();
                read += peer.read(b);
            }
            assertEquals(written, read, "nothing lost");
            SocketChardevTest.waitFor(() -> hooks.get() > 0);
            assertTrue(hooks.get() > 0, "the writable hook never ran");
            assertTrue(c.isWritable());
        } finally {
            c.close();
        }
    }

    @Test
    void connectionEventsFollowThePeer() throws Exception {
        Path p = dir.resolve("e.sock");
        SocketChardev c = SocketChardev.server("c", p, false, loop);
        List<Boolean> seen = new CopyOnWriteArrayList<>();
        c.setConnectionListener(seen::add);
        try {
            SocketChannel peer = SocketChardevTest.connect(p);
            SocketChardevTest.waitFor(() -> seen.size() == 1);
            peer.close();
            SocketChardevTest.waitFor(() -> seen.size() == 2);
            SocketChannel again = SocketChardevTest.connect(p);
            SocketChardevTest.waitFor(() -> seen.size() == 3);
            again.close();
            SocketChardevTest.waitFor(() -> seen.size() == 4);
            assertEquals(List.of(true, false, true, false), seen);
            assertTrue(c.isWritable(), "no peer: output is dropped, so never held back");
        } finally {
            c.close();
        }
    }
}
