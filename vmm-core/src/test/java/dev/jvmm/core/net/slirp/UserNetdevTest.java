package dev.jvmm.core.net.slirp;

import static dev.jvmm.core.net.Frames.ETH_ARP;
import static dev.jvmm.core.net.Frames.ETH_IP;
import static dev.jvmm.core.net.Frames.ethType;
import static dev.jvmm.core.net.Frames.ip;
import static dev.jvmm.core.net.Frames.u16;
import static dev.jvmm.core.net.Frames.u32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvmm.core.net.Frames;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.core.net.RecordingNic;
import dev.jvmm.core.net.TestNetdevContext;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** -netdev user on the real libslirp: DHCP, ARP, ICMP, host forwarding and QEMU's option errors. */
class UserNetdevTest {
    private static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    private static final byte[] GUEST_IP = ip(10, 0, 2, 15);
    private static final byte[] ROUTER_IP = ip(10, 0, 2, 2);

    private Netdev netdev;
    private RecordingNic nic;

    @BeforeEach
    void needLibslirp() {
        Assumptions.assumeTrue(LibSlirp.loadError() == null, "libslirp.so.0 is not installed");
    }

    @AfterEach
    void close() {
        if (netdev != null) {
            for (NetClient c : netdev.queues()) {
                NetClient.connect(c, null);
            }
            ((UserNetdev) netdev.queues().get(0)).cleanup();
        }
    }

    private UserNetdev open(Map<String, Object> args) throws NetdevException {
        netdev = UserNetdev.FACTORY.create(new NetdevOptions("user", "n0", args), new TestNetdevContext());
        UserNetdev u = (UserNetdev) netdev.queues().get(0);
        nic = new RecordingNic("nic0", MacAddress.of(GUEST_MAC, 0));
        NetClient.connect(u, nic);
        return u;
    }

    @Test
    void dhcpDiscoverGetsOfferFor15() throws Exception {
        UserNetdev u = open(Map.of());
        assertEquals("user", u.model());
        assertEquals("net=10.0.2.0,restrict=off", u.infoString());
        nic.transmit(Frames.dhcpDiscover(GUEST_MAC, 0x1234abcd));
        byte[] offer = nic.await(f -> ethType(f) == ETH_IP && f[23] == 17 && u16(f, 34) == 67, 5000);
        assertNotNull(offer, "no DHCP reply");
        int bootp = 14 + 20 + 8;
        assertEquals(2, offer[bootp], "BOOTREPLY");
        assertEquals(0x1234abcd, u32(offer, bootp + 4), "xid");
        assertEquals(Frames.ipInt(GUEST_IP), u32(offer, bootp + 16), "yiaddr");
    }

    @Test
    void arpAndPingOfTheRouterAreAnswered() throws Exception {
        open(Map.of());
        nic.transmit(Frames.arpRequest(GUEST_MAC, GUEST_IP, ROUTER_IP));
        byte[] reply = nic.await(f -> ethType(f) == ETH_ARP && u16(f, 20) == 2, 5000);
        assertNotNull(reply, "no ARP reply");
        assertEquals(Frames.ipInt(ROUTER_IP), u32(reply, 28));
        byte[] routerMac = java.util.Arrays.copyOfRange(reply, 22, 28);
        assertEquals(0x52, routerMac[0] & 0xff);

        byte[] echo = Frames.icmpEcho(0x77, 1, "jvmm".getBytes());
        nic.transmit(Frames.ipv4(routerMac, GUEST_MAC, GUEST_IP, ROUTER_IP, 1, echo));
        byte[] pong = nic.await(f -> ethType(f) == ETH_IP && f[23] == 1 && f[34] == 0, 5000);
        assertNotNull(pong, "no echo reply");
        assertEquals(Frames.ipInt(ROUTER_IP), u32(pong, 26));
        assertEquals(0x77, u16(pong, 38));
    }

    @Test
    void aBurstBeyondTheHandOffRingIsQueuedNotLost() throws Exception {
        UserNetdev u = open(Map.of());
        int n = SlirpThread.HANDOFF_SLOTS * 4;
        byte[] req = Frames.arpRequest(GUEST_MAC, GUEST_IP, ROUTER_IP);
        for (int i = 0; i < n; i++) {
            nic.transmit(req);
        }
        for (int i = 0; i < n; i++) {
            assertNotNull(nic.await(f -> ethType(f) == ETH_ARP && u16(f, 20) == 2, 5000), "reply " + i);
        }
        assertEquals(0, u.queuedFrames());
    }

    @Test
    void hostForwardConnectReachesTheGuestAsSyn() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("hostfwd", List.of("tcp:127.0.0.1:" + port + "-10.0.2.15:22"));
        open(args);
        nic.transmit(Frames.arpRequest(GUEST_MAC, GUEST_IP, ROUTER_IP)); // slirp learns the guest's MAC
        assertNotNull(nic.await(f -> ethType(f) == ETH_ARP, 5000));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            byte[] syn = nic.await(f -> ethType(f) == ETH_IP && f[23] == 6 && (f[47] & 0x02) != 0, 5000);
            assertNotNull(syn, "no SYN to the guest");
            assertEquals(Frames.ipInt(GUEST_IP), u32(syn, 30));
            assertEquals(22, u16(syn, 36));
        }
    }

    @Test
    void hostfwdAddAndRemoveAsHmp() throws Exception {
        UserNetdev u = open(Map.of());
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        u.addHostForward("tcp:127.0.0.1:" + port + "-:22");
        assertEquals("host forwarding rule for tcp:127.0.0.1:" + port + " removed",
                u.removeHostForward("tcp:127.0.0.1:" + port));
        assertEquals("host forwarding rule for tcp:127.0.0.1:" + port + " not found",
                u.removeHostForward("tcp:127.0.0.1:" + port));
        assertEquals("invalid format", u.removeHostForward("sctp::1"));
        NetdevException e = assertThrows(NetdevException.class, () -> u.addHostForward("tcp::x-:22"));
        assertEquals("Invalid host forwarding rule 'tcp::x-:22' (Bad host port)", e.getMessage());
    }

    @Test
    void guestForwardToACommandIsAccepted() throws Exception {
        open(Map.of("guestfwd", List.of("tcp:10.0.2.100:1234-cmd:cat")));
    }

    private static String error(Map<String, Object> args) {
        NetdevException e = assertThrows(NetdevException.class,
                () -> UserNetdev.FACTORY.create(new NetdevOptions("user", "n1", args), new TestNetdevContext()));
        return e.getMessage();
    }

    @Test
    void optionErrorsAreQemus() {
        assertEquals("Failed to parse netmask", error(Map.of("net", "bogus")));
        assertEquals("Invalid netmask provided (must be in range 4-32)", error(Map.of("net", "10.0.2.0/33")));
        assertEquals("Host doesn't belong to network", error(Map.of("host", "1.2.3.4")));
        assertEquals("IPv4 and IPv6 disabled", error(Map.of("ipv4", "off", "ipv6", "off")));
        assertEquals("Invalid host forwarding rule 'tcp::x-:22' (Bad host port)",
                error(Map.of("hostfwd", "tcp::x-:22")));
        assertEquals("Invalid host forwarding rule 'unix:/tmp/x-:22' (Bad protocol name)",
                error(Map.of("hostfwd", "unix:/tmp/x-:22")));
        assertEquals("Could not open guest forwarding device 'guestfwd.tcp.1234'",
                error(Map.of("guestfwd", "tcp:10.0.2.100:1234-chardev:foo")));
        assertEquals("Invalid guest forwarding rule 'bogus'", error(Map.of("guestfwd", "bogus")));
        assertEquals("Parameter 'restrict' expects 'on' or 'off'", error(Map.of("restrict", "maybe")));
        assertEquals("Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)",
                error(Map.of("ipv6-prefixlen", "200")));
        assertEquals("DNS must be different from host", error(Map.of("dns", "10.0.2.2")));
        assertEquals("DHCP doesn't belong to network", error(Map.of("dhcpstart", "10.0.3.15")));
        assertEquals("'domainname' parameter cannot be empty", error(Map.of("domainname", "")));
        assertTrue(error(Map.of("smb", "/tmp")).startsWith("Could not find '/usr/sbin/smbd'")
                || new java.io.File("/usr/sbin/smbd").exists());
    }

    @Test
    void networkOptionChangesInfo() throws Exception {
        UserNetdev u = open(Map.of("net", "192.168.76.0/24", "restrict", "on"));
        assertEquals("net=192.168.76.0,restrict=on", u.infoString());
    }
}
