package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile clients: after each, jvmm answers the next well-formed command and the guest keeps running. */
class QmpRobustnessTest {
    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;
    Path sock;

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine();
        server = new QmpServer(machine, loop);
        sock = dir.resolve("qmp.sock");
        server.listenUnix(sock, false);
        try (QmpClient c = QmpClient.negotiated(sock)) {
            c.command("{\"execute\":\"cont\"}");
        }
    }

    @AfterEach
    void stop() {
        server.close();
        machine.lifecycle().close();
        loop.close();
    }

    void assertStillServing(QmpClient c) throws Exception {
        c.send("{\"execute\":\"query-status\",\"id\":\"probe\"}");
        // Events published just before (a backlog of thousands on a loaded machine) may come first.
        Map<String, Object> r = null;
        long end = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < end) {
            Map<String, Object> m = c.read(1000);
            if (m != null && (m.containsKey("return") || m.containsKey("error"))) {
                r = m;
                break;
            }
        }
        assertNotNull(r, "no answer");
        assertEquals("probe", r.get("id"));
        assertEquals("running", ((Map<?, ?>) r.get("return")).get("status"));
    }

    @Test
    void randomBytes() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            Random rnd = new Random(42);
            byte[] junk = new byte[256 * 1024];
            rnd.nextBytes(junk);
            c.sendRaw(junk);
            // Close any open string/structure state, then a newline resynchronises.
            c.sendRaw("\"}]}]}\n\n".getBytes(StandardCharsets.US_ASCII));
            // Errors may come first; find the probe's reply.
            c.send("{\"execute\":\"query-status\",\"id\":\"probe\"}");
            Map<String, Object> m;
            do {
                m = c.read(10000);
                assertNotNull(m);
            } while (!"probe".equals(m.get("id")));
            assertStillServing(c);
        }
    }

    @Test
    void twentyMiBLine() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            byte[] big = new byte[20 << 20];
            Arrays.fill(big, (byte) 'a');
            String head = "{\"execute\":\"query-status\",\"id\":\"";
            System.arraycopy(head.getBytes(StandardCharsets.US_ASCII), 0, big, 0, head.length());
            big[big.length - 3] = '"';
            big[big.length - 2] = '}';
            big[big.length - 1] = '\n';
            c.sendRaw(big);
            Map<String, Object> r = c.read(20000);
            assertNotNull(r);
            assertTrue(r.containsKey("return") || r.containsKey("error"));
            assertStillServing(c);
        }
    }

    @Test
    void deepNesting() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            String deep = "[".repeat(100_000) + "]".repeat(100_000);
            c.send(deep);
            Map<String, Object> r = c.read(10000);
            assertEquals("GenericError", ((Map<?, ?>) r.get("error")).get("class"));
            assertStillServing(c);
        }
    }

    @Test
    void disconnectMidCommand() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                ch.write(ByteBuffer.wrap("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-qmp-schema\"}\n{\"exec"
                        .getBytes(StandardCharsets.US_ASCII)));
            }
        }
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertStillServing(c);
        }
    }

    @Test
    void hundredClientsAtOnce() throws Exception {
        List<QmpClient> cs = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) {
                cs.add(new QmpClient(sock));
            }
            for (QmpClient c : cs) {
                assertTrue(c.readLine(5000).startsWith("{\"QMP\""));
                c.send("{\"execute\":\"qmp_capabilities\"}");
            }
            for (QmpClient c : cs) {
                assertEquals(Map.of(), c.read(5000).get("return"));
            }
            cs.get(0).command("{\"execute\":\"stop\"}");
            for (QmpClient c : cs.subList(1, cs.size())) {
                assertEquals("STOP", c.read(5000).get("event"), "every client gets events");
            }
            cs.get(0).command("{\"execute\":\"cont\"}");
            assertStillServing(cs.get(99));
        } finally {
            for (QmpClient c : cs) {
                c.close();
            }
        }
    }

    @Test
    void clientThatNeverReadsIsDroppedAndPublisherNeverBlocks() throws Exception {
        try (SocketChannel stuck = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            stuck.write(ByteBuffer.wrap("{\"execute\":\"qmp_capabilities\"}\n".getBytes(StandardCharsets.US_ASCII)));
            Thread.sleep(200);
            long t0 = System.nanoTime();
            // Publish far more than the client's socket and our high-water mark can hold.
            for (int i = 0; i < 200_000; i++) {
                machine.events().publish(new dev.jvmm.core.event.VmEvent.Powerdown());
            }
            long publishMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(publishMs < 20_000, "publishing must not block: " + publishMs + " ms");
            long end = System.currentTimeMillis() + 10_000;
            while (server.clientCount() > 0 && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
            assertEquals(0, server.clientCount(), "the stuck client was disconnected");
        }
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertStillServing(c);
        }
    }

    @Test
    void splitAndMultipleMessagesPerRead() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            c.sendRaw("{\"execute\":\"query-st".getBytes(StandardCharsets.US_ASCII));
            Thread.sleep(50);
            c.sendRaw("atus\",\"id\":1}{\"execute\":\"query-kvm\",\"id\":2}\n{\"execute\":\"query-status\"}}\n"
                    .getBytes(StandardCharsets.US_ASCII));
            Map<String, Object> first = c.read(5000);
            assertEquals(1L, first.get("id"), String.valueOf(first));
            assertEquals(2L, c.read(5000).get("id"));
            assertTrue(c.read(5000).containsKey("return"));
            assertTrue(c.read(5000).containsKey("error"), "the stray } is an error");
            assertStillServing(c);
        }
    }
}
