package dev.jvmm.core.net;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubTest {
    private final NetClients net = new NetClients(new NetdevTypes(Map.of("hubport", HubPort.FACTORY,
            "user", TestClients.USER)));
    private final NetdevContext ctx = TestClients.context(net);

    @Test
    void frameFromOnePortReachesEveryOtherPortsPeer() {
        net.setRunning(true);
        TestClients.Nic a = new TestClients.Nic("a", "e1000", MacAddress.parse("52:54:00:12:34:56"));
        TestClients.Nic b = new TestClients.Nic("b", "e1000", MacAddress.parse("52:54:00:12:34:57"));
        TestClients.Backend u = new TestClients.Backend("u", "user");
        net.add(a);
        net.add(b);
        net.add(u);
        HubPort pa = net.addHubPort(0, a);
        net.addHubPort(0, b);
        net.addHubPort(0, u);
        assertEquals("hub0port0", pa.name());
        a.send(TestClients.frame(1, 2, 3));
        assertEquals(0, a.got.size(), "not back to the sender");
        assertArrayEquals(new byte[] {1, 2, 3}, b.got.get(0));
        assertArrayEquals(new byte[] {1, 2, 3}, u.got.get(0));
        u.send(TestClients.frame(9));
        assertEquals(1, a.got.size());
        assertEquals(2, b.got.size());
    }

    @Test
    void hubportNetdevsJoinNumberedHubsNewestFirst() throws Exception {
        net.create(new NetdevOptions("hubport", "h0", Map.of("hubid", "0")), ctx, true);
        net.create(new NetdevOptions("hubport", "h1", Map.of("hubid", 0L)), ctx, true);
        net.create(new NetdevOptions("hubport", "h2", Map.of("hubid", "3")), ctx, true);
        assertEquals("hub 3\n \\ h2\nhub 0\n \\ h1\n \\ h0\n", NetworkReport.infoNetwork(net));
        assertEquals(List.of("hub port h2 has no peer", "hub port h1 has no peer", "hub port h0 has no peer",
                "netdev h0 has no peer", "netdev h1 has no peer", "netdev h2 has no peer"),
                NetworkReport.checkClients(net));
    }

    @Test
    void hubportErrorsAreQemus() throws Exception {
        net.create(new NetdevOptions("hubport", "h0", Map.of("hubid", "0")), ctx, true);
        assertEquals("Parameter 'hubid' is missing", assertThrows(NetdevException.class,
                () -> net.create(new NetdevOptions("hubport", "x", Map.of()), ctx, true)).getMessage());
        assertEquals("Duplicate ID 'h0'", assertThrows(NetdevException.class,
                () -> net.create(new NetdevOptions("hubport", "h0", Map.of("hubid", "1")), ctx, true)).getMessage());
        assertEquals("netdev 'zz' not found", assertThrows(NetdevException.class, () -> net.create(
                new NetdevOptions("hubport", "x", Map.of("hubid", "1", "netdev", "zz")), ctx, true)).getMessage());
        assertEquals("Parameter 'foo' is unexpected", assertThrows(NetdevException.class, () -> net.create(
                new NetdevOptions("hubport", "x", Map.of("hubid", "1", "foo", "1")), ctx, true)).getMessage());
        assertEquals("Parameter 'type' does not accept value 'foo'", assertThrows(NetdevException.class,
                () -> net.create(new NetdevOptions("foo", "x", Map.of()), ctx, true)).getMessage());
        assertEquals("network backend 'l2tpv3' is not compiled into this binary", assertThrows(NetdevException.class,
                () -> net.create(new NetdevOptions("l2tpv3", "x", Map.of()), ctx, true)).getMessage());
        assertEquals("network backend 'nic' is not compiled into this binary", assertThrows(NetdevException.class,
                () -> net.create(new NetdevOptions("nic", "x", Map.of()), ctx, true)).getMessage());
    }

    @Test
    void hubportWithPeerNetdevPrintsBothWays() throws Exception {
        net.create(new NetdevOptions("hubport", "h2", Map.of("hubid", "3")), ctx, true);
        net.create(new NetdevOptions("hubport", "x", Map.of("hubid", "1", "netdev", "h2")), ctx, true);
        net.create(new NetdevOptions("user", "u1", Map.of()), ctx, true);
        assertEquals("hub 1\n \\ x: h2: index=0,type=hubport,\nhub 3\n \\ h2: x: index=0,type=hubport,\n"
                + "u1: index=0,type=user,net=10.0.2.0,restrict=off\n", NetworkReport.infoNetwork(net));
    }

    @Test
    void deletedHubportLeavesItsHub() throws Exception {
        net.create(new NetdevOptions("hubport", "x", Map.of("hubid", "1")), ctx, true);
        net.create(new NetdevOptions("hubport", "x2", Map.of("hubid", "1")), ctx, true);
        assertTrue(net.deleteNetdev("x2"));
        assertEquals("hub 1\n \\ x\n", NetworkReport.infoNetwork(net));
        assertEquals(false, net.deleteNetdev("x2"));
    }

    @Test
    void legacyPortIsNotANetdev() throws Exception {
        TestClients.Backend u = new TestClients.Backend("#net0", "user");
        net.addBackend(new Netdev("#net0", "user", List.of(u)), false);
        net.addHubPort(0, u);
        assertEquals("Device 'hub0port0' is not a netdev",
                assertThrows(NetdevException.class, () -> net.deleteNetdev("hub0port0")).getMessage());
        assertEquals(List.of("hub 0 with no nics"), NetworkReport.checkClients(net));
        assertEquals("hub 0\n \\ hub0port0: #net0: index=0,type=user,net=10.0.2.0,restrict=off\n",
                NetworkReport.infoNetwork(net));
    }

    @Test
    void helpListsTheTypesPresentInQemusOrder() {
        assertEquals("Available netdev backend types:\nhubport\nuser\n", net.types().help());
    }
}
