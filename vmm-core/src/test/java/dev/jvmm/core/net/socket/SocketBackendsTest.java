package dev.jvmm.core.net.socket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetQueue;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.core.net.RecordingNic;
import dev.jvmm.core.net.TestNetdevContext;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** -netdev socket, stream and dgram over real loopback sockets, with a recording NIC on each backend. */
class SocketBackendsTest {
    private final List<NetClient> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (NetClient c : opened) {
            NetClient.connect(c, null);
            if (c instanceof FramedStreamClient f) {
                f.cleanup();
            } else if (c instanceof DatagramClient d) {
                d.cleanup();
            } else if (c instanceof NativeSocketClient n) {
                n.cleanup();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }

    private RecordingNic open(NetdevFactory f, String type, String id, Map<String, Object> args,
            NetdevContext ctx) throws NetdevException {
        Netdev nd = f.create(new NetdevOptions(type, id, args), ctx);
        NetClient c = nd.queues().get(0);
        opened.add(c);
        assertEquals(type, c.model());
        assertEquals(id, c.name());
        RecordingNic nic = new RecordingNic("nic-" + id, MacAddress.parse("52:54:00:12:34:56"));
        NetClient.connect(c, nic);
        return nic;
    }

    private RecordingNic open(NetdevFactory f, String type, String id, Map<String, Object> args)
            throws NetdevException {
        return open(f, type, id, args, new TestNetdevContext());
    }

    private static byte[] frame(int seed, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seed + i);
        }
        return b;
    }

    private static void passBothWays(RecordingNic a, RecordingNic b) throws Exception {
        byte[] ab = frame(1, 60);
        byte[] ba = frame(7, 1514);
        long end = System.currentTimeMillis() + 5000;
        byte[] got = null;
        // the client may still be connecting: resend until the far side sees a frame
        while (got == null && System.currentTimeMillis() < end) {
            a.transmit(ab);
            got = b.await(f -> true, 100);
        }
        assertNotNull(got, "no frame a->b");
        assertArrayEquals(ab, got);
        b.transmit(ba);
        byte[] back = a.await(f -> f.length == ba.length, 5000);
        assertArrayEquals(ba, back);
    }

    private static Map<String, Object> inet(String host, int port) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "inet");
        m.put("host", host);
        m.put("port", Integer.toString(port));
        return m;
    }

    @Test
    void streamServerAndClientPassFramesAndReportEvents() throws Exception {
        int port = freePort();
        EventBus bus = new EventBus();
        List<VmEvent> events = new CopyOnWriteArrayList<>();
        bus.subscribe((e, t) -> events.add(e));
        NetdevContext ctx = new NetdevContext() {
            @Override
            public EventBus events() {
                return bus;
            }

            @Override
            public int fd(String n) throws NetdevException {
                throw new NetdevException("no fds here");
            }
        };
        RecordingNic server = open(StreamNetdev.FACTORY, "stream", "s0",
                Map.of("server", "on", "addr", inet("127.0.0.1", port)), ctx);
        assertEquals("", opened.get(0).infoString());
        RecordingNic client = open(StreamNetdev.FACTORY, "stream", "s1",
                Map.of("server", "off", "addr", inet("127.0.0.1", port)), ctx);
        passBothWays(client, server);
        assertEquals("tcp:127.0.0.1:" + port, opened.get(1).infoString());
        assertTrue(opened.get(0).infoString().startsWith("tcp:127.0.0.1:"));
        assertTrue(events.stream().anyMatch(e -> e instanceof VmEvent.NetdevStreamConnected c
                && c.netdevId().equals("s0")));
    }

    @Test
    void unixStreamSocketIsPrivate() throws Exception {
        Path dir = Files.createTempDirectory("jvmm-stream");
        Path sock = dir.resolve("s.sock");
        Map<String, Object> addr = Map.of("type", "unix", "path", sock.toString());
        RecordingNic server = open(StreamNetdev.FACTORY, "stream", "u0", Map.of("server", true, "addr", addr));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        RecordingNic client = open(StreamNetdev.FACTORY, "stream", "u1", Map.of("addr", addr));
        passBothWays(client, server);
        assertEquals("unix:" + sock, opened.get(1).infoString());
        closeAll();
        opened.clear();
        assertTrue(!Files.exists(sock));
        Files.deleteIfExists(dir);
    }

    @Test
    void socketListenAcceptsAgainAfterDisconnectAndDropsBadLengths() throws Exception {
        int port = freePort();
        RecordingNic nic = open(SocketNetdev.FACTORY, "socket", "k0", Map.of("listen", "127.0.0.1:" + port));
        for (int round = 0; round < 2; round++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                s.setSoTimeout(5000);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                byte[] f = frame(round, 100);
                out.writeInt(f.length);
                out.write(f);
                out.flush();
                assertArrayEquals(f, nic.await(x -> true, 5000));
                assertTrue(opened.get(0).infoString().startsWith("socket: connection from 127.0.0.1:"));
                byte[] g = frame(50 + round, 64);
                nic.transmit(g);
                DataInputStream in = new DataInputStream(s.getInputStream());
                assertEquals(g.length, in.readInt());
                byte[] back = new byte[g.length];
                in.readFully(back);
                assertArrayEquals(g, back);
            }
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(FramedStreamClient.NET_BUFSIZE + 1);
            out.write(new byte[16]);
            out.flush();
            assertEquals(-1, s.getInputStream().read(), "a bad length prefix ends the connection");
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            byte[] f = frame(9, 70);
            out.writeInt(f.length);
            out.write(f);
            out.flush();
            assertArrayEquals(f, nic.await(x -> x.length == 70, 5000), "listening again after a bad peer");
        }
    }

    @Test
    void socketConnectToListen() throws Exception {
        int port = freePort();
        RecordingNic a = open(SocketNetdev.FACTORY, "socket", "k1", Map.of("listen", ":" + port));
        RecordingNic b = open(SocketNetdev.FACTORY, "socket", "k2", Map.of("connect", "127.0.0.1:" + port));
        assertEquals("socket: connect to 127.0.0.1:" + port, opened.get(1).infoString());
        passBothWays(b, a);
    }

    @Test
    void aPeerThatNeverReadsCostsBoundedMemory() throws Exception {
        int port = freePort();
        RecordingNic nic = open(SocketNetdev.FACTORY, "socket", "k3", Map.of("listen", "127.0.0.1:" + port));
        NetClient backend = opened.get(0);
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            long end = System.currentTimeMillis() + 5000;
            while (!backend.infoString().startsWith("socket: connection") && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            byte[] f = frame(3, 1500);
            for (int i = 0; i < NetQueue.MAX_FRAMES + 5000; i++) {
                nic.transmit(f);
            }
            assertTrue(backend.queuedFrames() <= NetQueue.MAX_FRAMES);
            assertTrue(backend.droppedFrames() > 0, "frames past the bound are dropped");
        }
    }

    @Test
    void dgramPairAndSocketUdpPassFrames() throws Exception {
        int p1 = freeUdpPort();
        int p2 = freeUdpPort();
        RecordingNic a = open(DgramNetdev.FACTORY, "dgram", "d0",
                Map.of("local", inet("127.0.0.1", p1), "remote", inet("127.0.0.1", p2)));
        assertEquals("udp=127.0.0.1:" + p1 + "/127.0.0.1:" + p2, opened.get(0).infoString());
        RecordingNic b = open(SocketNetdev.FACTORY, "socket", "d1",
                Map.of("udp", "127.0.0.1:" + p1, "localaddr", "127.0.0.1:" + p2));
        assertEquals("socket: udp=127.0.0.1:" + p1, opened.get(1).infoString());
        passBothWays(a, b);
    }

    @Test
    void multicastMembersSeeEachOther() throws Exception {
        int port = freeUdpPort();
        RecordingNic a = open(SocketNetdev.FACTORY, "socket", "m0",
                Map.of("mcast", "230.0.0.1:" + port, "localaddr", "127.0.0.1"));
        assertEquals("socket: mcast=230.0.0.1:" + port, opened.get(0).infoString());
        RecordingNic b = open(SocketNetdev.FACTORY, "socket", "m1",
                Map.of("mcast", "230.0.0.1:" + port, "localaddr", "127.0.0.1"));
        byte[] f = frame(5, 99);
        a.transmit(f);
        byte[] got = b.await(x -> x.length == 99, 3000);
        org.junit.jupiter.api.Assumptions.assumeTrue(got != null, "no multicast delivery on loopback here");
        assertArrayEquals(f, got);
    }

    private static native int socketpair(int domain, int type, int protocol, int[] sv) throws LastErrorException;

    static {
        Native.register(SocketBackendsTest.class, "c");
    }

    @Test
    void unixDgramPairPassesFrames() throws Exception {
        Path dir = Files.createTempDirectory("jvmm-dgram");
        String p1 = dir.resolve("a").toString();
        String p2 = dir.resolve("b").toString();
        RecordingNic a = open(DgramNetdev.FACTORY, "dgram", "x0", Map.of("local", Map.of("type", "unix", "path", p1),
                "remote", Map.of("type", "unix", "path", p2)));
        RecordingNic b = open(DgramNetdev.FACTORY, "dgram", "x1", Map.of("local", Map.of("type", "unix", "path", p2),
                "remote", Map.of("type", "unix", "path", p1)));
        assertEquals("udp=" + p1 + ":" + p2, opened.get(0).infoString());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(p1))));
        passBothWays(a, b);
        closeAll();
        opened.clear();
        Files.deleteIfExists(Path.of(p1));
        Files.deleteIfExists(Path.of(p2));
        Files.deleteIfExists(dir);
    }

    @Test
    void passedDescriptorsCarryFrames() throws Exception {
        int[] sv = new int[2];
        socketpair(1, 1, 0, sv);
        RecordingNic a = open(SocketNetdev.FACTORY, "socket", "f0", Map.of("fd", Integer.toString(sv[0])));
        assertEquals("socket: fd=" + sv[0], opened.get(0).infoString());
        RecordingNic b = open(StreamNetdev.FACTORY, "stream", "f1",
                Map.of("addr", Map.of("type", "fd", "str", Integer.toString(sv[1]))));
        passBothWays(a, b);

        int[] dv = new int[2];
        socketpair(1, 2, 0, dv);
        RecordingNic c = open(DgramNetdev.FACTORY, "dgram", "f2",
                Map.of("local", Map.of("type", "fd", "str", Integer.toString(dv[0]))));
        RecordingNic d = open(SocketNetdev.FACTORY, "socket", "f3", Map.of("fd", Integer.toString(dv[1])));
        passBothWays(c, d);
        assertEquals("f3: Can't use file descriptor 9999: Bad file descriptor",
                error(SocketNetdev.FACTORY, "socket", Map.of("fd", "9999")).replace("e:", "f3:"));
    }

    private static String error(NetdevFactory f, String type, Map<String, Object> args) {
        return assertThrows(NetdevException.class,
                () -> f.create(new NetdevOptions(type, "e", args), new TestNetdevContext())).getMessage();
    }

    @Test
    void optionErrorsAreQemus() throws Exception {
        assertEquals("exactly one of listen=, connect=, mcast= or udp= is required",
                error(SocketNetdev.FACTORY, "socket", Map.of()));
        assertEquals("exactly one of listen=, connect=, mcast= or udp= is required",
                error(SocketNetdev.FACTORY, "socket", Map.of("listen", ":1", "connect", ":2")));
        assertEquals("host address 'bogus' doesn't contain ':' separating host from port",
                error(SocketNetdev.FACTORY, "socket", Map.of("listen", "bogus")));
        assertEquals("port number 'x' is invalid",
                error(SocketNetdev.FACTORY, "socket", Map.of("listen", "127.0.0.1:x")));
        assertEquals("localaddr= is mandatory with udp=",
                error(SocketNetdev.FACTORY, "socket", Map.of("udp", "127.0.0.1:1")));
        assertEquals("localaddr= is only valid with mcast= or udp=",
                error(SocketNetdev.FACTORY, "socket", Map.of("listen", ":1", "localaddr", "127.0.0.1:1")));
        assertEquals("specified mcastaddr 127.0.0.1 (0x7f000001) does not contain a multicast address",
                error(SocketNetdev.FACTORY, "socket", Map.of("mcast", "127.0.0.1:1234")));
        assertEquals("can't bind ip=1.2.3.4 to socket: Cannot assign requested address",
                error(SocketNetdev.FACTORY, "socket", Map.of("listen", "1.2.3.4:" + freePort())));
        assertEquals("Parameter 'addr' is missing", error(StreamNetdev.FACTORY, "stream", Map.of()));
        assertEquals("Parameter 'addr.port' is missing", error(StreamNetdev.FACTORY, "stream",
                Map.of("server", "on", "addr", Map.of("type", "inet", "host", "127.0.0.1"))));
        assertEquals("Parameter 'type' does not accept value 'bogus'",
                error(StreamNetdev.FACTORY, "stream", Map.of("addr", Map.of("type", "bogus"))));
        assertEquals("dgram requires local= parameter", error(DgramNetdev.FACTORY, "dgram", Map.of()));
        assertEquals("type=inet or type=unix requires remote parameter",
                error(DgramNetdev.FACTORY, "dgram", Map.of("local", inet("127.0.0.1", 1))));
        assertEquals("remote and local types must be the same", error(DgramNetdev.FACTORY, "dgram",
                Map.of("local", inet("127.0.0.1", 1), "remote", Map.of("type", "unix", "path", "/tmp/x"))));
    }
}
