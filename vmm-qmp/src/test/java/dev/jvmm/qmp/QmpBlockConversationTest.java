package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockBackend.ErrorAction;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.loop.IoLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Block commands and the io-error stop over a real QMP socket, in the order QEMU 7.2 shows them. */
class QmpBlockConversationTest {
    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;
    Path sock;
    Drive drive;

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine();
        Path img = dir.resolve("img.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        BlockGraph g = new BlockGraph(machine.events(), machine.mainLoop(),
                machine.lifecycle()::requestIoErrorStop, BlockImageFactory.DEFAULT);
        g.addDrive("file=" + img + ",format=raw,if=none,id=d0,node-name=n0,rerror=stop");
        drive = g.attach("d0", "/machine/peripheral/vblk0/virtio-backend", "virtio-blk-device.drive");
        machine.blockGraph = g;
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

    static String event(Map<String, Object> m) {
        return (String) m.get("event");
    }

    @Test
    void readErrorStopsTheVmAndContRetries() throws Exception {
        AtomicInteger retries = new AtomicInteger();
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals("RESUME", event(c.exchange("{\"execute\":\"cont\"}").get(0)));
            drive.setRetryHandler(() -> {
                retries.incrementAndGet();
                // the kept request fails again, as with a blkdebug rule that always fires
                drive.handleError(true, new IOException("Input/output error"));
            });
            machine.mainLoop().execute(() -> assertEquals(ErrorAction.STOP,
                    drive.handleError(true, new IOException("No space left on device"))));
            Map<String, Object> err = c.read(2000);
            assertEquals("BLOCK_IO_ERROR", event(err));
            assertEquals("{\"device\": \"d0\", \"nospace\": true, \"node-name\": \"n0\", \"reason\": "
                    + "\"No space left on device\", \"operation\": \"read\", \"action\": \"stop\"}",
                    Json.toString(err.get("data")));
            assertEquals("STOP", event(c.read(2000)));
            assertEquals(Map.of("status", "io-error", "singlestep", false, "running", false),
                    c.command("{\"execute\":\"query-status\"}").get("return"));
            Map<?, ?> info = (Map<?, ?>) ((List<?>) c.command("{\"execute\":\"query-block\"}").get("return")).get(0);
            assertEquals("nospace", info.get("io-status"));

            List<Map<String, Object>> msgs = c.exchange("{\"execute\":\"cont\"}");
            assertEquals("RESUME", event(msgs.get(0)));
            Map<String, Object> again = c.read(2000);
            assertEquals("BLOCK_IO_ERROR", event(again));
            assertEquals(false, ((Map<?, ?>) again.get("data")).get("nospace"));
            assertEquals("STOP", event(c.read(2000)));
            assertEquals(1, retries.get());
            info = (Map<?, ?>) ((List<?>) c.command("{\"execute\":\"query-block\"}").get("return")).get(0);
            assertEquals("failed", info.get("io-status"), "cont reset io-status, the retry set it again");
        }
    }

    @Test
    void blockResizeAndItsErrors() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            QmpConversationTest.assertError(c.command("{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"d0\"}}"),
                    "GenericError", "Parameter 'size' is missing");
            QmpConversationTest.assertError(c.command(
                    "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"nosuch\",\"size\":1048576}}"),
                    "GenericError", "Cannot find device='nosuch' nor node-name=''");
            QmpConversationTest.assertError(c.command(
                    "{\"execute\":\"block_resize\",\"arguments\":{\"node-name\":\"nosuch\",\"size\":1048576}}"),
                    "GenericError", "Cannot find device='' nor node-name='nosuch'");
            QmpConversationTest.assertError(c.command(
                    "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"d0\",\"size\":-1}}"),
                    "GenericError", "Parameter 'size' expects a >0 size");
            QmpConversationTest.assertError(c.command(
                    "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"d0\",\"size\":1,\"bogus\":1}}"),
                    "GenericError", "Parameter 'bogus' is unexpected");
        }
    }

    @Test
    void queriesAreIntrospected() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<?> cmds = (List<?>) c.command("{\"execute\":\"query-commands\"}").get("return");
            for (String n : List.of("query-block", "query-blockstats", "query-named-block-nodes", "block_resize")) {
                assertTrue(cmds.contains(Map.of("name", n)), n);
            }
            List<?> events = (List<?>) c.command("{\"execute\":\"query-events\"}").get("return");
            assertTrue(events.contains(Map.of("name", "BLOCK_IO_ERROR")));
            List<?> stats = (List<?>) c.command("{\"execute\":\"query-blockstats\",\"arguments\":{\"query-nodes\":true}}")
                    .get("return");
            assertEquals(2, stats.size());
            List<?> nodes = (List<?>) c.command("{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}")
                    .get("return");
            assertEquals("n0", ((Map<?, ?>) nodes.get(0)).get("node-name"));
        }
    }
}
