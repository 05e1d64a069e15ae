package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.fd.UnixMessages;
import dev.jvmm.core.os.EventFd;
import io.netty.channel.Channel;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.unix.UnixChannel;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;

/**
 * The read side of the QMP UNIX sockets: recvmsg(2) instead of read(2), so the descriptors a client sends with
 * SCM_RIGHTS arrive with the bytes they came with (Netty's epoll domain channel reads either bytes or
 * descriptors, never both). Netty keeps the rest of the connection: writes, back-pressure and close. One thread
 * waits in poll(2) for the armed clients and hands each ready one to its event loop, where the reading happens.
 * Netty must never read these sockets itself (a recv without a control buffer drops queued descriptors): its
 * channels do not auto-read, do not watch for the peer's shutdown, and get {@link NoBytes} buffers; the end of
 * input is reported from here.
 */
final class UnixClientReader implements AutoCloseable {
    /** Bytes one recvmsg takes at most. */
    static final int CHUNK = 64 * 1024;
    /** Reads per turn before a client goes back to the poll set, so one busy client cannot hog the loop. */
    static final int READS_PER_TURN = 16;
    /** poll(2) wakes this often at least, so close() ends the thread within this bound. */
    static final int POLL_TIMEOUT_MS = 500;
    /** struct pollfd: fd@0 (int), events@4 (short), revents@6 (short); 8 bytes. */
    static final int POLLFD_SIZE = 8;
    static final int POLLFD_FD = 0;
    static final int POLLFD_EVENTS = 4;
    static final int POLLFD_REVENTS = 6;
    static final short POLLIN = 0x1;

    static {
        Native.register(UnixClientReader.class, "c");
    }

    private static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    /** What a client's handler is given: the bytes read with their descriptors, then the end of the stream. */
    interface Sink {
        void received(byte[] bytes, int len, int[] fds);

        /** The peer shut down its sending side (or the connection failed): nothing more will arrive. */
        void ended();
    }

    /**
     * Netty's receive buffers for these channels: zero bytes, so a read Netty still starts (on an error event)
     * leaves the commands to this reader; Netty takes that empty read for the end of input, which the handler
     * ignores in favour of {@link Sink#ended}.
     */
    static final class NoBytes extends DefaultMaxMessagesRecvByteBufAllocator {
        @Override
        public Handle newHandle() {
            return new MaxMessageHandle() {
                @Override
                public int guess() {
                    return 0;
                }
            };
        }
    }

    /** One connection. armed and paused change on its event loop; the poll thread only reads armed. */
    final class Client {
        private final Channel channel;
        private final EventLoop loop;
        private final int fd;
        private final Sink sink;
        private volatile boolean armed;
        private boolean paused;
        private boolean ended;

        Client(Channel channel, Sink sink) {
            this.channel = channel;
            this.loop = (EventLoop) channel.eventLoop();
            this.fd = ((UnixChannel) channel).fd().intValue();
            this.sink = sink;
        }

        /** Stops reading (requests are queued up to the limit); resume() reads again. Event loop only. */
        void pause() {
            paused = true;
        }

        void resume() {
            if (paused) {
                paused = false;
                readAvailable();
            }
        }

        /** Forgets the connection (it closed). Event loop only. */
        void remove() {
            ended = true;
            armed = false;
            clients.remove(this);
        }

        private void readAvailable() {
            if (ended || !channel.isOpen()) {
                remove();
                return;
            }
            for (int i = 0; i < READS_PER_TURN && !paused; i++) {
                UnixMessages.Received r;
                try {
                    r = messages.receive(fd, buffer);
                } catch (LastErrorException e) {
                    ended = true;
                    sink.ended();
                    return;
                }
                if (r.count() == 0) {
                    closeAll(r.fds());
                    ended = true;
                    sink.ended();
                    return;
                }
                if (r.count() < 0) {
                    arm();
                    return;
                }
                sink.received(buffer, r.count(), r.fds());
            }
            if (!paused) {
                arm();
            }
        }

        private void arm() {
            armed = true;
            wake.signal();
        }
    }

    private final List<Client> clients = new CopyOnWriteArrayList<>();
    private final EventFd wake = new EventFd();
    /** Used on the event loop only (QMP's one loop), so one set of native buffers serves every client. */
    private final UnixMessages messages = new UnixMessages(CHUNK);
    private final byte[] buffer = new byte[CHUNK];
    private volatile boolean closed;
    private Thread thread;

    /** Starts reading a new connection (from its event loop, before any byte of it is read). */
    synchronized Client add(Channel channel, Sink sink) {
        Client c = new Client(channel, sink);
        clients.add(c);
        if (thread == null) {
            thread = new Thread(this::pollLoop, "qmp-recv");
            thread.setDaemon(true);
            thread.start();
        }
        c.arm();
        return c;
    }

    private void pollLoop() {
        Memory fds = new Memory(POLLFD_SIZE);
        Client[] polled = new Client[0];
        while (!closed) {
            List<Client> now = clients.stream().filter(c -> c.armed).toList();
            int n = now.size() + 1;
            if (fds.size() < (long) n * POLLFD_SIZE) {
                fds = new Memory((long) n * 2 * POLLFD_SIZE);
            }
            polled = now.toArray(polled);
            fds.clear();
            fds.setInt(POLLFD_FD, wake.fd());
            fds.setShort(POLLFD_EVENTS, POLLIN);
            for (int i = 0; i < now.size(); i++) {
                fds.setInt((long) (i + 1) * POLLFD_SIZE + POLLFD_FD, polled[i].fd);
                fds.setShort((long) (i + 1) * POLLFD_SIZE + POLLFD_EVENTS, POLLIN);
            }
            try {
                poll(fds, n, POLL_TIMEOUT_MS);
            } catch (LastErrorException e) {
                continue;
            }
            wake.drain();
            for (int i = 0; i < now.size(); i++) {
                if (fds.getShort((long) (i + 1) * POLLFD_SIZE + POLLFD_REVENTS) != 0) {
                    Client c = polled[i];
                    // Out of the poll set until its loop has read what is there.
                    c.armed = false;
                    try {
                        c.loop.execute(c::readAvailable);
                    } catch (RejectedExecutionException e) {
                        clients.remove(c);
                    }
                }
            }
        }
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            UnixMessages.closeFd(fd);
        }
    }

    @Override
    public void close() {
        closed = true;
        wake.signal();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            try {
                t.join(2 * POLL_TIMEOUT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (t == null || !t.isAlive()) {
            wake.close();
        }
    }
}
