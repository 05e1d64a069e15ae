package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevArgs;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetworkReport;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -netdev, -nic and -net read as QEMU 7.2 reads them, and built into net clients without a machine. */
class NetOptionsTest {
    private final NetClients net = new NetClients();
    private final NetdevContext ctx = new NetdevContext() {
        @Override
        public EventBus events() {
            return new EventBus();
        }

        @Override
        public int fd(String nameOrNumber) throws NetdevException {
            return NetFds.parse(nameOrNumber);
        }

        @Override
        public NetClients net() {
            return net;
        }
    };

    private List<NetOptions.Nic> build(String... args) {
        return CliArgs.config(args).net().build(net, ctx, false);
    }

    private String buildError(String... args) {
        return assertThrows(OptionException.class, () -> build(args)).formatted();
    }

    @Test
    void textBecomesTypeIdAndArguments() {
        NetdevArgs.Parsed p = NetdevArgs.parse("user,id=u,hostfwd=tcp::1-:2,hostfwd=udp::3-:4,restrict=on,x=a,,b");
        assertEquals("user", p.type());
        assertEquals("u", p.id());
        assertEquals(Map.of("hostfwd", List.of("tcp::1-:2", "udp::3-:4"), "restrict", "on", "x", "a,b"), p.args());
        NetdevArgs.Parsed s = NetdevArgs.parse("stream,id=s,server=on,addr.type=inet,addr.host=localhost,"
                + "addr.port=1234");
        assertEquals(Map.of("server", "on", "addr", Map.of("type", "inet", "host", "localhost", "port", "1234")),
                s.args());
        assertEquals("dgram", NetdevArgs.parse("type=dgram,id=d,local.type=unix,local.path=/x").type());
        assertNull(NetdevArgs.parse("id=x").type());
    }

    @Test
    void jsonNetdevAsLibvirtWritesIt() {
        NetdevArgs.Parsed p = NetdevArgs.parse("{\"type\":\"hubport\",\"id\":\"h\",\"hubid\":2}");
        assertEquals("hubport", p.type());
        assertEquals("h", p.id());
        assertEquals(Map.of("hubid", 2L), p.args());
        assertTrue(p.json());
        build("-netdev", "{\"type\":\"hubport\",\"id\":\"h\",\"hubid\":2}");
        assertEquals("hub 2\n \\ h\n", NetworkReport.infoNetwork(net));
        assertEquals("-netdev {\"type\":\"hubport\",\"id\":\"x\",\"hubid\":2,\"foo\":1}: Parameter 'foo' is unexpected",
                buildError("-netdev", "{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":2,\"foo\":1}"));
        assertEquals("-netdev {\"type\":\"hubport\",\"id\":\"x\",\"hubid\":\"2\"}: Invalid parameter type for 'hubid', "
                + "expected: integer", buildError("-netdev", "{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":\"2\"}"));
        assertEquals("-netdev {\"type\":\"hubport\",\"id\":\"x\": JSON parse error, premature EOI",
                CliArgs.error("-netdev", "{\"type\":\"hubport\",\"id\":\"x\""));
    }

    @Test
    void duplicateIdsWithinAnOptionAreRefusedWhileReading() {
        assertEquals("-netdev hubport,id=a,hubid=1: Duplicate ID 'a' for netdev", CliArgs.error("-netdev",
                "hubport,id=a,hubid=0", "-netdev", "hubport,id=a,hubid=1"));
        assertEquals("-nic hubport,id=a,hubid=1: Duplicate ID 'a' for nic", CliArgs.error("-nic",
                "hubport,id=a,hubid=0", "-nic", "hubport,id=a,hubid=1"));
        assertEquals("-net user,id=x: Duplicate ID 'x' for net", CliArgs.error("-net", "user,id=x", "-net",
                "user,id=x"));
    }

    @Test
    void defaultNetworkOnlyWithoutNetOptionsAndDefaults() {
        assertTrue(CliArgs.config().net().defaultNet());
        assertFalse(CliArgs.config("-nodefaults").net().defaultNet());
        assertFalse(CliArgs.config("-nic", "none").net().defaultNet());
        assertFalse(CliArgs.config("-net", "none").net().defaultNet());
        assertFalse(CliArgs.config("-netdev", "hubport,id=h,hubid=0").net().defaultNet());
        assertEquals(List.of("nic", "user"), CliArgs.config().net().legacyNets(true));
        assertEquals(List.of(), CliArgs.config().net().legacyNets(false));
    }

    @Test
    void netdevErrorsAreQemus() {
        assertEquals("-netdev hubport: Parameter 'id' is missing", buildError("-netdev", "hubport"));
        assertEquals("-netdev hubport,id=h0: Parameter 'hubid' is missing", buildError("-netdev", "hubport,id=h0"));
        assertEquals("-netdev foo,id=h0: Parameter 'type' does not accept value 'foo'",
                buildError("-netdev", "foo,id=h0"));
        assertEquals("-netdev hubport,id=h0,hubid=0,foo=1: Invalid parameter 'foo'",
                buildError("-netdev", "hubport,id=h0,hubid=0,foo=1"));
        assertEquals("-netdev hubport,id=h0,hubid=x: Parameter 'hubid' expects an int64 value",
                buildError("-netdev", "hubport,id=h0,hubid=x"));
        assertEquals("-netdev hubport,id=h0,hubid=0,netdev=zz: netdev 'zz' not found",
                buildError("-netdev", "hubport,id=h0,hubid=0,netdev=zz"));
        assertEquals("-net hubport,hubid=1: network backend 'hubport' is only supported with -netdev/-nic",
                buildError("-net", "hubport,hubid=1"));
        assertEquals("-net foo: Parameter 'type' does not accept value 'foo'", buildError("-net", "foo"));
        assertEquals("-nic foo: Parameter 'type' does not accept value 'foo'", buildError("-nic", "foo"));
        assertEquals("-net nic,name=n1: Invalid parameter 'name'", buildError("-net", "nic,name=n1"));
        assertEquals("-net nic,macaddr=zz: invalid syntax for ethernet address", buildError("-net", "nic,macaddr=zz"));
        assertEquals("-net nic,macaddr=01:00:00:00:00:00: NIC cannot have multicast MAC address (odd 1st byte)",
                buildError("-net", "nic,macaddr=01:00:00:00:00:00"));
        assertEquals("-nic hubport,hubid=0,mac=01:00:00:00:00:00: NIC cannot have multicast MAC address",
                buildError("-nic", "hubport,hubid=0,mac=01:00:00:00:00:00"));
        assertEquals("-net nic,netdev=nope: netdev 'nope' not found", buildError("-net", "nic,netdev=nope"));
        assertEquals("-net nic,vectors=x: Parameter 'vectors' expects a uint64 value",
                buildError("-net", "nic,vectors=x"));
        assertEquals("-nic hubport,id=a,hubid=1: Duplicate ID 'a'",
                buildError("-netdev", "hubport,id=a,hubid=0", "-nic", "hubport,id=a,hubid=1"));
    }

    @Test
    void legacyNicsJoinHubZeroInQemusOrder() {
        List<NetOptions.Nic> nics = build("-net", "nic", "-net", "nic,model=virtio-net-pci", "-nic",
                "hubport,hubid=3,id=n3");
        assertEquals(3, nics.size());
        // -nic first (its slot and MAC), then the -net NICs
        assertEquals(new NetOptions.Nic(null, nics.get(0).mac(), "n3", null, null, null), nics.get(0));
        assertEquals("52:54:00:12:34:56", nics.get(0).mac().toString());
        assertEquals("hub0port0", nics.get(1).netdev());
        assertEquals("52:54:00:12:34:57", nics.get(1).mac().toString());
        assertEquals("e1000", nics.get(1).device());
        assertEquals("virtio-net-pci", nics.get(2).device());
        assertEquals("hub0port1", nics.get(2).netdev());
        assertEquals(Map.of("mac", "52:54:00:12:34:58", "netdev", "hub0port1"), nics.get(2).properties());
        assertEquals("hub 0\n \\ hub0port1\n \\ hub0port0\nhub 3\n \\ n3\n", NetworkReport.infoNetwork(net));
    }

    @Test
    void netdevHubportsAndNicOnAGivenNetdev() {
        List<NetOptions.Nic> nics = build("-net", "nic,netdev=hh,macaddr=52:54:00:00:00:09,addr=05,vectors=3,id=n",
                "-netdev", "hubport,id=hh,hubid=1");
        assertEquals(List.of(new NetOptions.Nic(null, nics.get(0).mac(), "hh", "05", "3", "n")), nics);
        assertEquals("requested NIC (n, model unspecified) was not created (not supported by this machine?)",
                nics.get(0).notCreatedWarning());
        assertEquals(Map.of("addr", "05", "mac", "52:54:00:00:00:09", "netdev", "hh", "vectors", "3"),
                nics.get(0).properties());
        assertEquals("virtio-net-pci", new NetOptions.Nic("virtio", null, null, null, null, null).device());
    }

    @Test
    void noneCreatesNothing() {
        assertEquals(List.of(), build("-nic", "none"));
        assertEquals(List.of(), build("-net", "none"));
        assertEquals("", NetworkReport.infoNetwork(net));
    }

    @Test
    void nineNicsAreTooMany() {
        String[] args = new String[18];
        for (int i = 0; i < 9; i++) {
            args[2 * i] = "-nic";
            args[2 * i + 1] = "hubport,hubid=" + i;
        }
        assertEquals("-nic hubport,hubid=8: no more on-board/default NIC slots available", buildError(args));
    }

    @Test
    void helpTexts() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = Main.run(new String[] {"-netdev", "help"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, rc);
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Available netdev backend types:\n"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("\nhubport\n"));
        out.reset();
        rc = Main.run(new String[] {"-net", "nic,model=help"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, rc);
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Supported NIC models:\n"));
        assertTrue(NetOptions.netdevHelp("help,id=x"));
        assertFalse(NetOptions.netdevHelp("user,id=help"));
    }

    @Test
    void inheritedFdNumbersOnly() throws Exception {
        assertEquals(5, NetFds.parse("5"));
        assertEquals("Invalid file descriptor number 'tapfd'",
                assertThrows(NetdevException.class, () -> NetFds.parse("tapfd")).getMessage());
    }
}
