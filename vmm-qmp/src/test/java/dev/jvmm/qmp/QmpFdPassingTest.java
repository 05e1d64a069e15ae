package dev.jvmm.qmp;

import dev.jvmm.core.fd.UnixMessages;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SCM_RIGHTS over the real QMP server: the descriptors a client sends reach getfd and add-fd (the server runs
 * in this process, so the numbers add-fd answers can be looked at), also from a half-closed client.
 */
class QmpFdPassingTest {
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

    private static int fdOf(String addFdReply) {
        Matcher m = Pattern.compile("\"fd\": (\\d+)").matcher(addFdReply);
        assertTrue(m.find(), addFdReply);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void getfdAndAddFdTakeTheDescriptorSentWithTheCommand() {
        int ro = FdClient.Sys.open("/dev/null", FdClient.O_CLOEXEC);
        int rw = FdClient.Sys.open("/dev/null", FdClient.O_RDWR | FdClient.O_CLOEXEC);
        try (FdClient c = new FdClient(sock)) {
            assertTrue(c.reply().startsWith("{\"QMP\""));
            assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"qmp_capabilities\"}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"No file descriptor supplied via "
                    + "SCM_RIGHTS\"}}", c.exec("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"a\"}}"));
            assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"a\"}}", ro));
            assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"a\"}}"));
            String added = c.exec("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":2,\"opaque\":\"w\"}}", rw);
            int jvmmFd = fdOf(added);
            assertEquals("{\"return\": {\"fd\": " + jvmmFd + ", \"fdset-id\": 2}}", added);
            assertEquals(2, UnixMessages.accessMode(jvmmFd), "the set holds a descriptor of the file sent");
            assertEquals("{\"return\": [{\"fds\": [{\"fd\": " + jvmmFd + ", \"opaque\": \"w\"}], \"fdset-id\": 2}]}",
                    c.exec("{\"execute\":\"query-fdsets\"}"));
        } finally {
            UnixMessages.closeFd(ro);
            UnixMessages.closeFd(rw);
        }
    }

    @Test
    void newerDescriptorsReplaceOnesStillWaiting() {
        int ro = FdClient.Sys.open("/dev/null", FdClient.O_CLOEXEC);
        int rw = FdClient.Sys.open("/dev/null", FdClient.O_RDWR | FdClient.O_CLOEXEC);
        try (FdClient c = new FdClient(sock)) {
            c.reply();
            // query-status takes no descriptor: ro waits, then rw replaces it before add-fd runs.
            assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"qmp_capabilities\"}", ro));
            assertTrue(c.exec("{\"execute\":\"query-status\"}", rw).startsWith("{\"return\""));
            int jvmmFd = fdOf(c.exec("{\"execute\":\"add-fd\"}"));
            assertEquals(2, UnixMessages.accessMode(jvmmFd));
            assertTrue(c.exec("{\"execute\":\"add-fd\"}").contains("No file descriptor supplied via SCM_RIGHTS"));
        } finally {
            UnixMessages.closeFd(ro);
            UnixMessages.closeFd(rw);
        }
    }

    /** Repeated: whether Netty or this reader sees the shutdown first varies from run to run. */
    @org.junit.jupiter.api.RepeatedTest(10)
    void aHalfClosedClientsDescriptorStillReachesItsCommand() {
        int ro = FdClient.Sys.open("/dev/null", FdClient.O_CLOEXEC);
        try (FdClient c = new FdClient(sock)) {
            c.reply();
            c.send("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"add-fd\",\"arguments\":"
                    + "{\"fdset-id\":1}}", ro);
            c.shutdownOutput();
            assertEquals("{\"return\": {}}", c.reply());
            String added = c.reply();
            assertEquals("{\"return\": {\"fd\": " + fdOf(added) + ", \"fdset-id\": 1}}", added);
            assertEquals(null, c.reply(), "the server closes once it has answered");
        } finally {
            UnixMessages.closeFd(ro);
        }
        assertFalse(machine.fdSets().query().isEmpty());
    }
}
