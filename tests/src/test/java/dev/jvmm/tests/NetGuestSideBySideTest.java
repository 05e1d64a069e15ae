package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny guest's network actions (action=net, tests/guest/src/net.c, virtio_net.c, e1000.c) under QEMU 7.2 and
 * jvmm with KVM, each VMM held to the lines QEMU prints: DHCP, ARP and ping against user networking, UDP and TCP
 * echo through hostfwd, set_link over QMP, a flood from a host-side sender into a starved receive ring, the abuse
 * cases, a jvmm guest and a QEMU guest on one wire (-netdev stream: ping/answer; -netdev socket: blast/sink, both
 * ways), and a tap device in a network namespace the test makes (the host pings the guest, the guest pings the
 * host, the guest blasts datagrams to a host socket).
 */
class NetGuestSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String VIRTIO_DEVICE = "virtio-net-pci,netdev=n0,disable-legacy=on";
    private static final String E1000_DEVICE = "e1000,netdev=n0";

    /** The VMM a scenario runs under; both take QEMU's command line and must print the same lines. */
    enum Vmm {
        QEMU {
            @Override
            List<String> command() {
                return List.of(Env.assumeQemu().toString());
            }
        },
        JVMM {
            @Override
            List<String> command() {
                Env.assumeKvm();
                return List.of(Env.launcher().toString());
            }
        };

        abstract List<String> command();

        VmProcess start(List<String> args) {
            return inNamespace(null, args);
        }

        /** Starts the VMM inside network namespace ns ("ip netns exec"), or in the test's own for null. */
        VmProcess inNamespace(String ns, List<String> args) {
            List<String> cmd = new ArrayList<>();
            if (ns != null) {
                cmd.addAll(List.of("ip", "netns", "exec", ns));
            }
            cmd.addAll(command());
            cmd.addAll(args);
            return VmProcess.command(cmd);
        }
    }

    static Stream<Arguments> vmmsAndNics() {
        return Stream.of(Vmm.values()).flatMap(v -> Stream.of(Nic.values()).map(n -> Arguments.of(v, n)));
    }

    /** The two NIC models, with the -device value and the guest's nic= name. */
    enum Nic {
        VIRTIO("virtio", VIRTIO_DEVICE), E1000("e1000", E1000_DEVICE);

        final String guestName;
        final String device;

        Nic(String guestName, String device) {
            this.guestName = guestName;
            this.device = device;
        }
    }

    private static List<String> args(String append, String netdev, String device, String... extra) {
        List<String> a = new ArrayList<>(TinyGuest.args(Env.guest("tiny.pvh"), append, "-netdev", netdev, "-device", device));
        a.addAll(List.of(extra));
        return a;
    }

    private static VmProcess.Result run(Vmm vmm, String append, String netdev, String device) {
        try (VmProcess p = vmm.start(args(append, netdev, device))) {
            return p.await(TIMEOUT);
        }
    }

    private static String header(String append) {
        return TinyGuest.header(TinyGuest.Format.PVH, append, 128);
    }

    private static String nicLine(Nic nic, String mac) {
        return "net: nic " + nic.guestName + " mac " + mac + " link up\n";
    }

    private static final String DHCP_LINES = "net: dhcp ip 10.0.2.15 mask 255.255.255.0 router 10.0.2.2 dns 10.0.2.3 lease 86400\n"
            + "net: arp 10.0.2.2 is 52:55:0a:00:02:02\n"
            + "net: ping 10.0.2.2 seq 1 ok\n"
            + "net: ping 10.0.2.2 seq 2 ok\n"
            + "net: ping 10.0.2.2 seq 3 ok\n"
            + "net: all passed\n";

    private static int freeTcpPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void await(VmProcess p, String text) {
        assertTrue(p.waitForOutput(text, TIMEOUT), "no '" + text + "' in: " + p.stdoutSoFar() + p.stderrSoFar());
    }

    /**
     * DHCP, ARP and three pings through user networking, then a TCP and a UDP echo through hostfwd. The e1000
     * reads its (non-default) MAC by bit-banging the Microwire EEPROM through EECD rather than EERD.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vmmsAndNics")
    void tcpAndUdpEchoThroughHostfwd(Vmm vmm, Nic nic) throws IOException {
        int tcpPort = freeTcpPort();
        int udpPort = freeUdpPort();
        boolean e1000 = nic == Nic.E1000;
        String append = "action=net nic=" + nic.guestName + " serve=30" + (e1000 ? " eeprom=eecd" : "");
        String mac = e1000 ? "52:54:00:ab:cd:ef" : "52:54:00:12:34:56";
        String netdev = "user,id=n0,hostfwd=tcp:127.0.0.1:" + tcpPort + "-:7,hostfwd=udp:127.0.0.1:" + udpPort + "-:7";
        try (VmProcess p = vmm.start(args(append, netdev, nic.device + (e1000 ? ",mac=" + mac : "")))) {
            await(p, "net: serving");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcpPort), 5000);
                s.setSoTimeout(5000);
                s.getOutputStream().write("hello over tcp\n".getBytes(StandardCharsets.US_ASCII));
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                assertEquals("hello over tcp", in.readLine());
            }
            await(p, "net: tcp connection closed");
            try (DatagramSocket u = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                u.setSoTimeout(5000);
                assertEquals("hello over udp", udpEcho(u, udpPort, "hello over udp"));
                assertEquals("quit", udpEcho(u, udpPort, "quit"));
            }
            VmProcess.Result r = p.await(TIMEOUT);
            assertEquals(header(append) + nicLine(nic, mac) + DHCP_LINES
                    + "net: serving udp and tcp echo on port 7 for 30 s\n"
                    + "net: tcp echo 15 bytes\n"
                    + "net: tcp connection closed\n"
                    + "net: udp echo 14 bytes\n"
                    + "net: udp echo 4 bytes\n"
                    + "net: serve quit\n", r.stdout(), r.stderr());
            assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
        }
    }

    private static String udpEcho(DatagramSocket u, int port, String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        u.send(new DatagramPacket(b, b.length, InetAddress.getLoopbackAddress(), port));
        DatagramPacket reply = new DatagramPacket(new byte[2048], 2048);
        u.receive(reply);
        return new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vmmsAndNics")
    void setLinkOverQmp(Vmm vmm, Nic nic) throws IOException {
        Path dir = Env.tempDir("guest-net-link");
        Path sock = dir.resolve("qmp.sock");
        String append = "action=net nic=" + nic.guestName + " mode=link";
        try (VmProcess p = vmm.start(args(append, "user,id=n0", nic.device, "-qmp", "unix:" + sock + ",server=on,wait=off"))) {
            await(p, "net: link waiting");
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(sock));
                BufferedReader in = new BufferedReader(Channels.newReader(ch, StandardCharsets.UTF_8));
                in.readLine();
                qmp(ch, in, "{\"execute\":\"qmp_capabilities\"}");
                // The netdev's name: QEMU 7.2 changes virtio-net-pci's link only through it (its peer).
                qmp(ch, in, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"n0\",\"up\":false}}");
                await(p, "net: link down");
                qmp(ch, in, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"n0\",\"up\":true}}");
            }
            VmProcess.Result r = p.await(TIMEOUT);
            assertEquals(header(append) + nicLine(nic, "52:54:00:12:34:56")
                    + "net: link waiting\nnet: link down\nnet: link up\nnet: link done\n", r.stdout(), r.stderr());
            assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    /** Sends one command and reads up to its reply (events before it are skipped). */
    private static void qmp(SocketChannel ch, BufferedReader in, String command) throws IOException {
        ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
        for (int i = 0; i < 20; i++) {
            String line = in.readLine();
            assertTrue(line != null, "QMP closed after " + command);
            if (line.startsWith("{\"return\"")) {
                return;
            }
            assertTrue(!line.startsWith("{\"error\""), command + ": " + line);
        }
    }

    /**
     * Who runs the server side and who the client side of a two-guest link: always one of each VMM. The ping
     * runs with jvmm answering QEMU's pings, the blast with jvmm sending into QEMU's sink, so frames cross the
     * wire both ways between the two VMMs.
     */
    enum Pair {
        JVMM_SERVES_QEMU(Vmm.JVMM, Vmm.QEMU), QEMU_SERVES_JVMM(Vmm.QEMU, Vmm.JVMM);

        final Vmm server;
        final Vmm client;

        Pair(Vmm server, Vmm client) {
            this.server = server;
            this.client = client;
        }
    }

    /** Two guests over -netdev stream: the server (jvmm) answers, the client (QEMU) ARPs and pings it. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Pair.class, names = "JVMM_SERVES_QEMU")
    void pingBetweenTwoGuestsOverStream(Pair pair) {
        int port = freeTcpPort();
        String answer = "action=net nic=virtio mode=static ip=192.168.77.1 peer=192.168.77.2 role=answer count=3 timeout=60";
        String ping = "action=net nic=e1000 mode=static ip=192.168.77.2 peer=192.168.77.1 role=ping count=3";
        String addr = ",addr.type=inet,addr.host=127.0.0.1,addr.port=" + port;
        try (VmProcess server = pair.server.start(args(answer, "stream,id=n0,server=on" + addr, VIRTIO_DEVICE + ",mac=52:54:00:00:00:01"))) {
            await(server, "role answer");
            try (VmProcess client = pair.client.start(args(ping, "stream,id=n0,server=off" + addr, E1000_DEVICE + ",mac=52:54:00:00:00:02"))) {
                VmProcess.Result s = server.await(TIMEOUT);
                VmProcess.Result c = client.await(TIMEOUT);
                assertEquals(header(answer) + "net: nic virtio mac 52:54:00:00:00:01 link up\n"
                        + "net: static ip 192.168.77.1 peer 192.168.77.2 role answer\n"
                        + "net: answered 3 pings\n", s.stdout(), s.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, s.status(), s.stderr());
                assertEquals(header(ping) + "net: nic e1000 mac 52:54:00:00:00:02 link up\n"
                        + "net: static ip 192.168.77.2 peer 192.168.77.1 role ping\n"
                        + "net: arp 192.168.77.1 is 52:54:00:00:00:01\n"
                        + "net: ping 192.168.77.1 seq 1 ok\n"
                        + "net: ping 192.168.77.1 seq 2 ok\n"
                        + "net: ping 192.168.77.1 seq 3 ok\n"
                        + "net: all passed\n", c.stdout(), c.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, c.status(), c.stderr());
            }
        }
    }

    /**
     * Blast into sink over -netdev socket (QEMU 7.2's stream server crashes when its client goes away first, which
     * the blasting side does here). The socket backend applies back-pressure, so every frame arrives.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Pair.class, names = "QEMU_SERVES_JVMM")
    void blastIntoSinkOverSocket(Pair pair) {
        int port = freeTcpPort();
        String sink = "action=net nic=virtio mode=sink ip=192.168.77.1 port=9 time=60";
        String blast = "action=net nic=e1000 mode=blast ip=192.168.77.2 dst=192.168.77.1 port=9 count=2000 size=1000";
        try (VmProcess server = pair.server.start(args(sink, "socket,id=n0,listen=127.0.0.1:" + port, VIRTIO_DEVICE + ",mac=52:54:00:00:00:01"))) {
            await(server, "net: sink on port 9 ready");
            try (VmProcess client = pair.client.start(args(blast, "socket,id=n0,connect=127.0.0.1:" + port, E1000_DEVICE + ",mac=52:54:00:00:00:02"))) {
                VmProcess.Result c = client.await(TIMEOUT);
                VmProcess.Result s = server.await(TIMEOUT);
                assertTrue(c.stdout().startsWith(header(blast) + "net: nic e1000 mac 52:54:00:00:00:02 link up\n"
                        + "net: arp 192.168.77.1 is 52:54:00:00:00:01\n"
                        + "net: blast sent 2000\n"), c.stdout() + c.stderr());
                assertTrue(Pattern.compile("net: blast 2000 frames of 1000 bytes in \\d+ us\n$").matcher(c.stdout()).find(), c.stdout());
                assertEquals(TinyGuest.EXIT_PASSED, c.status(), c.stderr());
                assertTrue(s.stdout().startsWith(header(sink) + "net: nic virtio mac 52:54:00:00:00:01 link up\n"
                        + "net: sink on port 9 ready\n"
                        + "net: sink received 2000 frames 1916000 bytes\n"), s.stdout() + s.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, s.status(), s.stderr());
            }
        }
    }

    /**
     * A host-side sender floods broadcast frames into -netdev socket (QEMU connects to this test) while the guest
     * holds only 4 receive buffers for 2 s; then it refills and counts. The device must stay usable throughout.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vmmsAndNics")
    void floodWhileReceiveRingIsStarved(Vmm vmm, Nic nic) throws Exception {
        String append = "action=net nic=" + nic.guestName + " mode=flood hold=2000";
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(20000);
            String netdev = "socket,id=n0,connect=127.0.0.1:" + listener.getLocalPort();
            try (VmProcess p = vmm.start(args(append, netdev, nic.device))) {
                AtomicBoolean stop = new AtomicBoolean();
                int[] sent = new int[1];
                try (Socket peer = listener.accept()) {
                    Thread sender = new Thread(() -> flood(peer, stop, sent), "flood");
                    sender.setDaemon(true);
                    sender.start();
                    await(p, "net: flood received");
                    stop.set(true);
                    sender.join(5000);
                }
                VmProcess.Result r = p.await(TIMEOUT);
                assertTrue(Pattern.compile(Pattern.quote(header(append) + nicLine(nic, "52:54:00:12:34:56")
                        + "net: flood holding 4 buffers for 2000 ms\nnet: flood receiving\n")
                        + "net: flood received [1-9]\\d* frames, alive\n").matcher(r.stdout()).matches(), r.stdout() + r.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
            }
        }
    }

    /** 3000 broadcast frames of 600 bytes in QEMU's socket framing (a 4-byte big-endian length first). */
    private static void flood(Socket peer, AtomicBoolean stop, int[] sent) {
        byte[] frame = new byte[600];
        for (int i = 0; i < 6; i++) {
            frame[i] = (byte) 0xff;
        }
        frame[6] = 0x02;
        frame[11] = 0x42;
        frame[12] = (byte) 0x88;
        frame[13] = (byte) 0xb5;
        try {
            OutputStream os = peer.getOutputStream();
            DataOutputStream out = new DataOutputStream(os);
            for (int i = 0; i < 3000 && !stop.get(); i++) {
                out.writeInt(frame.length);
                out.write(frame);
                sent[0]++;
            }
            out.flush();
        } catch (IOException e) {
            // The VM went away or the test closed the socket: the flood is over.
        }
    }

    private static final String VIRTIO_ABUSE = "net: abuse tx-bad-addr: no completion status 0x4f\n"
            + "net: abuse tx-bad-len: no completion status 0x4f\n"
            + "net: abuse tx-empty-frame: no completion status 0x4f\n"
            + "net: abuse tx-65550: used len 0 status 0xf\n"
            + "net: abuse rx-bad-addr: no completion status 0x4f\n"
            + "net: abuse rx-readonly-buffer: no completion status 0x4f\n"
            + "net: abuse ctrl-unknown-class: used len 1 status 0xf\n"
            + "net: abuse ctrl-unknown-class: ack 1\n"
            + "net: abuse ctrl-promisc-on: used len 1 status 0xf\n"
            + "net: abuse ctrl-promisc-on: ack 0\n"
            + "net: abuse ctrl-short-command: used len 1 status 0xf\n"
            + "net: abuse ctrl-short-command: ack 1\n"
            + "net: abuse ctrl-no-ack: no completion status 0x4f\n"
            + "net: abuse device works after reset\n"
            + "net: abuse done\n";

    private static final String E1000_ABUSE = "net: abuse tx-outside-ram: tdh 1 tdt 1 tdlen 0x200 desc0 status 0x1\n"
            + "net: abuse tdlen-mask: tdlen 0x12300\n"
            + "net: abuse tdlen-0: tdh 0 tdt 1 tdlen 0x0 desc0 status 0x1\n"
            + "net: abuse tdt-beyond-ring: tdh 0 tdt 100 tdlen 0x80 desc0 status 0x0\n"
            + "net: abuse runt-20: tx desc status 0x1 rx descriptors 1 bytes 60 last status 0x7 rdh 1 rdt 0 rctl 0x4008002\n"
            + "net: abuse frame-1514: tx desc status 0x1 rx descriptors 1 bytes 1514 last status 0x7 rdh 2 rdt 1 rctl 0x4008002\n"
            + "net: abuse frame-1522: tx desc status 0x1 rx descriptors 1 bytes 1522 last status 0x7 rdh 3 rdt 2 rctl 0x4008002\n"
            + "net: abuse jumbo-9000: tx desc status 0x1 rx descriptors 0 bytes 0 last status 0x0 rdh 3 rdt 2 rctl 0x4008002\n"
            + "net: abuse jumbo-9000-lpe: tx desc status 0x1 rx descriptors 5 bytes 9000 last status 0x7 rdh 5 rdt 4 rctl 0x4008022\n"
            + "net: abuse frame-16384-lpe: tx desc status 0x1 rx descriptors 8 bytes 16384 last status 0x7 rdh 13 rdt 12 rctl 0x4008022\n"
            + "net: abuse frame-16400-lpe: tx desc status 0x1 rx descriptors 0 bytes 0 last status 0x0 rdh 13 rdt 12 rctl 0x4008022\n"
            + "net: abuse device works after reset\n"
            + "net: abuse done\n";

    /**
     * The abuse cases: the lines QEMU 7.2 gives (the same on every run under QEMU). jvmm also survives the two
     * cases QEMU aborts on (unsafe=1: a transmit chain shorter than the header, a receive buffer smaller than
     * it); those break the device as other malformed chains do.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vmmsAndNics")
    void abuse(Vmm vmm, Nic nic) {
        String append = "action=net nic=" + nic.guestName + " mode=abuse";
        String expected = header(append) + nicLine(nic, "52:54:00:12:34:56") + (nic == Nic.VIRTIO ? VIRTIO_ABUSE : E1000_ABUSE);
        VmProcess.Result r = run(vmm, append, "user,id=n0", nic.device);
        assertEquals(expected, r.stdout(), r.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
    }

    /** jvmm survives the two cases QEMU 7.2 aborts on (QEMU is not run here: it would abort). */
    @org.junit.jupiter.api.Test
    void abuseQemuAbortsOnLeavesJvmmRunning() {
        String append = "action=net nic=virtio mode=abuse unsafe=1";
        VmProcess.Result r = run(Vmm.JVMM, append, "user,id=n0", VIRTIO_DEVICE);
        assertTrue(r.stdout().contains("net: abuse tx-short-header: no completion status 0x4f\n"), r.stdout());
        assertTrue(r.stdout().contains("net: abuse rx-small-buffer: no completion status 0xf\n"), r.stdout());
        assertTrue(r.stdout().endsWith("net: abuse device works after reset\nnet: abuse done\n"), r.stdout());
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
    }

    /**
     * A private network namespace with a TAP interface tap0 at 10.9.0.1/24 (made before the VMM starts, so the VMM
     * attaches with ifname=tap0,script=no,downscript=no); removed with everything in it by close().
     */
    static final class TapNamespace implements AutoCloseable {
        final String name = "jvmm-net-" + Long.toHexString(System.nanoTime() & 0xffffffL);

        TapNamespace() throws IOException, InterruptedException {
            org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun");
            org.junit.jupiter.api.Assumptions.assumeTrue(sh("ip", "netns", "add", name) == 0,
                    "cannot create a network namespace (ip netns add needs root and iproute2)");
            try {
                assertEquals(0, sh("ip", "netns", "exec", name, "sh", "-c",
                        "ip link set lo up && ip tuntap add dev tap0 mode tap && ip addr add 10.9.0.1/24 dev tap0"
                                + " && ip link set tap0 up"));
            } catch (IOException | InterruptedException | AssertionError e) {
                close();
                throw e;
            }
        }

        /** Runs a command in the namespace and returns its output (bounded by timeoutSeconds). */
        String exec(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
            List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name));
            all.addAll(List.of(cmd));
            Process p = new ProcessBuilder(all).redirectErrorStream(true).start();
            if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException, InterruptedException {
            sh("ip", "netns", "del", name);
        }

        private static int sh(String... cmd) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        }
    }

    private static final String TAP = "tap,id=n0,ifname=tap0,script=no,downscript=no";

    /**
     * The host (the namespace) pings the guest through the tap, then the guest pings the host (virtio-net: the
     * e1000 runs the same frames through slirp and socket above).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Vmm.class)
    void tapPingBothWays(Vmm vmm) throws Exception {
        Nic nic = Nic.VIRTIO;
        try (TapNamespace ns = new TapNamespace()) {
            String answer = "action=net nic=" + nic.guestName + " mode=static ip=10.9.0.2 peer=10.9.0.1 role=answer count=3 timeout=30";
            try (VmProcess p = vmm.inNamespace(ns.name, args(answer, TAP, nic.device))) {
                await(p, "role answer");
                String ping = ns.exec(20, "ping", "-c", "3", "-i", "0.3", "-W", "5", "10.9.0.2");
                VmProcess.Result r = p.await(TIMEOUT);
                assertTrue(ping.contains("3 received"), ping);
                assertEquals(header(answer) + nicLine(nic, "52:54:00:12:34:56")
                        + "net: static ip 10.9.0.2 peer 10.9.0.1 role answer\n"
                        + "net: answered 3 pings\n", r.stdout(), r.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
            }
            String ping = "action=net nic=" + nic.guestName + " mode=static ip=10.9.0.2 peer=10.9.0.1 role=ping count=3";
            try (VmProcess p = vmm.inNamespace(ns.name, args(ping, TAP, nic.device))) {
                VmProcess.Result r = p.await(TIMEOUT);
                assertTrue(Pattern.compile(Pattern.quote(header(ping) + nicLine(nic, "52:54:00:12:34:56")
                        + "net: static ip 10.9.0.2 peer 10.9.0.1 role ping\n") + "net: arp 10\\.9\\.0\\.1 is [0-9a-f:]{17}\n"
                        + Pattern.quote("net: ping 10.9.0.1 seq 1 ok\nnet: ping 10.9.0.1 seq 2 ok\n"
                        + "net: ping 10.9.0.1 seq 3 ok\nnet: all passed\n")).matcher(r.stdout()).matches(), r.stdout() + r.stderr());
                assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
            }
        }
    }

    /** The guest blasts 2000 datagrams of 1000-byte frames through the tap to a socket in the namespace. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Vmm.class)
    void tapTransfersData(Vmm vmm) throws Exception {
        try (TapNamespace ns = new TapNamespace()) {
            String blast = "action=net nic=virtio mode=blast ip=10.9.0.2 dst=10.9.0.1 port=9 count=2000 size=1000";
            // the receiver counts datagrams and payload bytes until 2 s pass without one (python3: the tests build
            // the guest with it already)
            String counter = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                    + "s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,8<<20)\ns.bind(('10.9.0.1',9))\n"
                    + "print('ready',flush=True)\ns.settimeout(20)\nn=b=0\n"
                    + "try:\n  while True:\n    d=s.recv(65536); n+=1; b+=len(d); s.settimeout(2)\n"
                    + "except socket.timeout:\n  pass\nprint(n,b,flush=True)\n";
            List<String> cmd = List.of("ip", "netns", "exec", ns.name, "python3", "-c", counter);
            Process receiver = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(receiver.getInputStream(), StandardCharsets.UTF_8));
                assertEquals("ready", out.readLine());
                try (VmProcess p = vmm.inNamespace(ns.name, args(blast, TAP, VIRTIO_DEVICE))) {
                    VmProcess.Result r = p.await(TIMEOUT);
                    assertTrue(r.stdout().contains("net: blast sent 2000\n"), r.stdout() + r.stderr());
                    assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
                }
                assertTrue(receiver.waitFor(40, java.util.concurrent.TimeUnit.SECONDS), "receiver did not finish");
                // 1000-byte frames: 14 Ethernet + 20 IP + 8 UDP bytes of headers, 958 of payload each
                assertEquals("2000 1916000", out.readLine());
            } finally {
                receiver.destroyForcibly();
            }
        }
    }
}
