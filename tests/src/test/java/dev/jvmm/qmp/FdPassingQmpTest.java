package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.fd.UnixMessages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Descriptors passed to a real jvmm with SCM_RIGHTS on its QMP socket (getfd, add-fd, /dev/fdset/N), and
 * -add-fd with -drive file=/dev/fdset/N under the tiny guest's virtio-blk check. The expected replies are
 * QEMU 7.2's for the same conversation (fd numbers aside).
 */
class FdPassingQmpTest {
    @TempDir
    Path dir;

    /** A raw AF_UNIX client: socket, connect, blocking reads with a receive timeout. */
    static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        static native int socket(int domain, int type, int protocol) throws LastErrorException;

        static native int connect(int fd, byte[] addr, int len) throws LastErrorException;

        static native int setsockopt(int fd, int level, int name, long[] value, int len) throws LastErrorException;

        static native long read(int fd, byte[] buf, long n) throws LastErrorException;

        static native int open(String path, int flags) throws LastErrorException;
    }

    static final class Client implements AutoCloseable {
        final int fd;
        final UnixMessages out = new UnixMessages(4096);
        final StringBuilder pending = new StringBuilder();

        Client(Path sock) {
            fd = Sys.socket(1, 1 | 0x80000, 0);
            byte[] addr = new byte[110];
            addr[0] = 1;
            byte[] p = sock.toString().getBytes(StandardCharsets.UTF_8);
            System.arraycopy(p, 0, addr, 2, p.length);
            Sys.connect(fd, addr, 2 + p.length + 1);
            // SO_RCVTIMEO 10 s: every read below is bounded.
            Sys.setsockopt(fd, 1, 20, new long[] {10, 0}, 16);
        }

        /** The next line that is not an event. */
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
                    throw new IllegalStateException("connection ended");
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

    private Process start(List<String> extra, String redirect) throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "exec \"$@\" " + redirect, "jvmm",
                System.getProperty("jvmm.launcher", "../bin/jvmm"), "-nodefaults", "-display", "none",
                "-kernel", kernel.toString()));
        cmd.addAll(extra);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static String n(String reply) {
        return reply.replaceAll("\"fd\": \\d+", "\"fd\": N");
    }

    @Test
    void getfdAddFdAndBlockdevAddOverDescriptorsSentWithTheCommand() throws Exception {
        Path sock = dir.resolve("q.sock");
        Path img = dir.resolve("d.raw");
        Files.write(img, new byte[1 << 20]);
        Process p = start(List.of("-S", "-append", "action=idle", "-qmp", "unix:" + sock + ",server=on,wait=off"),
                "");
        int ro = -1;
        int rw = -1;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(sock) && System.nanoTime() < end && p.isAlive()) {
                Thread.sleep(20);
            }
            ro = Sys.open(img.toString(), 0x80000);
            rw = Sys.open(img.toString(), 2 | 0x80000);
            try (Client c = new Client(sock)) {
                assertTrue(c.reply().startsWith("{\"QMP\""));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"qmp_capabilities\"}"));
                assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"No file descriptor supplied via "
                        + "SCM_RIGHTS\"}}", c.exec("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"fd1\"}}"));
                assertEquals("{\"return\": {}}",
                        c.exec("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"fd1\"}}", ro));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd1\"}}"));
                assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"File descriptor named 'fd1' not "
                        + "found\"}}", c.exec("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd1\"}}"));
                assertEquals("{\"return\": {\"fd\": N, \"fdset-id\": 3}}", n(c.exec(
                        "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3,\"opaque\":\"rdonly\"}}", ro)));
                assertEquals("{\"return\": {\"fd\": N, \"fdset-id\": 3}}",
                        n(c.exec("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3}}", rw)));
                assertEquals("{\"return\": {\"fd\": N, \"fdset-id\": 0}}", n(c.exec("{\"execute\":\"add-fd\"}", ro)));
                assertEquals("{\"return\": [{\"fds\": [{\"fd\": N, \"opaque\": \"rdonly\"}, {\"fd\": N}], "
                        + "\"fdset-id\": 3}, {\"fds\": [{\"fd\": N}], \"fdset-id\": 0}]}",
                        n(c.exec("{\"execute\":\"query-fdsets\"}")));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                        + "\"raw\",\"node-name\":\"d3\",\"file\":{\"driver\":\"file\",\"filename\":\"/dev/fdset/3\"}}}"));
                assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Could not dup FD for "
                        + "/dev/fdset/0 flags 2: Permission denied\"}}", c.exec("{\"execute\":\"blockdev-add\","
                        + "\"arguments\":{\"driver\":\"file\",\"node-name\":\"f0\",\"filename\":\"/dev/fdset/0\"}}"));
                assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Could not dup FD for "
                        + "/dev/fdset/9 flags 2: No such file or directory\"}}", c.exec("{\"execute\":\"blockdev-add\","
                        + "\"arguments\":{\"driver\":\"file\",\"node-name\":\"f9\",\"filename\":\"/dev/fdset/9\"}}"));
                assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"File descriptor named "
                        + "'fdset-id:7' not found\"}}", c.exec("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":7}}"));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"cont\"}"));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0}}"));
                assertEquals("{\"return\": [{\"fds\": [{\"fd\": N, \"opaque\": \"rdonly\"}, {\"fd\": N}], "
                        + "\"fdset-id\": 3}]}", n(c.exec("{\"execute\":\"query-fdsets\"}")));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"quit\"}"));
            }
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        } finally {
            UnixMessages.closeFd(ro);
            UnixMessages.closeFd(rw);
            p.destroyForcibly();
        }
    }

    @Test
    void addFdOnTheCommandLineBacksADriveTheGuestWritesAndReads() throws Exception {
        Path img = dir.resolve("d.raw");
        Files.write(img, new byte[16 << 20]);
        Process p = start(List.of("-append", "action=blk", "-serial", "stdio", "-add-fd", "fd=3,set=4,opaque=disk",
                "-drive", "file=/dev/fdset/4,format=raw,if=none,id=d0", "-device",
                "virtio-blk-pci,drive=d0,serial=jvmm-disk-0", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"),
                "3<>" + img);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the guest did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("blk: read back ok") && out.contains("blk: ok"), out);
        assertEquals(33, p.exitValue(), out);
    }

    @Test
    void aDriveOnAMissingFdSetFailsAsInQemu() throws Exception {
        Process p = start(List.of("-drive", "file=/dev/fdset/7,format=raw,if=none"), "");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("jvmm: -drive file=/dev/fdset/7,format=raw,if=none: Could not dup FD for "
                + "/dev/fdset/7 flags 2: No such file or directory"), out);
        assertEquals(1, p.exitValue());
    }
}
