package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.QemuVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The early QMP listener: greeting before the server exists, then the server taking over the sockets and the
 * greeted clients with their unread commands, against a fake machine.
 */
class EarlyQmpListenerTest {
    private static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
            + "\"major\": 7}, \"package\": \"jvmm 0.1.0\"}, \"capabilities\": [\"oob\"]}}";

    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;

    @BeforeEach
    void start() {
        loop = new IoLoop();
        machine = new FakeMachine(ActionSettings.defaults(), "foo",
                UUID.fromString("12345678-1234-1234-1234-123456789abc"));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        machine.lifecycle().close();
        loop.close();
    }

    private static QmpEndpoint endpoint(Path sock) {
        return QmpEndpoint.parseQmpOption("unix:" + sock + ",server=on,wait=off", 0);
    }

    @Test
    void theGreetingIsTheServersOwnByteForByte() {
        for (QemuVersion v : List.of(QemuVersion.JVMM, new QemuVersion(7, 2, 11, "Debian \"1:7.2\" \\ x"))) {
            Map<String, Object> qemu = new LinkedHashMap<>();
            qemu.put("micro", (long) v.micro());
            qemu.put("minor", (long) v.minor());
            qemu.put("major", (long) v.major());
            Map<String, Object> version = new LinkedHashMap<>();
            version.put("qemu", qemu);
            version.put("package", v.pkg());
            Map<String, Object> qmp = new LinkedHashMap<>();
            qmp.put("version", version);
            qmp.put("capabilities", List.of("oob"));
            assertArrayEquals(Json.encodeMessage(Map.of("QMP", qmp)), QmpGreeting.bytes(v), v.toString());
        }
    }

    /** Each way the early thread can accept: the JDK's channels (path sockets) and libc's. */
    private static EarlyQmpListener start(String way, List<QmpEndpoint> eps) {
        byte[] greeting = QmpGreeting.bytes(QemuVersion.JVMM);
        EarlyAcceptor a = way.equals("jdk") ? new JdkEarlyAcceptor(eps, greeting) : new NativeEarlyAcceptor(eps, greeting);
        return EarlyQmpListener.start(eps, a, () -> { });
    }

    @Test
    void pathSocketsTakeTheJdkWayWhereTheJdkExportsItsDescriptors() {
        Path sock = dir.resolve("way.sock");
        assertTrue(JdkEarlyAcceptor.available(List.of(endpoint(sock))), "surefire exports sun.nio.ch, as the jar does");
        assertFalse(JdkEarlyAcceptor.available(List.of(new QmpEndpoint(null, 3, false, "mon"))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "native"})
    void clientsGreetedEarlyAreAnsweredInOrderOnceTheServerTakesOver(String way) throws Exception {
        Path sock = dir.resolve("early.sock");
        EarlyQmpListener early = start(way, List.of(endpoint(sock)));
        assertTrue(early.awaitListening());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        // Bound under another name and renamed once listening: no file refused a connection or was open to
        // others meanwhile, and none is left beside the socket.
        try (var files = Files.list(dir)) {
            assertEquals(List.of(sock), files.toList(), way);
        }
        try (QmpClient a = new QmpClient(sock); QmpClient b = new QmpClient(sock)) {
            assertEquals(GREETING, a.readLine(5000));
            assertEquals(GREETING, b.readLine(5000));
            // Commands sent before there is a server wait in the socket, unanswered.
            a.send("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            a.send("{\"execute\":\"query-status\",\"id\":2}");
            b.send("{\"execute\":\"query-status\",\"id\":3}");
            assertNull(a.readLine(200));

            List<EarlyQmpListener.Listener> taken = early.handOver();
            assertEquals(1, taken.size());
            assertEquals(2, taken.get(0).clients().size());
            server = new QmpServer(machine, loop);
            server.adopt(taken);

            assertEquals(Map.of("return", Map.of(), "id", 1L), a.read(5000));
            Map<String, Object> status = a.read(5000);
            assertEquals(2L, status.get("id"));
            assertEquals("prelaunch", ((Map<?, ?>) status.get("return")).get("status"));
            Map<String, Object> refused = b.read(5000);
            assertEquals(3L, refused.get("id"));
            assertEquals("CommandNotFound", ((Map<?, ?>) refused.get("error")).get("class"));
            assertEquals(2, server.clientCount());
            // The greeting is not sent twice.
            assertNull(a.readLine(200));
        }
        // The server now owns the listening socket: a later client gets its greeting from the server.
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertNotNull(c.command("{\"execute\":\"query-status\"}").get("return"));
        }
        assertEquals(List.of("unix:" + sock + ",server=on"),
                server.monitorChardevs().stream().map(dev.jvmm.core.machine.ChardevInfo::filename).toList());
        early.close(); // after the hand-over: nothing left to close, the socket stays
        assertTrue(Files.exists(sock));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "native"})
    void closingBeforeTheHandOverEndsClientsAndRemovesTheSocketFile(String way) throws Exception {
        Path sock = dir.resolve("gone.sock");
        EarlyQmpListener early = start(way, List.of(endpoint(sock)));
        assertTrue(early.awaitListening());
        try (QmpClient a = new QmpClient(sock)) {
            assertEquals(GREETING, a.readLine(5000));
            early.close();
            assertNull(a.readLine(2000));
            assertTrue(a.eof, "the connection ends");
        }
        assertFalse(Files.exists(sock));
    }

    @Test
    void whatItCannotOpenIsLeftToTheUsualPath() throws Exception {
        // wait=on holds start-up for a client: the usual path does that.
        Path sock = dir.resolve("wait.sock");
        assertNull(EarlyQmpListener.start(List.of(QmpEndpoint.parseQmpOption("unix:" + sock + ",server=on", 0)),
                QemuVersion.JVMM, () -> { }));
        assertFalse(Files.exists(sock));
        // A descriptor that is no listening socket: the usual path reports it in its words.
        Path file = dir.resolve("plain");
        Files.writeString(file, "x");
        int fd = openFdOf(file);
        try {
            EarlyQmpListener refused = EarlyQmpListener.start(List.of(new QmpEndpoint(null, fd, false, "mon")),
                    QemuVersion.JVMM, () -> fail("not listening"));
            assertFalse(refused.awaitListening());
            assertThrows(IllegalStateException.class, refused::handOver);
            refused.close();
        } finally {
            dev.jvmm.core.os.LibC.close(fd);
        }
        // A path too long for sockaddr_un, next to one that works: nothing stays open.
        Path ok = dir.resolve("ok.sock");
        Path tooLong = dir.resolve("x".repeat(120));
        for (String way : List.of("jdk", "native")) {
            EarlyQmpListener half = start(way, List.of(endpoint(ok), endpoint(tooLong)));
            assertFalse(half.awaitListening(), way);
            assertFalse(Files.exists(ok), way);
        }
    }

    private static int openFdOf(Path file) throws IOException {
        return dev.jvmm.core.os.LibC.open(file.toString(), dev.jvmm.core.os.LibC.O_RDONLY
                | dev.jvmm.core.os.LibC.O_CLOEXEC, 0);
    }

    @Test
    void aGreetingTheSocketDidNotTakeIsFinishedByTheServer() throws Exception {
        // The remainder the early listener hands over is what the server sends first.
        Path sock = dir.resolve("rest.sock");
        EarlyQmpListener early = EarlyQmpListener.start(List.of(endpoint(sock)), QemuVersion.JVMM, () -> { });
        assertTrue(early.awaitListening());
        try (QmpClient a = new QmpClient(sock)) {
            assertEquals(GREETING, a.readLine(5000));
            List<EarlyQmpListener.Listener> taken = early.handOver();
            EarlyQmpListener.Client c = taken.get(0).clients().get(0);
            byte[] rest = "{\"QMP\": {}}\r\n".getBytes(StandardCharsets.UTF_8);
            server = new QmpServer(machine, loop);
            server.adopt(List.of(new EarlyQmpListener.Listener(taken.get(0).endpoint(), taken.get(0).fd(),
                    List.of(new EarlyQmpListener.Client(c.fd(), rest)))));
            assertEquals("{\"QMP\": {}}", a.readLine(5000));
        }
    }
}
