package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.fd.UnixMessages;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
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

    static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        static native int socket(int domain, int type, int protocol) throws LastErrorException;

        static native int connect(int fd, byte[] addr, int len) throws LastErrorException;

        static native int setsockopt(int fd, int level, int name, long[] value, int len) throws LastErrorException;

        static native long read(int fd, byte[] buf, long n) throws LastErrorException;

        static native int open(String path, int flags) throws LastErrorException;

        static native int shutdown(int fd, int how) throws LastErrorException;
    }

    /** A raw AF_UNIX client with bounded reads (SO_RCVTIMEO). */
    static final class Client implements AutoCloseable {
        final int fd = Sys.socket(1, 1 | 0x80000, 0);
        final UnixMessages out = new UnixMessages(4096);
        final StringBuilder pending = new StringBuilder();

        Client(Path sock) {
            byte[] addr = new byte[110];
            addr[0] = 1;
            byte[] p = sock.toString().getBytes(StandardCharsets.UTF_8);
            System.arraycopy(p, 0, addr, 2, p.length);
            Sys.connect(fd, addr, 2 + p.length + 1);
            Sys.setsockopt(fd, 1, 20, new long[] {10, 0}, 16);
        }

        String reply() {
            byte[] buf = new byte[4096];
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String line = pending.substring(0, nl).trim();
                    pending.delete(0, nl + 1);
                    if (!line.contains("\"event\"")) {
                        return line;
                    }
                    continue;
                }
                long n = Sys.read(fd, buf, buf.length);
                if (n <= 0) {
                    return null;
                }
                pending.append(new String(buf, 0, (int) n, StandardCharsets.UTF_8));
            }
        }

        String exec(String json, int... fds) {
            out.send(fd, json.getBytes(StandardCharsets.UTF_8), fds);
            return reply();
        }

        @Override
        public void close() {
            UnixMessages.closeFd(fd);
        }
    }

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
        int ro = Sys.open("/dev/null", 0x80000);
        int rw = Sys.open("/dev/null", 2 | 0x80000);
        try (Client c = new Client(sock)) {
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
        int ro = Sys.open("/dev/null", 0x80000);
        int rw = Sys.open("/dev/null", 2 | 0x80000);
        try (Client c = new Client(sock)) {
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
        int ro = Sys.open("/dev/null", 0x80000);
        try (Client c = new Client(sock)) {
            c.reply();
            c.out.send(c.fd, ("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"add-fd\",\"arguments\":"
                    + "{\"fdset-id\":1}}").getBytes(StandardCharsets.UTF_8), new int[] {ro});
            Sys.shutdown(c.fd, 1);
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
