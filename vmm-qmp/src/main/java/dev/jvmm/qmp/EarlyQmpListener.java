package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.machine.QemuVersion;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * QMP's listening sockets opened, and every client greeted, while the rest of the process is still starting:
 * a manager sees the greeting in the time the JVM takes to reach {@code main}, not after the machine is
 * built. Nothing else is read or answered here; a client's commands wait in its socket until
 * {@link QmpServer#adopt} takes the listeners and the greeted clients over, reads them and answers them in
 * order, as it would have had they arrived later. The greeting's bytes are the ones {@link QmpServer} sends
 * ({@link QmpGreeting}), so a client cannot tell which of the two greeted it.
 *
 * <p>The sockets open on a thread of its own, which goes on to greet whoever connects; that path is as short as
 * start-up allows: one JNA direct-mapped class ({@link Sys}: no
 * {@code Memory}, whose cleaner would start a thread, none of the machine's other bindings), one thread in
 * poll(2), none of Netty or Jackson.
 */
public final class EarlyQmpListener implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 0x800;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final short POLLIN = 0x001;
    private static final int SOL_SOCKET = 1;
    private static final int SO_ACCEPTCONN = 30;
    /** sizeof(struct sockaddr_un): sa_family_t, then 108 bytes of path. */
    private static final int SOCKADDR_UN_SIZE = 110;
    private static final int SUN_PATH_MAX = 107;
    /** The backlog Netty gives a listener it binds (its SOMAXCONN default). */
    private static final int BACKLOG = 128;
    private static final long STOP_WAIT_MS = 2_000;
    /** How long start-up waits for the sockets to open (they open in a few milliseconds). */
    private static final long OPEN_WAIT_MS = 10_000;

    /** libc, bound on the early thread's first call. */
    private static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        private Sys() {
        }

        static native int socket(int domain, int type, int protocol) throws LastErrorException;

        static native int bind(int fd, byte[] addr, int len) throws LastErrorException;

        static native int listen(int fd, int backlog) throws LastErrorException;

        static native int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

        static native long send(int fd, byte[] buf, long n, int flags) throws LastErrorException;

        static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

        static native int getsockopt(int fd, int level, int name, int[] value, int[] len)
                throws LastErrorException;

        static native int close(int fd) throws LastErrorException;

        static native int eventfd(int initval, int flags) throws LastErrorException;

        static native long write(int fd, long[] value, long n) throws LastErrorException;

        /** struct pollfd as int pairs: fd, then events in the low and revents in the high half (little-endian). */
        static native int poll(int[] fds, long nfds, int timeout) throws LastErrorException;
    }

    /**
     * A client accepted and greeted here.
     *
     * @param fd      its connected socket (non-blocking)
     * @param unsent  the end of the greeting its socket did not take yet (empty almost always)
     */
    public record Client(int fd, byte[] unsent) {
    }

    /**
     * One endpoint's listening socket and the clients it accepted so far.
     *
     * @param endpoint the -qmp/-mon endpoint
     * @param fd       the listening socket (non-blocking)
     * @param clients  accepted and greeted clients, in order of arrival
     */
    public record Listener(QmpEndpoint endpoint, int fd, List<Client> clients) {
    }

    private final List<QmpEndpoint> endpoints;
    private final byte[] greeting;
    private final Runnable onListening;
    private final Thread thread;
    /** Completed by the thread: whether every endpoint listens (if not, nothing is left open). */
    private final CompletableFuture<Boolean> opened = new CompletableFuture<>();
    /** Set by the thread before it completes {@link #opened}. */
    private List<Listener> listeners = List.of();
    /** An eventfd that ends the accept loop; set by the thread before it completes {@link #opened}. */
    private int stop = -1;
    private boolean handedOver;
    private boolean stopped;

    private EarlyQmpListener(List<QmpEndpoint> endpoints, byte[] greeting, Runnable onListening) {
        this.endpoints = endpoints;
        this.greeting = greeting;
        this.onListening = onListening;
        this.thread = new Thread(this::run, "qmp-early");
        thread.setDaemon(true);
    }

    /**
     * Starts opening every endpoint on a thread of its own, which then greets whoever connects, while the
     * caller goes on with start-up; onListening runs on that thread once every socket listens, before
     * {@link #awaitListening} returns. Null when an endpoint waits for its client (wait=on holds start-up,
     * which the usual path does).
     */
    public static EarlyQmpListener start(List<QmpEndpoint> endpoints, QemuVersion version, Runnable onListening) {
        for (QmpEndpoint ep : endpoints) {
            if (ep.waitForClient()) {
                return null;
            }
        }
        EarlyQmpListener early = new EarlyQmpListener(List.copyOf(endpoints), QmpGreeting.bytes(version),
                onListening);
        early.thread.start();
        return early;
    }

    /** The endpoints this listener serves, in command-line order. */
    public List<QmpEndpoint> endpoints() {
        return endpoints;
    }

    /**
     * Waits until the sockets are open; false when one could not be opened here (nothing is left open then,
     * and the usual path opens them and reports any error in its words).
     */
    public boolean awaitListening() {
        try {
            return opened.get(OPEN_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /**
     * Stops accepting and gives the listening sockets and their greeted clients to the caller, who owns
     * them from then on (a client still queued in a backlog is accepted by the next owner, which greets it).
     * Only after {@link #awaitListening} said the sockets are open, and once.
     */
    public synchronized List<Listener> handOver() {
        if (handedOver || !awaitListening()) {
            throw new IllegalStateException("the early QMP listener has nothing to hand over");
        }
        stopThread();
        handedOver = true;
        List<Listener> out = new ArrayList<>();
        for (Listener l : listeners) {
            out.add(new Listener(l.endpoint(), l.fd(), List.copyOf(l.clients())));
        }
        return out;
    }

    /** Start-up failed before the hand-over: clients see the connection end, socket files go. */
    @Override
    public synchronized void close() {
        if (handedOver) {
            return;
        }
        handedOver = true;
        if (!awaitListening()) {
            return;
        }
        stopThread();
        for (Listener l : listeners) {
            for (Client c : l.clients()) {
                closeQuietly(c.fd());
            }
            closeListener(l);
        }
    }

    private void stopThread() {
        if (stopped) {
            return;
        }
        stopped = true;
        try {
            Sys.write(stop, new long[] {1}, Long.BYTES);
            thread.join(STOP_WAIT_MS);
        } catch (LastErrorException e) {
            // an eventfd write fails only on overflow: the loop has been told already
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(stop);
    }

    private void run() {
        List<Listener> open = new ArrayList<>();
        try {
            stop = Sys.eventfd(0, EFD_CLOEXEC);
            for (QmpEndpoint ep : endpoints) {
                int fd = openListener(ep);
                if (fd < 0) {
                    break;
                }
                open.add(new Listener(ep, fd, new ArrayList<>()));
            }
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            // no eventfd, or no libc binding: the usual path serves the endpoints
        }
        if (open.size() < endpoints.size()) {
            for (Listener l : open) {
                closeListener(l);
            }
            if (stop >= 0) {
                closeQuietly(stop);
            }
            opened.complete(false);
            return;
        }
        listeners = List.copyOf(open);
        onListening.run();
        opened.complete(true);
        acceptLoop();
    }

    private void acceptLoop() {
        int n = listeners.size() + 1;
        int[] fds = new int[2 * n];
        for (int i = 0; i < listeners.size(); i++) {
            fds[2 * i] = listeners.get(i).fd();
        }
        fds[2 * (n - 1)] = stop;
        while (true) {
            for (int i = 0; i < n; i++) {
                fds[2 * i + 1] = POLLIN;
            }
            try {
                Sys.poll(fds, n, -1);
            } catch (LastErrorException e) {
                continue; // EINTR
            }
            if (revents(fds, n - 1) != 0) {
                return;
            }
            for (int i = 0; i < listeners.size(); i++) {
                if ((revents(fds, i) & POLLIN) != 0 && !acceptAll(listeners.get(i))) {
                    fds[2 * i] = -1; // poll(2) skips it; the next owner meets the error
                }
            }
        }
    }

    private static int revents(int[] fds, int index) {
        return fds[2 * index + 1] >>> 16;
    }

    /**
     * Accepts what the backlog holds and greets each (the listening socket is non-blocking); false when
     * accepting fails for another reason than an empty backlog (out of descriptors, say), so that this loop
     * does not spin on it.
     */
    private boolean acceptAll(Listener l) {
        while (true) {
            int client;
            try {
                client = Sys.accept4(l.fd(), null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR) {
                    continue;
                }
                return e.getErrorCode() == EAGAIN;
            }
            l.clients().add(new Client(client, greet(client)));
        }
    }

    /** Sends the greeting; returns what the socket did not take. */
    private byte[] greet(int fd) {
        int sent = 0;
        try {
            sent = (int) Sys.send(fd, greeting, greeting.length, MSG_DONTWAIT | MSG_NOSIGNAL);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != EAGAIN && e.getErrorCode() != EINTR) {
                // The client is gone already: its socket reports that to the next owner, who closes it.
                return new byte[0];
            }
        }
        byte[] rest = new byte[greeting.length - sent];
        System.arraycopy(greeting, sent, rest, 0, rest.length);
        return rest;
    }

    /** A listening socket for the endpoint, or -1. */
    private static int openListener(QmpEndpoint ep) {
        if (ep.fd() >= 0) {
            try {
                int[] listening = new int[1];
                Sys.getsockopt(ep.fd(), SOL_SOCKET, SO_ACCEPTCONN, listening, new int[] {Integer.BYTES});
                if (listening[0] == 0) {
                    return -1;
                }
                Sys.fcntl(ep.fd(), F_SETFL, Sys.fcntl(ep.fd(), F_GETFL, 0) | O_NONBLOCK);
                return ep.fd();
            } catch (LastErrorException e) {
                return -1;
            }
        }
        byte[] path = ep.path().toString().getBytes(StandardCharsets.UTF_8);
        if (path.length > SUN_PATH_MAX) {
            return -1;
        }
        int fd = -1;
        try {
            Files.deleteIfExists(ep.path());
            fd = Sys.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            byte[] addr = new byte[SOCKADDR_UN_SIZE];
            addr[0] = AF_UNIX;
            System.arraycopy(path, 0, addr, 2, path.length);
            Sys.bind(fd, addr, SOCKADDR_UN_SIZE);
            Files.setPosixFilePermissions(ep.path(), PosixFilePermissions.fromString("rw-------"));
            Sys.listen(fd, BACKLOG);
            return fd;
        } catch (LastErrorException | IOException | UnsupportedOperationException e) {
            if (fd >= 0) {
                closeQuietly(fd);
            }
            return -1;
        }
    }

    private static void closeListener(Listener l) {
        if (l.endpoint().fd() >= 0) {
            return; // an inherited socket stays open: the usual path serves it
        }
        closeQuietly(l.fd());
        try {
            Files.deleteIfExists(l.endpoint().path());
        } catch (IOException e) {
            // a stale file is replaced by the next bind there
        }
    }

    private static void closeQuietly(int fd) {
        try {
            Sys.close(fd);
        } catch (LastErrorException e) {
            // already closed by the kernel's view: nothing to release
        }
    }
}
