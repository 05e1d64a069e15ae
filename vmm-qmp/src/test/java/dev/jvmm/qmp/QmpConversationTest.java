package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole QMP conversations over a real UNIX socket against a fake machine. */
class QmpConversationTest {
    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;
    Path sock;

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine(ActionSettings.defaults(), "foo",
                UUID.fromString("12345678-1234-1234-1234-123456789abc"));
        server = new QmpServer(machine, loop);
        sock = dir.resolve("qmp.sock");
        server.listenUnix(sock, false);
    }

    @AfterEach
    void stop() {
        server.close();
        machine.lifecycle().close();
        loop.close();
    }

    static Map<?, ?> err(Map<String, Object> reply) {
        assertNotNull(reply, "no reply");
        assertTrue(reply.containsKey("error"), "expected error: " + reply);
        return (Map<?, ?>) reply.get("error");
    }

    static void assertError(Map<String, Object> reply, String cls, String desc) {
        Map<?, ?> e = err(reply);
        assertEquals(cls, e.get("class"));
        assertEquals(desc, e.get("desc"));
    }

    @Test
    void aClientThatStopsSendingStillGetsEveryReply() throws Exception {
        // What `printf ... | socat - UNIX-CONNECT:sock` does: all commands, then a half-close.
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.UnixDomainSocketAddress.of(sock))) {
            String commands = "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n"
                    + "{\"execute\":\"query-name\",\"id\":2}\n";
            ch.write(java.nio.ByteBuffer.wrap(commands.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(4096);
            while (ch.read(buf) > 0) {
                all.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            String[] lines = all.toString(java.nio.charset.StandardCharsets.UTF_8).split("\r\n");
            assertEquals(4, lines.length, String.join("|", lines));
            assertTrue(lines[2].startsWith("{\"return\": {\"status\": \"prelaunch\""), lines[2]);
            assertTrue(lines[3].contains("\"id\": 2"), lines[3]);
        }
    }

    @Test
    void greetingNegotiationAndIds() throws Exception {
        try (QmpClient c = new QmpClient(sock)) {
            String greeting = c.readLine(5000);
            assertEquals("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                    + "\"package\": \"jvmm 0.1.0\"}, \"capabilities\": [\"oob\"]}}", greeting);
            assertError(c.command("{\"execute\":\"query-status\"}"), "CommandNotFound",
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
            assertEquals(Map.of(), c.command("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}")
                    .get("return"));
            Map<String, Object> again = c.command("{\"execute\":\"qmp_capabilities\",\"id\":[1,{\"a\":2}]}");
            assertError(again, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
            assertEquals(List.of(1L, Map.of("a", 2L)), again.get("id"));
            Map<String, Object> st = c.command("{\"execute\":\"query-status\",\"id\":\"x\"}");
            assertEquals("x", st.get("id"));
            assertEquals(Map.of("status", "prelaunch", "singlestep", false, "running", false), st.get("return"));
            assertTrue(c.command("{\"execute\":\"query-status\",\"id\":null}").containsKey("id"));
        }
    }

    /**
     * Events raised while a client negotiates never overtake its qmp_capabilities reply: the first message
     * after the greeting is the reply, whatever the machine is publishing at that moment.
     */
    @Test
    void noEventOvertakesTheCapabilitiesReply() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean run = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread noise = new Thread(() -> {
            while (run.get()) {
                machine.events().publish(new dev.jvmm.core.event.VmEvent.Powerdown());
                java.util.concurrent.locks.LockSupport.parkNanos(20_000);
            }
        }, "event-noise");
        noise.start();
        try {
            for (int i = 0; i < 50; i++) {
                try (QmpClient c = new QmpClient(sock)) {
                    assertTrue(c.readLine(5000).contains("\"QMP\""), "greeting");
                    c.send("{\"execute\":\"qmp_capabilities\",\"id\":" + i + "}");
                    Map<String, Object> first = c.read(5000);
                    assertEquals(Map.of(), first.get("return"), "round " + i + ": " + first);
                    assertEquals(i, ((Number) first.get("id")).intValue(), "round " + i);
                    assertEquals("POWERDOWN", c.read(5000).get("event"), "events follow the reply");
                }
            }
        } finally {
            run.set(false);
            noise.join(5000);
        }
    }

    @Test
    void negotiationArgumentsChecked() throws Exception {
        try (QmpClient c = new QmpClient(sock)) {
            c.readLine(5000);
            assertError(c.command("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"bogus\"]}}"),
                    "GenericError", "Parameter 'enable[0]' does not accept value 'bogus'");
            assertEquals(Map.of(), c.command("{\"execute\":\"qmp_capabilities\"}").get("return"));
        }
    }

    @Test
    void lifecycleEventsInQemuOrder() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> cont = c.exchange("{\"execute\":\"cont\"}");
            assertEquals("RESUME", cont.get(0).get("event"));
            assertTrue(cont.get(1).containsKey("return"));
            Map<?, ?> ts = (Map<?, ?>) cont.get(0).get("timestamp");
            long now = System.currentTimeMillis() / 1000;
            assertTrue(Math.abs((Long) ts.get("seconds") - now) < 5);
            assertTrue((Long) ts.get("microseconds") < 1_000_000);
            assertEquals(1, c.exchange("{\"execute\":\"cont\"}").size(), "cont while running: no event");
            List<Map<String, Object>> stop = c.exchange("{\"execute\":\"stop\"}");
            assertEquals("STOP", stop.get(0).get("event"));
            assertEquals(1, c.exchange("{\"execute\":\"stop\"}").size(), "stop while paused: no event");
            List<Map<String, Object>> reset = c.exchange("{\"execute\":\"system_reset\"}");
            assertEquals("RESET", reset.get(0).get("event"));
            assertEquals(Map.of("guest", false, "reason", "host-qmp-system-reset"), reset.get(0).get("data"));
            assertEquals("prelaunch", status(c), "reset of a paused VM goes to prelaunch as in QEMU");
            List<Map<String, Object>> pd = c.exchange("{\"execute\":\"system_powerdown\"}");
            assertEquals("POWERDOWN", pd.get(0).get("event"));
            assertTrue(machine.calls.contains("powerbutton"));
            List<Map<String, Object>> quit = c.exchange("{\"execute\":\"quit\",\"id\":5}");
            assertEquals("SHUTDOWN", quit.get(0).get("event"));
            assertEquals(Map.of("guest", false, "reason", "host-qmp-quit"), quit.get(0).get("data"));
            assertEquals(5L, quit.get(1).get("id"));
            assertEquals(null, c.readLine(3000), "connection closes after quit");
            assertTrue(c.eof);
            machine.lifecycle().drainMainLoop();
            assertEquals(0, machine.exitStatus);
            // QEMU unlinks its QMP server socket on exit; libvirt and scripts rely on the file going away.
            assertFalse(java.nio.file.Files.exists(sock), "socket file removed on exit");
        }
    }

    @Test
    void noRebootNoShutdownSystemReset() throws Exception {
        machine.lifecycle().setActions(ActionSettings.defaults().applyOption("reboot=shutdown,shutdown=pause"));
        try (QmpClient c = QmpClient.negotiated(sock)) {
            c.command("{\"execute\":\"cont\"}");
            List<Map<String, Object>> r = c.exchange("{\"execute\":\"system_reset\"}");
            assertEquals("SHUTDOWN", r.get(0).get("event"));
            assertEquals(Map.of("guest", false, "reason", "host-qmp-system-reset"), r.get(0).get("data"));
            assertEquals("STOP", r.get(1).get("event"));
            assertEquals("shutdown", status(c));
            assertError(c.command("{\"execute\":\"cont\"}"), "GenericError", "Resetting the Virtual Machine is required");
        }
    }

    @Test
    void guestRequestsReachEveryClient() throws Exception {
        machine.lifecycle().setActions(ActionSettings.defaults().applyOption("reboot=shutdown,shutdown=pause"));
        try (QmpClient a = QmpClient.negotiated(sock); QmpClient b = QmpClient.negotiated(sock)) {
            a.command("{\"execute\":\"cont\"}");
            assertEquals("RESUME", b.read(5000).get("event"));
            machine.lifecycle().requestGuestReset();
            for (QmpClient c : List.of(a, b)) {
                Map<String, Object> sd = c.read(5000);
                assertEquals("SHUTDOWN", sd.get("event"));
                assertEquals(Map.of("guest", true, "reason", "guest-reset"), sd.get("data"));
                assertEquals("STOP", c.read(5000).get("event"));
            }
        }
    }

    @Test
    void queries() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals(Map.of("name", "foo"), c.command("{\"execute\":\"query-name\"}").get("return"));
            assertEquals(Map.of("UUID", "12345678-1234-1234-1234-123456789abc"),
                    c.command("{\"execute\":\"query-uuid\"}").get("return"));
            assertEquals(Map.of("enabled", true, "present", true), c.command("{\"execute\":\"query-kvm\"}").get("return"));
            assertEquals(Map.of("arch", "x86_64"), c.command("{\"execute\":\"query-target\"}").get("return"));
            assertEquals(QmpCommands.version(machine.version()), c.command("{\"execute\":\"query-version\"}").get("return"));
            List<?> cpus = (List<?>) c.command("{\"execute\":\"query-cpus-fast\"}").get("return");
            assertEquals(4242L, ((Map<?, ?>) cpus.get(0)).get("thread-id"));
            assertEquals(Map.of("core-id", 0L, "thread-id", 0L, "socket-id", 0L), ((Map<?, ?>) cpus.get(0)).get("props"));
            List<?> hp = (List<?>) c.command("{\"execute\":\"query-hotpluggable-cpus\"}").get("return");
            assertEquals(1L, ((Map<?, ?>) hp.get(0)).get("vcpus-count"));
            List<?> ch = (List<?>) c.command("{\"execute\":\"query-chardev\"}").get("return");
            assertEquals(Map.of("label", "compat_monitor0", "filename", "unix:" + sock + ",server=on",
                    "frontend-open", true), ch.get(0));
            assertEquals(List.of(), c.command("{\"execute\":\"query-iothreads\"}").get("return"));
            assertEquals(List.of(), c.command("{\"execute\":\"query-jobs\"}").get("return"));
            List<?> machines = (List<?>) c.command("{\"execute\":\"query-machines\"}").get("return");
            assertEquals("pc", ((Map<?, ?>) machines.get(0)).get("alias"));
            List<?> events = (List<?>) c.command("{\"execute\":\"query-events\"}").get("return");
            assertTrue(events.contains(Map.of("name", "SHUTDOWN")));
        }
    }

    @Test
    void introspectionMatchesDispatch() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<?> cmds = (List<?>) c.command("{\"execute\":\"query-commands\"}").get("return");
            List<?> schema = (List<?>) c.command("{\"execute\":\"query-qmp-schema\"}").get("return");
            for (Object o : cmds) {
                String name = (String) ((Map<?, ?>) o).get("name");
                assertTrue(schema.stream().anyMatch(s -> name.equals(((Map<?, ?>) s).get("name"))
                        && "command".equals(((Map<?, ?>) s).get("meta-type"))), name);
                // Every declared command is dispatched: none answers CommandNotFound.
                if (!name.equals("quit")) {
                    Map<String, Object> r = c.command("{\"execute\":\"" + name + "\",\"arguments\":{\"zz\":1}}");
                    // QEMU checks declared members first (tests/reference/ide/errors-qmp.txt: a missing 'id'
                    // wins over an unexpected 'device'), so a command with a required member says that.
                    @SuppressWarnings("unchecked")
                    Map<String, Object> err = (Map<String, Object>) r.get("error");
                    assertEquals("GenericError", err.get("class"), name);
                    String desc = (String) err.get("desc");
                    assertTrue(desc.equals("Parameter 'zz' is unexpected")
                            || desc.matches("Parameter '[a-z-]+' is missing"), name + ": " + desc);
                }
            }
            for (Object o : schema) {
                Map<?, ?> s = (Map<?, ?>) o;
                if ("command".equals(s.get("meta-type")) || "event".equals(s.get("meta-type"))) {
                    String argType = (String) s.get("arg-type");
                    assertTrue(schema.stream().anyMatch(t -> argType.equals(((Map<?, ?>) t).get("name"))), argType);
                }
            }
        }
    }

    @Test
    void argumentAndInputErrors() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertError(c.command("{\"execute\":\"nosuch\"}"), "CommandNotFound", "The command nosuch has not been found");
            assertError(c.command("{\"execute\":\"query-status\",\"arguments\":{\"x\":1}}"), "GenericError",
                    "Parameter 'x' is unexpected");
            assertError(c.command("{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"bogus\"}}"), "GenericError",
                    "Parameter 'reboot' does not accept value 'bogus'");
            assertError(c.command("{\"execute\":\"set-action\",\"arguments\":{\"reboot\":5}}"), "GenericError",
                    "Invalid parameter type for 'reboot', expected: string");
            assertError(c.command("{\"execute\":\"human-monitor-command\",\"arguments\":{}}"), "GenericError",
                    "Parameter 'command-line' is missing");
            assertError(c.command("{\"foo\":1}"), "GenericError", "QMP input member 'foo' is unexpected");
            assertError(c.command("[1,2]"), "GenericError", "QMP input must be a JSON object");
            assertError(c.command("\"abc\""), "GenericError", "QMP input must be a JSON object");
            assertError(c.command("{\"execute\":5}"), "GenericError", "QMP input member 'execute' must be a string");
            assertError(c.command("{\"execute\":\"query-status\",\"arguments\":[1]}"), "GenericError",
                    "QMP input member 'arguments' must be an object");
            assertError(c.command("{\"execute\":\"query-status\",\"arguments\":null}"), "GenericError",
                    "QMP input member 'arguments' must be an object");
            Map<String, Object> ctl = c.command("{\"execute\":\"query-status\",\"id\":1,\"control\":{}}");
            assertError(ctl, "GenericError", "QMP input member 'control' is unexpected");
            assertEquals(1L, ctl.get("id"));
            assertError(c.command("{\"exec-oob\":\"migrate-recover\",\"id\":2}"), "GenericError",
                    "QMP input member 'exec-oob' is unexpected");
            assertTrue(((String) err(c.command("{\"execute\":\"query-status\" xx}")).get("desc"))
                    .startsWith("JSON parse error"));
            assertEquals("prelaunch", status(c));
        }
    }

    @Test
    void watchdogSetActionAndHmpWatchdogAction() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals(Map.of(), c.command("{\"execute\":\"watchdog-set-action\",\"arguments\":"
                    + "{\"action\":\"inject-nmi\"}}").get("return"));
            assertEquals(ActionSettings.WatchdogAction.INJECT_NMI, machine.lifecycle().actions().watchdog());
            assertError(c.command("{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":\"x\"}}"),
                    "GenericError", "Parameter 'action' does not accept value 'x'");
            assertError(c.command("{\"execute\":\"watchdog-set-action\"}"), "GenericError",
                    "Parameter 'action' is missing");
            assertEquals("", hmp(c, "watchdog_action pause"));
            assertEquals(ActionSettings.WatchdogAction.PAUSE, machine.lifecycle().actions().watchdog());
            assertEquals("Error: invalid parameter value: x\r\n", hmp(c, "watchdog_action x"));
            assertEquals("watchdog_action: string expected\r\nTry \"help watchdog_action\" for more information\r\n",
                    hmp(c, "watchdog_action"));
            assertEquals(ActionSettings.WatchdogAction.PAUSE, machine.lifecycle().actions().watchdog());
        }
    }

    @Test
    void setActionAndHmp() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals(Map.of(), c.command("{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"shutdown\","
                    + "\"shutdown\":\"pause\",\"panic\":\"none\",\"watchdog\":\"debug\"}}").get("return"));
            assertEquals(new ActionSettings(ActionSettings.RebootAction.SHUTDOWN, ActionSettings.ShutdownAction.PAUSE,
                    ActionSettings.PanicAction.NONE, ActionSettings.WatchdogAction.DEBUG), machine.lifecycle().actions());
            assertEquals("VM status: paused (prelaunch)\r\n", hmp(c, "info status"));
            assertEquals("7.2.0jvmm 0.1.0\r\n", hmp(c, "info version"));
            assertTrue(hmp(c, "info registers").startsWith("\r\nCPU#0\r\nEAX=00000000"));
            assertEquals("unknown command: 'bogus'\r\n", hmp(c, "bogus"));
            c.command("{\"execute\":\"cont\"}");
            assertEquals("VM status: running\r\n", hmp(c, "info status"));
            assertEquals("", hmp(c, "stop"));
            assertEquals("VM status: paused\r\n", hmp(c, "info status"));
            assertEquals("", hmp(c, "cont"));
            assertEquals("VM status: running\r\n", hmp(c, "info status"));
            assertEquals("foo\r\n", hmp(c, "info name"));
            assertEquals("12345678-1234-1234-1234-123456789abc\r\n", hmp(c, "info uuid"));
            assertTrue(hmp(c, "info cpus").matches("\\* CPU #0: thread_id=-?\\d+\r\n(  CPU #\\d+: thread_id=-?\\d+\r\n)*"),
                    hmp(c, "info cpus"));
        }
    }

    @Test
    void socketModeAndStaleFile() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        Path stale = dir.resolve("stale.sock");
        Files.writeString(stale, "old");
        server.listenUnix(stale, false);
        try (QmpClient c = QmpClient.negotiated(stale); QmpClient d = QmpClient.negotiated(sock)) {
            c.command("{\"execute\":\"cont\"}");
            assertEquals("RESUME", d.read(5000).get("event"), "events reach clients of every socket");
        }
    }

    @Test
    void rateLimitedEventsLastValueWins() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            c.command("{\"execute\":\"cont\"}");
            machine.lifecycle().setActions(ActionSettings.defaults().applyOption("watchdog=none"));
            for (int i = 0; i < 5; i++) {
                machine.lifecycle().requestWatchdogExpiry();
            }
            machine.lifecycle().drainMainLoop();
            machine.lifecycle().setActions(ActionSettings.defaults().applyOption("watchdog=debug"));
            machine.lifecycle().requestWatchdogExpiry();
            Map<String, Object> first = c.read(5000);
            assertEquals(Map.of("action", "none"), first.get("data"));
            long t0 = System.nanoTime();
            Map<String, Object> second = c.read(5000);
            assertEquals(Map.of("action", "debug"), second.get("data"), "last value wins");
            assertTrue(System.nanoTime() - t0 > 500_000_000L, "held until the period ends");
            assertEquals(null, c.readLine(1500), "no more events");
        }
    }

    @Test
    void waitOnBlocksUntilAClientConnects() throws Exception {
        Path w = dir.resolve("wait.sock");
        java.util.concurrent.CompletableFuture<Void> listening = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                server.listenUnix(w, true);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long end = System.currentTimeMillis() + 5000;
        while (!Files.exists(w) && System.currentTimeMillis() < end) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        assertTrue(!listening.isDone(), "wait=on holds start-up");
        try (QmpClient c = QmpClient.negotiated(w)) {
            listening.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals("prelaunch", status(c));
        }
    }

    @Test
    void optionParsing() {
        QmpEndpoint a = QmpEndpoint.parseQmpOption("unix:/tmp/a.sock,server=on,wait=off", 0);
        assertEquals(new QmpEndpoint(Path.of("/tmp/a.sock"), -1, false, "compat_monitor0"), a);
        assertEquals(a, QmpEndpoint.parseQmpOption("unix:/tmp/a.sock,server,nowait", 0));
        assertTrue(QmpEndpoint.parseQmpOption("unix:/tmp/a.sock,server=on", 1).waitForClient());
        assertEquals(new QmpEndpoint(null, 3, false, "mon0"),
                QmpEndpoint.parseChardevOption("socket,id=mon0,fd=3,server=on,wait=off"));
        assertEquals("mon0", QmpEndpoint.parseMonOption("chardev=mon0,mode=control"));
        assertEquals("charmonitor", QmpEndpoint.parseMonOption("chardev=charmonitor,id=monitor,mode=control"));
        // QEMU's option syntax: a doubled comma is a comma inside a value.
        assertEquals(Path.of("/tmp/a,b.sock"), QmpEndpoint.parseQmpOption("unix:/tmp/a,,b.sock,server=on", 0).path());
        assertTrue(QmpEndpoint.isMonitorChardev("socket,id=mon0,path=/x,server=on", List.of("chardev=mon0,mode=control")));
        assertFalse(QmpEndpoint.isMonitorChardev("stdio,id=ser0", List.of("chardev=mon0,mode=control")));
        org.junit.jupiter.api.Assertions.assertThrows(dev.jvmm.core.config.OptionException.class,
                () -> QmpEndpoint.parseQmpOption("tcp:localhost:4444,server=on", 0));
        org.junit.jupiter.api.Assertions.assertThrows(dev.jvmm.core.config.OptionException.class,
                () -> QmpEndpoint.parseChardevOption("socket,id=x,path=/a,fd=3,server=on"));
        org.junit.jupiter.api.Assertions.assertThrows(dev.jvmm.core.config.OptionException.class,
                () -> QmpEndpoint.parseMonOption("chardev=mon0"));
    }

    @Test
    void inheritedListeningFd() throws Exception {
        Path p = dir.resolve("inherited.sock");
        io.netty.channel.epoll.LinuxSocket listening = io.netty.channel.epoll.LinuxSocket.newSocketDomain();
        listening.bind(new io.netty.channel.unix.DomainSocketAddress(p.toString()));
        listening.listen(16);
        server.listen(QmpEndpoint.parseChardevOption("socket,id=mon0,fd=" + listening.intValue()
                + ",server=on,wait=off"));
        try (QmpClient c = QmpClient.negotiated(p)) {
            assertEquals("prelaunch", status(c));
            List<?> ch = (List<?>) c.command("{\"execute\":\"query-chardev\"}").get("return");
            assertTrue(ch.stream().anyMatch(x -> "mon0".equals(((Map<?, ?>) x).get("label"))), ch.toString());
            // QEMU names the inherited socket by its bound path, as it does libvirt's monitor.sock.
            assertTrue(ch.stream().anyMatch(x -> ("unix:" + p + ",server=on").equals(((Map<?, ?>) x)
                    .get("filename"))), ch.toString());
        }
    }

    @Test
    void commandLineEndpoints() {
        List<QmpEndpoint> eps = QmpEndpoint.fromCommandLine(List.of("unix:/tmp/a,server=on,wait=off"),
                List.of("stdio,id=ser0", "socket,id=mon0,path=/tmp/b,server=on,wait=off"),
                List.of("chardev=mon0,mode=control"));
        assertEquals(List.of(new QmpEndpoint(Path.of("/tmp/a"), -1, false, "compat_monitor0"),
                new QmpEndpoint(Path.of("/tmp/b"), -1, false, "mon0")), eps);
        org.junit.jupiter.api.Assertions.assertThrows(dev.jvmm.core.config.OptionException.class,
                () -> QmpEndpoint.fromCommandLine(List.of(), List.of(), List.of("chardev=nope,mode=control")));
    }

    @Test
    void oobNegotiatedSession() throws Exception {
        try (QmpClient c = new QmpClient(sock)) {
            c.readLine(5000);
            c.command("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}");
            assertError(c.command("{\"exec-oob\":\"query-status\",\"id\":2}"), "GenericError",
                    "The command query-status does not support OOB");
            assertError(c.command("{\"exec-oob\":\"query-status\",\"execute\":\"query-status\"}"),
                    "GenericError", "QMP input member 'execute' clashes with 'exec-oob'");
            assertError(c.command("{\"id\":3}"), "GenericError", "QMP input lacks member 'execute'");
            assertError(c.command("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                    + "\"info registers\",\"cpu-index\":5}}"), "GenericError",
                    "Parameter 'cpu-index' expects a CPU number");
        }
    }

    static String status(QmpClient c) throws Exception {
        return (String) ((Map<?, ?>) c.command("{\"execute\":\"query-status\"}").get("return")).get("status");
    }

    static String hmp(QmpClient c, String cmd) throws Exception {
        return (String) c.command("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"" + cmd
                + "\"}}").get("return");
    }
}
