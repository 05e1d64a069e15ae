package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.qmp.EarlyLibc.AF_UNIX;
import static dev.jvmm.qmp.EarlyLibc.EAGAIN;
import static dev.jvmm.qmp.EarlyLibc.EFD_CLOEXEC;
import static dev.jvmm.qmp.EarlyLibc.EINTR;
import static dev.jvmm.qmp.EarlyLibc.F_GETFL;
import static dev.jvmm.qmp.EarlyLibc.F_SETFL;
import static dev.jvmm.qmp.EarlyLibc.MSG_DONTWAIT;
import static dev.jvmm.qmp.EarlyLibc.MSG_NOSIGNAL;
import static dev.jvmm.qmp.EarlyLibc.O_NONBLOCK;
import static dev.jvmm.qmp.EarlyLibc.POLLIN;
import static dev.jvmm.qmp.EarlyLibc.SOCK_CLOEXEC;
import static dev.jvmm.qmp.EarlyLibc.SOCK_NONBLOCK;
import static dev.jvmm.qmp.EarlyLibc.SOCK_STREAM;
import static dev.jvmm.qmp.EarlyLibc.SOL_SOCKET;
import static dev.jvmm.qmp.EarlyLibc.SO_ACCEPTCONN;
import static dev.jvmm.qmp.EarlyLibc.closeQuietly;

/**
 * The early QMP sockets through libc (JNA): the one way to serve an inherited fd=N socket (libvirt's), which
 * the JDK cannot wrap. One poll(2) over the listeners and an eventfd that stops it.
 */
final class NativeEarlyAcceptor implements EarlyAcceptor {
    /** sizeof(struct sockaddr_un): sa_family_t, then 108 bytes of path. */
    private static final int SOCKADDR_UN_SIZE = 110;
    /** The backlog Netty gives a listener it binds (its SOMAXCONN default). */
    private static final int BACKLOG = 128;

    private final List<QmpEndpoint> endpoints;
    private final byte[] greeting;
    private final List<EarlyQmpListener.Listener> listeners = new ArrayList<>();
    /** An eventfd that ends the accept loop. */
    private int stop = -1;

    NativeEarlyAcceptor(List<QmpEndpoint> endpoints, byte[] greeting) {
        this.endpoints = endpoints;
        this.greeting = greeting;
    }

    @Override
    public boolean open() {
        try {
            stop = EarlyLibc.eventfd(0, EFD_CLOEXEC);
            for (QmpEndpoint ep : endpoints) {
                int fd = openListener(ep);
                if (fd < 0) {
                    break;
                }
                listeners.add(new EarlyQmpListener.Listener(ep, fd, new ArrayList<>()));
            }
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            // no eventfd, or no libc binding: the usual path serves the endpoints
        }
        if (listeners.size() == endpoints.size()) {
            return true;
        }
        closeAll();
        return false;
    }

    @Override
    public void acceptLoop() {
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
                EarlyLibc.poll(fds, n, -1);
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

    @Override
    public void stop() {
        try {
            EarlyLibc.write(stop, new long[] {1}, Long.BYTES);
        } catch (LastErrorException e) {
            // an eventfd write fails only on overflow: the loop has been told already
        }
    }

    @Override
    public List<EarlyQmpListener.Listener> takeOver() {
        closeQuietly(stop);
        List<EarlyQmpListener.Listener> out = new ArrayList<>();
        for (EarlyQmpListener.Listener l : listeners) {
            out.add(new EarlyQmpListener.Listener(l.endpoint(), l.fd(), List.copyOf(l.clients())));
        }
        return out;
    }

    @Override
    public void closeAll() {
        if (stop >= 0) {
            closeQuietly(stop);
        }
        for (EarlyQmpListener.Listener l : listeners) {
            for (EarlyQmpListener.Client c : l.clients()) {
                closeQuietly(c.fd());
            }
            if (l.endpoint().fd() < 0) { // an inherited socket stays open: the usual path serves it
                closeQuietly(l.fd());
                EarlyQmpListener.removeSocketFile(l.endpoint());
            }
        }
    }

    /**
     * Accepts what the backlog holds and greets each (the listening socket is non-blocking); false when
     * accepting fails for another reason than an empty backlog (out of descriptors, say), so that the loop
     * does not spin on it.
     */
    private boolean acceptAll(EarlyQmpListener.Listener l) {
        while (true) {
            int client;
            try {
                client = EarlyLibc.accept4(l.fd(), null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR) {
                    continue;
                }
                return e.getErrorCode() == EAGAIN;
            }
            l.clients().add(new EarlyQmpListener.Client(client, greet(client)));
        }
    }

    /** Sends the greeting; returns what the socket did not take. */
    private byte[] greet(int fd) {
        int sent = 0;
        try {
            sent = (int) EarlyLibc.send(fd, greeting, greeting.length, MSG_DONTWAIT | MSG_NOSIGNAL);
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
                EarlyLibc.getsockopt(ep.fd(), SOL_SOCKET, SO_ACCEPTCONN, listening, new int[] {Integer.BYTES});
                if (listening[0] == 0) {
                    return -1;
                }
                EarlyLibc.fcntl(ep.fd(), F_SETFL, EarlyLibc.fcntl(ep.fd(), F_GETFL, 0) | O_NONBLOCK);
                return ep.fd();
            } catch (LastErrorException e) {
                return -1;
            }
        }
        if (ep.path().toString().getBytes(StandardCharsets.UTF_8).length > EarlyQmpListener.SUN_PATH_MAX) {
            return -1;
        }
        java.nio.file.Path bound = EarlyQmpListener.bindPath(ep);
        byte[] path = bound.toString().getBytes(StandardCharsets.UTF_8);
        int fd = -1;
        try {
            Files.deleteIfExists(bound);
            fd = EarlyLibc.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            byte[] addr = new byte[SOCKADDR_UN_SIZE];
            addr[0] = AF_UNIX;
            System.arraycopy(path, 0, addr, 2, path.length);
            EarlyLibc.bind(fd, addr, SOCKADDR_UN_SIZE);
            EarlyLibc.listen(fd, BACKLOG);
            EarlyQmpListener.publish(bound, ep);
            return fd;
        } catch (LastErrorException | IOException | UnsupportedOperationException e) {
            if (fd >= 0) {
                closeQuietly(fd);
            }
            return -1;
        }
    }
}
