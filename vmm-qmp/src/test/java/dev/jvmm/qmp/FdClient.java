package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.fd.UnixMessages;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A raw AF_UNIX QMP client that sends descriptors with its commands (SCM_RIGHTS), as libvirt does, which
 * Java's own sockets cannot. Every read is bounded (SO_RCVTIMEO 10 s).
 */
final class FdClient implements AutoCloseable {
    /** The libc calls the tests need beside UnixMessages. */
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

    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int O_CLOEXEC = 0x80000;
    static final int O_RDWR = 2;
    static final int SOL_SOCKET = 1;
    static final int SO_RCVTIMEO = 20;
    static final int SHUT_WR = 1;
    static final int ECONNREFUSED = 111;

    final int fd;
    private final UnixMessages out = new UnixMessages(4096);
    private final StringBuilder pending = new StringBuilder();

    FdClient(Path sock) {
        fd = Sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        byte[] addr = new byte[110];
        addr[0] = AF_UNIX;
        byte[] p = sock.toString().getBytes(StandardCharsets.UTF_8);
        System.arraycopy(p, 0, addr, 2, p.length);
        // The file exists from bind(); listen() follows at once, so a refusal is retried for a moment.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try {
                Sys.connect(fd, addr, 2 + p.length + 1);
                break;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != ECONNREFUSED || System.nanoTime() > end) {
                    UnixMessages.closeFd(fd);
                    throw e;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    UnixMessages.closeFd(fd);
                    throw e;
                }
            }
        }
        Sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new long[] {10, 0}, 16);
    }

    /** The next line that is not an event, or null once the server has closed the connection. */
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

    /** Sends bytes (any number of commands) with the given descriptors attached to them. */
    void send(String json, int... fds) {
        out.send(fd, json.getBytes(StandardCharsets.UTF_8), fds);
    }

    /** Sends one command with the given descriptors attached and returns its reply. */
    String exec(String json, int... fds) {
        send(json, fds);
        return reply();
    }

    /** Ends this side's sending (the server then answers what it has and closes). */
    void shutdownOutput() {
        Sys.shutdown(fd, SHUT_WR);
    }

    @Override
    public void close() {
        UnixMessages.closeFd(fd);
    }
}
