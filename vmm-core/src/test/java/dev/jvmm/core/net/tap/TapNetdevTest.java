package dev.jvmm.core.net.tap;

import static dev.jvmm.core.net.Frames.ETH_ARP;
import static dev.jvmm.core.net.Frames.ETH_IP;
import static dev.jvmm.core.net.Frames.ip;
import static dev.jvmm.core.net.Frames.u16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.net.Frames;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.core.net.RecordingNic;
import dev.jvmm.core.net.TestNetdevContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * -netdev tap on real TAP interfaces, each made inside a private network namespace (ip netns) by a thread
 * that joined it with setns(2), so nothing touches the host's interfaces. The kernel's ARP and ICMP on the
 * namespace side answer frames the test's NIC sends.
 */
class TapNetdevTest {
    private static final int CLONE_NEWNET = 0x40000000;
    private static final byte[] NIC_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    private static final byte[] NIC_IP = ip(10, 9, 0, 2);
    private static final byte[] HOST_IP = ip(10, 9, 0, 1);

    static {
        Native.register(TapNetdevTest.class, "c");
    }

    private static native int setns(int fd, int nstype) throws LastErrorException;

    private static String ns;
    private final List<Netdev> netdevs = new ArrayList<>();

    @BeforeAll
    static void makeNamespace() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(Path.of(Tun.PATH_NET_TUN)), "no /dev/net/tun");
        ns = "jvmm-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        int rc = run("ip", "netns", "add", ns);
        Assumptions.assumeTrue(rc == 0, "cannot create a network namespace (ip netns add)");
    }

    @AfterAll
    static void dropNamespace() throws Exception {
        if (ns != null) {
            run("ip", "netns", "del", ns);
        }
    }

    @AfterEach
    void closeNetdevs() {
        for (Netdev nd : netdevs) {
            for (NetClient c : nd.queues()) {
                NetClient.connect(c, null);
                ((TapNetdev) c).cleanup();
            }
        }
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    /** Runs task on a fresh thread that joined the test's namespace (and ends afterwards). */
    private static <T> T inNamespace(Callable<T> task) throws Exception {
        FutureTask<T> f = new FutureTask<>(() -> {
            int fd = Tun.open("/var/run/netns/" + ns, 0);
            try {
                setns(fd, CLONE_NEWNET);
            } finally {
                Tun.close(fd);
            }
            return task.call();
        });
        Thread t = new Thread(f, "netns-" + ns);
        t.start();
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    private Netdev open(Map<String, Object> args) throws Exception {
        Netdev nd = inNamespace(() -> TapNetdev.FACTORY.create(new NetdevOptions("tap", "t0", args),
                new TestNetdevContext()));
        netdevs.add(nd);
        return nd;
    }

    private static void up(String ifname) throws Exception {
        assertEquals(0, run("ip", "-n", ns, "link", "set", ifname, "up"));
        run("ip", "-n", ns, "addr", "add", "10.9.0.1/24", "dev", ifname);
    }

    private static RecordingNic attach(NetClient backend) {
        RecordingNic nic = new RecordingNic("nic", MacAddress.of(NIC_MAC, 0));
        NetClient.connect(backend, nic);
        return nic;
    }

    /** Answers the kernel's ARP requests for the NIC's address until the NIC is detached. */
    private static Thread arpResponder(RecordingNic nic, int hdr, List<byte[]> others) {
        Thread t = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    byte[] f = nic.await(x -> true, 200);
                    if (f == null) {
                        continue;
                    }
                    byte[] eth = Arrays.copyOfRange(f, hdr, f.length);
                    if (Frames.ethType(eth) == ETH_ARP && u16(eth, 20) == 1
                            && Arrays.equals(Arrays.copyOfRange(eth, 38, 42), NIC_IP)) {
                        byte[] reply = Frames.arpReply(NIC_MAC, NIC_IP, Arrays.copyOfRange(eth, 22, 28),
                                Arrays.copyOfRange(eth, 28, 32));
                        nic.transmit(withHeader(reply, hdr));
                    } else {
                        others.add(eth);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "arp-responder");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static byte[] withHeader(byte[] frame, int hdr) {
        byte[] out = new byte[hdr + frame.length];
        System.arraycopy(frame, 0, out, hdr, frame.length);
        return out;
    }

    /** ARP for the namespace's address, then ping it; true when the echo reply comes back. */
    private static void pingThrough(RecordingNic nic, int hdr) throws Exception {
        List<byte[]> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread responder = arpResponder(nic, hdr, seen);
        try {
            byte[] hostMac = null;
            long end = System.currentTimeMillis() + 10000;
            while (hostMac == null && System.currentTimeMillis() < end) {
                nic.transmit(withHeader(Frames.arpRequest(NIC_MAC, NIC_IP, HOST_IP), hdr));
                Thread.sleep(100);
                for (byte[] f : seen) {
                    if (Frames.ethType(f) == ETH_ARP && u16(f, 20) == 2) {
                        hostMac = Arrays.copyOfRange(f, 22, 28);
                    }
                }
            }
            assertNotNull(hostMac, "the namespace's kernel did not answer ARP through the tap");
            byte[] echo = Frames.ipv4(hostMac, NIC_MAC, NIC_IP, HOST_IP, 1, Frames.icmpEcho(0x42, 1, new byte[32]));
            boolean answered = false;
            while (!answered && System.currentTimeMillis() < end) {
                nic.transmit(withHeader(echo, hdr));
                Thread.sleep(100);
                for (byte[] f : seen) {
                    if (Frames.ethType(f) == ETH_IP && f[23] == 1 && f[34] == 0 && u16(f, 38) == 0x42) {
                        answered = true;
                    }
                }
            }
            assertTrue(answered, "no echo reply from the namespace");
        } finally {
            responder.interrupt();
            responder.join(2000);
        }
    }

    @Test
    void framesCrossTheTapBothWays() throws Exception {
        Netdev nd = open(Map.of("ifname", "jvt%d", "script", "no", "downscript", "no", "vnet_hdr", "off"));
        TapNetdev tap = (TapNetdev) nd.queues().get(0);
        assertEquals("tap", tap.model());
        assertTrue(tap.infoString().matches("ifname=jvt\\d+,script=no,downscript=no"), tap.infoString());
        assertTrue(!tap.hasVnetHdr());
        String ifname = tap.infoString().substring("ifname=".length(), tap.infoString().indexOf(','));
        up(ifname);
        pingThrough(attach(tap), 0);
    }

    @Test
    void vnetHeaderIsNegotiatedAndCarried() throws Exception {
        Netdev nd = open(Map.of("ifname", "jvh0", "script", "no", "downscript", "no", "vnet_hdr", "on"));
        TapNetdev tap = (TapNetdev) nd.queues().get(0);
        assertTrue(tap.hasVnetHdr());
        assertTrue(tap.hasVnetHdrLen(12));
        tap.setVnetHdrLen(12);
        tap.useVnetHdr(true);
        up("jvh0");
        pingThrough(attach(tap), 12);
    }

    @Test
    void defaultProbesVnetHeaderAndStripsItForAPlainNic() throws Exception {
        Netdev nd = open(Map.of("ifname", "jvd0", "script", "no", "downscript", "no"));
        TapNetdev tap = (TapNetdev) nd.queues().get(0);
        assertTrue(tap.hasVnetHdr(), "the kernel has IFF_VNET_HDR, so vnet_hdr defaults on");
        up("jvd0");
        pingThrough(attach(tap), 0);
    }

    @Test
    void fdPassingAndMultiQueue() throws Exception {
        int fd = inNamespace(() -> TapSetup.open(new String[] {"jvf0"}, new boolean[] {true}, false, false));
        Netdev nd;
        try {
            nd = TapNetdev.FACTORY.create(new NetdevOptions("tap", "t1", Map.of("fd", Integer.toString(fd))),
                    new TestNetdevContext());
        } catch (NetdevException e) {
            Tun.close(fd);
            throw e;
        }
        netdevs.add(nd);
        TapNetdev tap = (TapNetdev) nd.queues().get(0);
        assertEquals("fd=" + fd, tap.infoString());
        assertTrue(tap.hasVnetHdr());
        up("jvf0");
        pingThrough(attach(tap), 0);

        Netdev mq = open(Map.of("ifname", "jvm0", "script", "no", "downscript", "no", "queues", "2"));
        assertEquals(2, mq.queues().size());
        assertEquals(1, mq.queues().get(1).queueIndex());
        assertEquals("ifname=jvm0,script=no,downscript=no", mq.queues().get(1).infoString());
    }

    @Test
    void scriptsRunWithTheInterfaceName() throws Exception {
        Path dir = Files.createTempDirectory("jvmm-tap");
        Path log = dir.resolve("log");
        Path up = dir.resolve("up");
        Path down = dir.resolve("down");
        Files.writeString(up, "#!/bin/sh\necho up $1 >> " + log + "\n");
        Files.writeString(down, "#!/bin/sh\necho down $1 >> " + log + "\n");
        up.toFile().setExecutable(true);
        down.toFile().setExecutable(true);
        try {
            Netdev nd = open(Map.of("ifname", "jvu0", "script", up.toString(), "downscript", down.toString()));
            assertEquals("ifname=jvu0,script=" + up + ",downscript=" + down, nd.queues().get(0).infoString());
            assertEquals("up jvu0\n", Files.readString(log));
            closeNetdevs();
            netdevs.clear();
            assertEquals("up jvu0\ndown jvu0\n", Files.readString(log));
        } finally {
            for (Path p : List.of(log, up, down, dir)) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void optionErrorsAreQemus() throws Exception {
        NetdevException e = assertThrows(NetdevException.class, () -> open(Map.of("ifname", "jvv0", "script",
                "no", "downscript", "no", "vhost", "on")));
        assertEquals("tap: open vhost char device failed: No such file or directory", e.getMessage());
        e = assertThrows(NetdevException.class, () -> open(Map.of("fd", "99", "ifname", "x")));
        assertEquals("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid "
                + "with fd=", e.getMessage());
        e = assertThrows(NetdevException.class, () -> open(Map.of("fds", "99:100", "queues", "3")));
        assertEquals("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with "
                + "fds=", e.getMessage());
        e = assertThrows(NetdevException.class, () -> open(Map.of("ifname", "jvs0", "script", "/bin/false",
                "downscript", "no")));
        assertEquals("network script /bin/false failed with status 256", e.getMessage());
        e = assertThrows(NetdevException.class, () -> open(Map.of("vnet_hdr", "maybe")));
        assertEquals("Parameter 'vnet_hdr' expects 'on' or 'off'", e.getMessage());
        e = assertThrows(NetdevException.class, () -> open(Map.of("sndbuf", "x")));
        assertEquals("Parameter 'sndbuf' expects a size value", e.getMessage());
    }
}
