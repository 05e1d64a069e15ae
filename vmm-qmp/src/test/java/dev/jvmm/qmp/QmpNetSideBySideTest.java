package dev.jvmm.qmp;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.net.MachineNet;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevArgs;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The network commands against QEMU 7.2 with hub ports only (no NIC, no host backend): -M none under QEMU,
 * jvmm's QMP server over a {@link MachineNet} with the same -netdev hubport options. Every reply must be the
 * same, text included, and query-qmp-schema must describe the commands as QEMU's does (compared by structure,
 * the opaque type names resolved).
 */
class QmpNetSideBySideTest {
    private static final List<String> NETDEVS = List.of("hubport,id=h0,hubid=0", "hubport,id=h1,hubid=0",
            "hubport,id=h2,hubid=3");
    private static final List<String> NET_COMMANDS = List.of("netdev_add", "netdev_del", "set_link",
            "query-rx-filter", "announce-self", "NIC_RX_FILTER_CHANGED", "FAILOVER_NEGOTIATED",
            "NETDEV_STREAM_CONNECTED", "NETDEV_STREAM_DISCONNECTED");

    /** No command here is followed by an event, so a short look for one after each reply is enough. */
    private static final int EVENT_WAIT_MS = 50;

    static final List<String> CONVERSATION = List.of(
            "{\"execute\":\"qmp_capabilities\"}",
            hmp("info network"),
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"h0\",\"hubid\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"foo\",\"id\":\"x\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":\"1\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":1,\"foo\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"hubid\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"y\",\"hubid\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":1,\"netdev\":\"no\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":1,\"netdev\":\"h2\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"x2\",\"hubid\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"nic\",\"id\":\"n1\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"none\",\"id\":\"n1\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"1bad\",\"hubid\":1}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"stream\",\"id\":\"s\"}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"stream\",\"id\":\"s\",\"addr\":{\"type\":\"inet\"}}}",
            "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"stream\",\"id\":\"s\",\"addr\":{\"type\":\"x\"}}}",
            hmp("info network"),
            "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"nope\"}}",
            "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"x2\"}}",
            "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"x2\"}}",
            "{\"execute\":\"netdev_del\"}",
            "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"nope\",\"up\":false}}",
            "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"h0\",\"up\":false}}",
            "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"h0\",\"up\":\"no\"}}",
            "{\"execute\":\"query-rx-filter\"}",
            "{\"execute\":\"query-rx-filter\",\"arguments\":{\"name\":\"h0\"}}",
            "{\"execute\":\"query-rx-filter\",\"arguments\":{\"name\":\"zz\"}}",
            "{\"execute\":\"announce-self\",\"arguments\":{\"initial\":50,\"max\":550,\"rounds\":5,\"step\":50}}",
            "{\"execute\":\"announce-self\",\"arguments\":{\"initial\":50,\"max\":550,\"rounds\":5,\"step\":50,"
                    + "\"interfaces\":[\"zz\"],\"id\":\"a\"}}",
            "{\"execute\":\"announce-self\"}",
            hmp("info network"),
            hmp("hostfwd_add"),
            hmp("hostfwd_add tcp::5555-:22"),
            hmp("hostfwd_add nope tcp::5555-:22"),
            hmp("hostfwd_add h0 tcp::5555-:22"),
            hmp("hostfwd_remove tcp::5555"),
            hmp("netdev_add hubport,id=hp,hubid=2"),
            hmp("netdev_add foo,id=hq"),
            hmp("netdev_add hubport,id=hq,hubid=2,foo=1"),
            hmp("netdev_add hubport,id=hq"),
            hmp("netdev_add"),
            hmp("netdev_add hubport"),
            hmp("netdev_add hubport,id=a,hubid=3,netdev=h1"),
            hmp("info network"),
            hmp("netdev_del hp"),
            hmp("netdev_del hp"),
            hmp("netdev_del"),
            hmp("set_link hp off"),
            hmp("set_link h1 off"),
            hmp("set_link h1 maybe"),
            hmp("set_link h1"),
            hmp("set_link"),
            hmp("info network"));

    @TempDir
    Path dir;

    static String hmp(String line) {
        return "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"" + line + "\"}}";
    }

    @Test
    void sameRepliesAsQemu() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 missing: side by side skipped");
        List<String> conv = new ArrayList<>(CONVERSATION);
        conv.add("{\"execute\":\"query-qmp-schema\"}");
        List<List<Map<String, Object>>> q = qemu(conv);
        List<List<Map<String, Object>>> j = jvmm(conv);
        assertEquals(q.size(), j.size());
        for (int i = 1; i < q.size() - 1; i++) {
            assertEquals(reply(q.get(i)), reply(j.get(i)), conv.get(i - 1));
        }
        List<?> qs = (List<?>) reply(q.get(q.size() - 1)).get("return");
        List<?> js = (List<?>) reply(j.get(j.size() - 1)).get("return");
        for (String name : NET_COMMANDS) {
            assertEquals(expand(qs, name), expand(js, name), "query-qmp-schema for " + name);
        }
    }

    private static Map<String, Object> reply(List<Map<String, Object>> msgs) {
        for (Map<String, Object> m : msgs) {
            if (m.containsKey("return") || m.containsKey("error")) {
                return m;
            }
        }
        return Map.of("none", msgs);
    }

    private List<List<Map<String, Object>>> qemu(List<String> conv) throws Exception {
        Path sock = dir.resolve("q.sock");
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-M", "none", "-nodefaults", "-display",
                "none", "-S"));
        for (String n : NETDEVS) {
            cmd.add("-netdev");
            cmd.add(n);
        }
        cmd.addAll(List.of("-qmp", "unix:" + sock + ",server=on,wait=off"));
        Process p = QemuSideBySideTest.startProcess(cmd, sock);
        try {
            return QemuSideBySideTest.converse(sock, conv, EVENT_WAIT_MS);
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private List<List<Map<String, Object>>> jvmm(List<String> conv) throws Exception {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        FakeMachine fake = new FakeMachine(ActionSettings.defaults(), null, null);
        NetClients clients = new NetClients();
        NetdevContext ctx = new NetdevContext() {
            @Override
            public EventBus events() {
                return fake.lifecycle().events();
            }

            @Override
            public int fd(String nameOrNumber) throws NetdevException {
                throw new NetdevException("no fds");
            }

            @Override
            public NetClients net() {
                return clients;
            }
        };
        for (String n : NETDEVS) {
            clients.create(NetdevArgs.parse(n).options(), ctx, true);
        }
        MachineNet net = new MachineNet(clients, ctx, timers);
        MachineControl m = new MachineControl() {
            @Override
            public LifecycleController lifecycle() {
                return fake.lifecycle();
            }

            @Override
            public MachineInfo info() {
                return fake.info();
            }

            @Override
            public NetControl net() {
                return net;
            }
        };
        try (IoLoop loop = new IoLoop()) {
            QmpServer server = new QmpServer(m, loop);
            Path sock = dir.resolve("j.sock");
            server.listenUnix(sock, false);
            List<List<Map<String, Object>>> out = QemuSideBySideTest.converse(sock, conv, EVENT_WAIT_MS);
            server.close();
            fake.lifecycle().close();
            return out;
        } finally {
            net.close();
            timers.shutdownNow();
        }
    }

    /** A schema entry with every type name replaced by the type's own expansion (opaque numbers dropped). */
    static Object expand(List<?> schema, String name) {
        Map<String, Map<?, ?>> byName = new LinkedHashMap<>();
        for (Object o : schema) {
            Map<?, ?> e = (Map<?, ?>) o;
            byName.put((String) e.get("name"), e);
        }
        return expand(byName, name, 0);
    }

    private static Object expand(Map<String, Map<?, ?>> byName, String name, int depth) {
        Map<?, ?> e = byName.get(name);
        if (e == null || depth > 8) {
            return name;
        }
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<?, ?> kv : e.entrySet()) {
            String k = (String) kv.getKey();
            Object v = kv.getValue();
            switch (k) {
                case "name" -> out.put(k, name.matches("\\d+|\\[\\d+\\]") ? "#" : name);
                case "arg-type", "ret-type", "element-type" -> out.put(k, expand(byName, (String) v, depth + 1));
                case "members" -> {
                    List<Object> ms = new ArrayList<>();
                    for (Object mo : (List<?>) v) {
                        Map<String, Object> mm = new TreeMap<>();
                        for (Map.Entry<?, ?> mkv : ((Map<?, ?>) mo).entrySet()) {
                            mm.put((String) mkv.getKey(), mkv.getKey().equals("type")
                                    ? expand(byName, (String) mkv.getValue(), depth + 1) : mkv.getValue());
                        }
                        ms.add(mm);
                    }
                    out.put(k, ms);
                }
                case "variants" -> {
                    List<Object> vs = new ArrayList<>();
                    for (Object vo : (List<?>) v) {
                        Map<?, ?> vm = (Map<?, ?>) vo;
                        vs.add(List.of(vm.get("case"), expand(byName, (String) vm.get("type"), depth + 1)));
                    }
                    out.put(k, vs);
                }
                default -> out.put(k, v);
            }
        }
        return out;
    }
}
