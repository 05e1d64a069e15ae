package dev.jvmm.core.net;

import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MachineNetTest {
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private final List<Integer> fdsTaken = new java.util.ArrayList<>();
    private final NetClients net = new NetClients(new NetdevTypes(Map.of("hubport", HubPort.FACTORY,
            "user", TestClients.USER, "tap", (opts, ctx) -> {
                fdsTaken.add(ctx.fd(opts.string("fd").orElseThrow()));
                return new Netdev(opts.id(), "tap", List.of(new TestClients.Backend(opts.id(), "tap")));
            })));
    private final MachineNet control = new MachineNet(net, TestClients.context(net), timers);

    @AfterEach
    void stop() {
        control.close();
        timers.shutdownNow();
    }

    private TestClients.Nic nicOn(String netdev, String model) throws Exception {
        TestClients.Nic nic = new TestClients.Nic(net.nicName(model, null), model, net.defaultMacIfUnset(null));
        List<NetClient> q = net.claimNetdev(netdev, model + ".netdev");
        NetClient.connect(nic, q.get(0));
        net.add(nic);
        return nic;
    }

    @Test
    void netdevDelOfANicsPeerTakesTheLinkDown() throws Exception {
        net.setRunning(true);
        control.netdevAdd("user", "u1", Map.of(), null);
        TestClients.Nic nic = nicOn("u1", "e1000");
        TestClients.Backend u = (TestClients.Backend) net.named("u1", false).get(0);
        assertEquals("e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56\n"
                + " \\ u1: index=0,type=user,net=10.0.2.0,restrict=off\n", control.infoNetwork());
        control.netdevDel("u1");
        assertTrue(nic.isLinkDown());
        assertEquals(1, nic.linkChanges);
        assertTrue(u.closed);
        assertTrue(net.named("u1", false).isEmpty());
        nic.send(TestClients.frame(1));
        assertEquals(0, u.got.size());
        // QEMU's NIC keeps its deleted peer, which info network still shows
        assertEquals("e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56\n"
                + " \\ u1: index=0,type=user,net=10.0.2.0,restrict=off\n", control.infoNetwork());
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> control.netdevDel("u1"));
        assertEquals("DeviceNotFound", e.errorClass());
        assertEquals("Device 'u1' not found", e.getMessage());
        control.netdevAdd("user", "u1", Map.of(), null);
        assertEquals(1, net.named("u1", false).size());
    }

    @Test
    void netdevDelOfAFreeBackendUnlinksIt() throws Exception {
        control.netdevAdd("user", "u1", Map.of(), null);
        control.netdevAdd("hubport", "h", Map.of("hubid", 0L, "netdev", "u1"), null);
        control.netdevDel("u1");
        assertEquals("hub 0\n \\ h\n", control.infoNetwork());
    }

    @Test
    void fdNamesComeFromTheAskingMonitor() throws Exception {
        dev.jvmm.core.fd.NamedFds fds = new dev.jvmm.core.fd.NamedFds();
        fds.put("tapfd", 4242);
        control.netdevAdd("tap", "t0", Map.of("fd", "tapfd"), fds);
        assertEquals(List.of(4242), fdsTaken);
        assertFalse(fds.contains("tapfd"), "the backend owns it now");
        assertEquals("File descriptor named 'tapfd' has not been found", assertThrows(MachineCommandException.class,
                () -> control.netdevAdd("tap", "t1", Map.of("fd", "tapfd"), fds)).getMessage());
        assertEquals("no fds here", assertThrows(MachineCommandException.class,
                () -> control.netdevAdd("tap", "t2", Map.of("fd", "tapfd"), null)).getMessage());
    }

    @Test
    void netdevAddChecksTheId() {
        MachineCommandException e = assertThrows(MachineCommandException.class,
                () -> control.netdevAdd("hubport", "1bad", Map.of("hubid", 1L), null));
        assertEquals("Parameter 'id' expects an identifier", e.getMessage());
    }

    @Test
    void setLinkFindsClientsByName() throws Exception {
        control.netdevAdd("user", "u1", Map.of(), null);
        TestClients.Nic nic = nicOn("u1", "e1000");
        control.setLink("u1", false);
        assertTrue(nic.isLinkDown(), "a backend's link takes its NIC peer's with it");
        control.setLink("e1000.0", true);
        assertFalse(nic.isLinkDown());
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> control.setLink("zz", true));
        assertEquals("Device 'zz' not found", e.getMessage());
        assertEquals("DeviceNotFound", e.errorClass());
    }

    @Test
    void rxFilterErrorsAreQemus() throws Exception {
        control.netdevAdd("user", "u1", Map.of(), null);
        TestClients.Nic nic = nicOn("u1", "e1000");
        assertEquals(List.of(), control.queryRxFilter(null), "a NIC without a filter is left out");
        assertEquals("net client(e1000.0) doesn't support rx-filter querying", assertThrows(
                MachineCommandException.class, () -> control.queryRxFilter("e1000.0")).getMessage());
        assertEquals("net client(u1) isn't a NIC", assertThrows(MachineCommandException.class,
                () -> control.queryRxFilter("u1")).getMessage());
        assertEquals("invalid net client name: zz", assertThrows(MachineCommandException.class,
                () -> control.queryRxFilter("zz")).getMessage());
        nic.filter = new RxFilterInfo("e1000.0", false, "normal", "normal", "normal", true, false, false,
                "52:54:00:12:34:56", List.of(), List.of(), List.of());
        nic.takeRxFilterNotify();
        assertEquals(List.of(nic.filter), control.queryRxFilter("e1000.0"));
        assertTrue(nic.takeRxFilterNotify(), "querying re-arms the event");
    }

    @Test
    void announceSendsRarpEachRound() throws Exception {
        net.setRunning(true);
        control.netdevAdd("user", "u1", Map.of(), null);
        nicOn("u1", "e1000");
        TestClients.Backend u = (TestClients.Backend) net.named("u1", false).get(0);
        control.announceSelf(new Announcer.Parameters(10, 50, 3, 10, null, null));
        assertEquals(1, u.got.size(), "the first round runs at once");
        assertArrayEquals(NicClient.rarp(MacAddress.parse("52:54:00:12:34:56")), u.got.get(0));
        long end = System.nanoTime() + 5_000_000_000L;
        while (u.got.size() < 3 && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertEquals(3, u.got.size());
        control.announceSelf(new Announcer.Parameters(10, 50, 1, 10, List.of("other"), "x"));
        assertEquals(3, u.got.size(), "a NIC not named is left out");
    }

    @Test
    void announceDelaysGrowByStepUpToMax() {
        Announcer.Parameters p = new Announcer.Parameters(50, 120, 5, 50, null, null);
        assertEquals(50, Announcer.delay(p, 4));
        assertEquals(100, Announcer.delay(p, 3));
        assertEquals(120, Announcer.delay(p, 2));
    }

    @Test
    void defaultMacsCountUp() {
        assertEquals("52:54:00:12:34:56", net.defaultMacIfUnset(null).toString());
        assertEquals("52:54:00:12:34:57", net.defaultMacIfUnset(null).toString());
    }

    @Test
    void hostfwdWithoutUserStack() throws Exception {
        assertEquals("user mode network stack not in use\n", control.hostfwdAdd(null, "tcp::1-:2"));
        assertEquals("unrecognized netdev id 'nope'\n", control.hostfwdRemove("nope", "tcp::1"));
        control.netdevAdd("hubport", "h0", Map.of("hubid", 0L), null);
        assertEquals("invalid device specified\n", control.hostfwdAdd("h0", "tcp::1-:2"));
    }

    @Test
    void hubFramesAreLeftIntactForEachPort() throws Exception {
        net.setRunning(true);
        control.netdevAdd("hubport", "p1", Map.of("hubid", 0L), null);
        control.netdevAdd("hubport", "p2", Map.of("hubid", 0L), null);
        control.netdevAdd("hubport", "p3", Map.of("hubid", 0L), null);
        TestClients.Nic a = nicOn("p1", "e1000");
        TestClients.Nic b = nicOn("p2", "e1000");
        TestClients.Nic c = nicOn("p3", "e1000");
        ByteBuffer f = TestClients.frame(5, 6);
        a.send(f);
        assertArrayEquals(new byte[] {5, 6}, b.got.get(0));
        assertArrayEquals(new byte[] {5, 6}, c.got.get(0));
        assertEquals("hub 0\n \\ p3: e1000.2: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:58\n"
                + " \\ p2: e1000.1: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:57\n"
                + " \\ p1: e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56\n", control.infoNetwork());
    }
}
