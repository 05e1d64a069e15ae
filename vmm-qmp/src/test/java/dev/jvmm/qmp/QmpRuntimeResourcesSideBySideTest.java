package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.fd.UnixMessages;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.objects.UserObjects;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * chardev-add, chardev-remove, chardev-change, object-add and object-del against QEMU 7.2 (-M none) and
 * jvmm's QMP server over a real {@link ChardevFactory} and {@link UserObjects}: the same conversation, with
 * descriptors passed by SCM_RIGHTS, must get the same replies, text included (pty paths, descriptor numbers
 * and thread ids aside; query-chardev and query-iothreads sorted, as QEMU lists them in hash order), and
 * query-qmp-schema must describe the commands as QEMU's does.
 */
class QmpRuntimeResourcesSideBySideTest {
    /** A listening UNIX socket to pass with getfd, as libvirt passes its channels' sockets. */
    static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        static native int bind(int fd, byte[] addr, int len) throws LastErrorException;

        static native int listen(int fd, int backlog) throws LastErrorException;
    }

    private static final int O_WRONLY = 1;

    @TempDir
    Path dir;

    /** query-qmp-schema's answer from each side, QEMU's first. */
    private final List<Object> schemas = new ArrayList<>();

    /** One command, the descriptor sent with it (none, a listening socket, a file) and its text. */
    private record Step(String command, String fds) {
    }

    private static Step s(String command) {
        return new Step(command, "");
    }

    private static String add(String id, String backend) {
        return "{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"" + id + "\",\"backend\":" + backend + "}}";
    }

    private static String change(String id, String backend) {
        return "{\"execute\":\"chardev-change\",\"arguments\":{\"id\":\"" + id + "\",\"backend\":" + backend + "}}";
    }

    private static String unixServer(String path, String extra) {
        return "{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + path + "\"}}"
                + extra + "}}";
    }

    private static Step hmp(String line) {
        return s(QmpNetSideBySideTest.hmp(line));
    }

    private static String object(String args) {
        return "{\"execute\":\"object-add\",\"arguments\":{" + args + "}}";
    }

    private List<Step> conversation() {
        String d = dir.toString();
        String nul = "{\"type\":\"null\",\"data\":{}}";
        return List.of(
                s("{\"execute\":\"qmp_capabilities\"}"),
                s(add("c1", nul)),
                s(add("c1", nul)),
                s(add("1c", nul)),
                s(add("c2", "{\"type\":\"pty\",\"data\":{}}")),
                s(add("c3", unixServer(d + "/c3.sock", ",\"server\":true,\"wait\":false"))),
                s(add("c4", "{\"type\":\"file\",\"data\":{\"out\":\"" + d + "/c4.log\",\"append\":true}}")),
                s(add("c5", "{\"type\":\"file\",\"data\":{\"out\":\"/nonexistent/x\"}}")),
                s(add("c6", "{\"type\":\"bogus\",\"data\":{}}")),
                s("{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"c6\"}}"),
                s(add("c6", "{\"type\":\"null\"}")),
                s(add("c6", "{\"type\":\"file\",\"data\":{}}")),
                s(add("c6", "{\"type\":\"pty\",\"data\":{\"mux\":true}}")),
                s(add("c6", unixServer(d + "/c6.sock", ",\"reconnect\":1"))),
                s(add("c6", unixServer(d + "/none.sock", ",\"server\":false"))),
                s(add("c6", unixServer(d + "/none.sock", ",\"server\":false,\"wait\":true"))),
                s(add("c6", unixServer(d + "/no/dir.sock", ""))),
                s(add("c6", unixServer(d + "/c6.sock", ""))),
                new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"lfd\"}}", "listen"),
                s(add("c1", "{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"fd\",\"data\":{\"str\":\"lfd\"}}}}")),
                s(add("c7", "{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"fd\",\"data\":{\"str\":\"lfd\"}},"
                        + "\"server\":true,\"wait\":false}}")),
                s("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"lfd\"}}"),
                new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"ffd\"}}", "file"),
                s(add("c8", "{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"fd\",\"data\":{\"str\":\"ffd\"}}}}")),
                s(add("c8", "{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"fd\",\"data\":{\"str\":\"5\"}}}}")),
                new Step("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":2}}", "file"),
                s(add("c9", "{\"type\":\"file\",\"data\":{\"out\":\"/dev/fdset/2\"}}")),
                s(add("c10", "{\"type\":\"file\",\"data\":{\"out\":\"/dev/fdset/9\"}}")),
                new Step("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3}}", "wo"),
                s(add("c11", "{\"type\":\"file\",\"data\":{\"out\":\"/dev/fdset/3\"}}")),
                s("{\"execute\":\"query-chardev\"}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"nosuch\"}}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c1\"}}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c1\"}}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"compat_monitor0\"}}"),
                s("{\"execute\":\"chardev-remove\"}"),
                s(change("nosuch", nul)),
                s(change("c2", nul)),
                s(change("c3", "{\"type\":\"file\",\"data\":{\"out\":\"" + d + "/c3.log\"}}")),
                s(change("c3", unixServer(d + "/c3b.sock", ",\"server\":true,\"wait\":false"))),
                s(change("c3", "{\"type\":\"file\",\"data\":{\"out\":\"/nonexistent/x\"}}")),
                s(change("compat_monitor0", nul)),
                s(add("c3", nul)),
                s("{\"execute\":\"query-chardev\"}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c6\"}}"),
                s("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c9\"}}"),
                s(object("\"qom-type\":\"secret\",\"id\":\"s0\",\"data\":\"aGVsbG8=\",\"format\":\"base64\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s0\",\"data\":\"x\"")),
                s(object("\"qom-type\":\"bogus\",\"id\":\"b0\"")),
                s(object("\"id\":\"b0\"")),
                s(object("\"qom-type\":\"secret\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"1s\",\"data\":\"x\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s1\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s2\",\"data\":\"x\",\"bogus\":1")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s3\",\"data\":\"x\",\"format\":\"bad\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s4\",\"data\":\"!!!\",\"format\":\"base64\"")),
                s(object("\"qom-type\":\"secret\",\"id\":\"s5\",\"data\":\"x\",\"keyid\":\"nokey\"")),
                s(object("\"qom-type\":\"memory-backend-ram\",\"id\":\"m0\",\"size\":67108864")),
                s(object("\"qom-type\":\"memory-backend-ram\",\"id\":\"m1\"")),
                s(object("\"qom-type\":\"memory-backend-ram\",\"id\":\"m1\",\"size\":0")),
                s(object("\"qom-type\":\"memory-backend-ram\",\"id\":\"m1\",\"size\":4096,\"merge\":\"yes\"")),
                s(object("\"qom-type\":\"memory-backend-memfd\",\"id\":\"m2\",\"size\":67108864,\"share\":true")),
                s(object("\"qom-type\":\"memory-backend-ram\",\"id\":\"m3\",\"size\":4096,\"policy\":\"x\"")),
                s(object("\"qom-type\":\"iothread\",\"id\":\"io1\",\"poll-max-ns\":1000")),
                s(object("\"qom-type\":\"iothread\",\"id\":\"io0\"")),
                s("{\"execute\":\"query-iothreads\"}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"nosuch\"}}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"s0\"}}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"s0\"}}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"io1\"}}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"m0\"}}"),
                s("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"m2\"}}"),
                s("{\"execute\":\"object-del\"}"),
                s("{\"execute\":\"query-iothreads\"}"),
                s(object("\"qom-type\":\"iothread\",\"id\":\"io1\"")),
                s("{\"execute\":\"query-iothreads\"}"),
                hmp("chardev-add null,id=h1"),
                hmp("chardev-add null,id=h1"),
                hmp("chardev-add null,id=compat_monitor0"),
                hmp("chardev-add bogus,id=h2"),
                hmp("chardev-add null"),
                hmp("chardev-add null,id=1h"),
                hmp("chardev-add"),
                hmp("chardev-add pty,id=hp"),
                hmp("chardev-change hp null"),
                hmp("chardev-change nosuch null"),
                hmp("chardev-change compat_monitor0 null"),
                hmp("chardev-remove h1"),
                hmp("chardev-remove h1"),
                hmp("chardev-remove compat_monitor0"),
                hmp("chardev-remove"),
                hmp("object_add secret,id=h0,data=x"),
                hmp("object_add secret,id=h0,data=x"),
                hmp("object_add bogus,id=h1"),
                hmp("object_add iothread,id=1x"),
                hmp("object_add iothread,id=x,foo=1"),
                hmp("object_add"),
                hmp("object_del h0"),
                hmp("object_del h0"),
                hmp("object_del"),
                s("{\"execute\":\"query-chardev\"}"));
    }

    /** Replies with what differs between runs made equal; the two lists sorted by name. */
    @SuppressWarnings("unchecked")
    private static String normalize(String reply) {
        if (reply == null) {
            return "<the connection ended>";
        }
        String r = reply.replaceAll("/dev/pts/\\d+", "/dev/pts/N").replaceAll("\"fd\": \\d+", "\"fd\": 0")
                .replaceAll("\"thread-id\": \\d+", "\"thread-id\": 0");
        Map<String, Object> m = (Map<String, Object>) QmpClient.parse(r);
        if (m.get("return") instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Map<?, ?> first) {
            String key = first.containsKey("label") ? "label" : "id";
            List<Map<String, Object>> sorted = new ArrayList<>((List<Map<String, Object>>) l);
            sorted.sort(Comparator.comparing(e -> (String) e.get(key)));
            return sorted.toString();
        }
        return r;
    }

    /** Runs the conversation; returns the normalized replies and, last, the raw query-qmp-schema reply. */
    private List<String> converse(Path sock) throws Exception {
        List<String> out = new ArrayList<>();
        int file = FdClient.Sys.open(dir.resolve("fd.txt").toString(), FdClient.O_RDWR | FdClient.O_CLOEXEC);
        int writeOnly = FdClient.Sys.open(dir.resolve("fd.txt").toString(), O_WRONLY | FdClient.O_CLOEXEC);
        int listener = listener(dir.resolve("l.sock"));
        try (FdClient c = new FdClient(sock)) {
            assertTrue(c.reply().startsWith("{\"QMP\""));
            for (Step st : conversation()) {
                int[] fds = switch (st.fds()) {
                    case "listen" -> new int[] {listener};
                    case "file" -> new int[] {file};
                    case "wo" -> new int[] {writeOnly};
                    default -> new int[0];
                };
                out.add(normalize(c.exec(st.command(), fds)));
            }
        } finally {
            UnixMessages.closeFd(file);
            UnixMessages.closeFd(writeOnly);
            UnixMessages.closeFd(listener);
        }
        // a second client: FdClient takes the schema's "event" meta-types for events
        try (QmpClient c = new QmpClient(sock)) {
            c.read(5000);
            c.exchange("{\"execute\":\"qmp_capabilities\"}");
            schemas.add(c.exchange("{\"execute\":\"query-qmp-schema\"}").get(0).get("return"));
        }
        return out;
    }

    /** Whether no live thread has the name within a bounded wait. */
    private static boolean threadEnds(String name) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive())) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** A UNIX socket bound at path and listening, as a descriptor number. */
    static int listener(Path path) throws Exception {
        Files.deleteIfExists(path);
        int fd = FdClient.Sys.socket(FdClient.AF_UNIX, FdClient.SOCK_STREAM | FdClient.SOCK_CLOEXEC, 0);
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        byte[] addr = new byte[110];
        addr[0] = FdClient.AF_UNIX;
        System.arraycopy(p, 0, addr, 2, p.length);
        Sys.bind(fd, addr, 2 + p.length + 1);
        Sys.listen(fd, 1);
        return fd;
    }

    @Test
    void sameRepliesAsQemu() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 missing: side by side skipped");
        Files.writeString(dir.resolve("fd.txt"), "");
        List<String> q = qemu();
        List<String> j = jvmm();
        List<Step> conv = conversation();
        for (int i = 0; i < conv.size(); i++) {
            assertEquals(q.get(i), j.get(i), conv.get(i).command());
        }
        List<?> qs = (List<?>) schemas.get(0);
        List<?> js = (List<?>) schemas.get(1);
        for (String name : List.of("chardev-add", "chardev-change", "chardev-remove", "object-del")) {
            assertEquals(QmpNetSideBySideTest.expand(qs, name), QmpNetSideBySideTest.expand(js, name),
                    "query-qmp-schema for " + name);
        }
        assertEquals(objectAddVariants(qs), objectAddVariants(js), "query-qmp-schema for object-add's types");
    }

    /** object-add's variants for the types jvmm has, expanded (QEMU has many more). */
    @SuppressWarnings("unchecked")
    private static Object objectAddVariants(List<?> schema) {
        Map<String, Object> add = (Map<String, Object>) QmpNetSideBySideTest.expand(schema, "object-add");
        Map<String, Object> arg = (Map<String, Object>) add.get("arg-type");
        Map<String, Object> out = new LinkedHashMap<>();
        for (Object v : (List<?>) arg.get("variants")) {
            List<?> pair = (List<?>) v;
            if (UserObjects.qomTypes().contains((String) pair.get(0))) {
                out.put((String) pair.get(0), pair.get(1));
            }
        }
        return out;
    }

    private List<String> qemu() throws Exception {
        Path sock = dir.resolve("m.sock");
        Process p = QemuSideBySideTest.startProcess(List.of("qemu-system-x86_64", "-M", "none", "-nodefaults",
                "-display", "none", "-S", "-object", "iothread,id=io0", "-qmp", "unix:" + sock
                        + ",server=on,wait=off"), sock);
        try {
            List<String> out = converse(sock);
            assertFalse(Files.exists(dir.resolve("c6.sock")), "QEMU removes a removed server's socket file");
            assertFalse(Files.exists(dir.resolve("c3.sock")) || Files.exists(dir.resolve("c3b.sock")),
                    "QEMU removes a replaced server's socket file");
            return out;
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private List<String> jvmm() throws Exception {
        FakeMachine fake = new FakeMachine(ActionSettings.defaults(), null, null);
        UserObjects objects = UserObjects.create(List.of("iothread,id=io0"), id -> "iothread-" + id);
        objects.start();
        fake.iothreads = objects::iothreads;
        try (IoLoop loop = new IoLoop()) {
            ChardevFactory chardevs = new ChardevFactory(() -> loop);
            chardevs.useFdSets(fake.lifecycle().fdSets());
            fake.chardevControl = chardevs;
            fake.objects = objects;
            QmpServer server = new QmpServer(fake, loop);
            Path sock = dir.resolve("m.sock");
            server.listenUnix(sock, false);
            try {
                List<String> out = converse(sock);
                assertFalse(Files.exists(dir.resolve("c3.sock")), "a replaced server's socket file is gone");
                assertFalse(Files.exists(dir.resolve("c3b.sock")), "a replaced server's socket file is gone");
                assertTrue(objects.iothreads().stream().allMatch(t -> t.threadId() > 0), "iothreads run");
                objects.delete("io1");
                assertTrue(threadEnds("iothread-io1"), "a deleted iothread's thread ends");
                Path p0 = dir.resolve("p0.sock");
                chardevs.add("p0", Map.of("backend", "socket", "path", p0.toString(), "server", "on", "wait", "off"));
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p0)),
                        "a server's socket file is its owner's alone");
                chardevs.remove("p0");
                assertFalse(Files.exists(p0), "a removed server's socket file is gone");
                assertFalse(Files.exists(dir.resolve("c6.sock")), "a removed server's socket file is gone");
                return out;
            } finally {
                server.close();
                chardevs.closeAll();
                objects.close();
                fake.lifecycle().close();
            }
        }
    }
}
