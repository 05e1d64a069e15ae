package dev.jvmm.qmp;

import dev.jvmm.core.machine.QemuVersion;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * QMP's listening sockets opened, and every client greeted, while the rest of the process is still starting:
 * a manager sees the greeting in about the time the JVM takes to reach {@code main}, not after the machine is
 * built. Nothing else is read or answered here; a client's commands wait in its socket until
 * {@link QmpServer#adopt} takes the listeners and the greeted clients over, reads them and answers them in
 * order, as it would have had they arrived later. The greeting's bytes are the ones {@link QmpServer} sends
 * ({@link QmpGreeting}), so a client cannot tell which of the two greeted it.
 *
 * <p>The sockets open on a thread of its own ({@code qmp-early}), which goes on to greet whoever connects,
 * through the JDK's UNIX channels where it can ({@link JdkEarlyAcceptor}: path sockets) and through libc
 * otherwise ({@link NativeEarlyAcceptor}: an inherited fd=N socket).
 */
public final class EarlyQmpListener implements AutoCloseable {
    private static final long STOP_WAIT_MS = 2_000;
    /** The longest path a sockaddr_un holds (108 bytes with its terminating NUL). */
    static final int SUN_PATH_MAX = 107;
    /** How long start-up waits for the sockets to open (they open in a few milliseconds). */
    private static final long OPEN_WAIT_MS = 10_000;

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
    private final EarlyAcceptor acceptor;
    private final Runnable onListening;
    private final Thread thread;
    /** Completed by the thread: whether every endpoint listens (if not, nothing is left open). */
    private final CompletableFuture<Boolean> opened = new CompletableFuture<>();
    private boolean handedOver;

    private EarlyQmpListener(List<QmpEndpoint> endpoints, EarlyAcceptor acceptor, Runnable onListening) {
        this.endpoints = endpoints;
        this.acceptor = acceptor;
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
        List<QmpEndpoint> eps = List.copyOf(endpoints);
        byte[] greeting = QmpGreeting.bytes(version);
        EarlyAcceptor acceptor = JdkEarlyAcceptor.available(eps) ? new JdkEarlyAcceptor(eps, greeting)
                : new NativeEarlyAcceptor(eps, greeting);
        return start(eps, acceptor, onListening);
    }

    /** With a given way of accepting (tests try both). */
    static EarlyQmpListener start(List<QmpEndpoint> endpoints, EarlyAcceptor acceptor, Runnable onListening) {
        EarlyQmpListener early = new EarlyQmpListener(endpoints, acceptor, onListening);
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
        handedOver = true;
        stopThread();
        return acceptor.takeOver();
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
        acceptor.closeAll();
    }

    private void stopThread() {
        acceptor.stop();
        try {
            thread.join(STOP_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        boolean ok;
        try {
            ok = acceptor.open();
        } catch (RuntimeException | LinkageError e) {
            ok = false; // the acceptor left nothing open; the usual path serves the endpoints
        }
        if (!ok) {
            opened.complete(false);
            return;
        }
        onListening.run();
        opened.complete(true);
        acceptor.acceptLoop();
    }

    /**
     * Where to bind a path endpoint's socket before it listens: a name next to the final one, which the socket
     * takes by {@link #publish} only once it listens and has mode 0600, so that a client never finds a file
     * that refuses its connection (the window between bind and listen a client polling for the file would
     * otherwise hit on a busy host) nor one open to others. The path itself when the other name would not fit
     * in a sockaddr_un.
     */
    static java.nio.file.Path bindPath(QmpEndpoint ep) {
        java.nio.file.Path tmp = ep.path().resolveSibling(".jvmm-qmp-" + Long.toHexString(System.nanoTime()) + "-"
                + Integer.toHexString(ep.path().getFileName().toString().hashCode()));
        return tmp.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= SUN_PATH_MAX
                ? tmp : ep.path();
    }

    /**
     * Gives the listening socket bound at bound its mode and the endpoint's path, replacing a stale file; on
     * failure the file bound is removed.
     */
    static void publish(java.nio.file.Path bound, QmpEndpoint ep) throws IOException {
        try {
            Files.setPosixFilePermissions(bound, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            if (!bound.equals(ep.path())) {
                Files.move(bound, ep.path(), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(bound);
            throw e;
        }
    }

    /** Removes a path endpoint's socket file (a stale file would be replaced by the next bind anyway). */
    static void removeSocketFile(QmpEndpoint ep) {
        if (ep.path() == null) {
            return;
        }
        try {
            Files.deleteIfExists(ep.path());
        } catch (IOException e) {
            // left behind: the next server bound there replaces it
        }
    }
}
