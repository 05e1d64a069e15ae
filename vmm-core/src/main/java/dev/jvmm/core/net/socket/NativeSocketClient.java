package dev.jvmm.core.net.socket;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.os.LibC;
import dev.jvmm.core.os.Poll;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A backend queue on a socket descriptor the JDK cannot wrap: one passed in with fd= (socket, stream, dgram)
 * or a UNIX datagram socket (dgram with unix addresses). Stream descriptors carry length-prefixed frames,
 * datagram descriptors one frame per datagram, as {@link FramedStreamClient} and {@link DatagramClient} do on
 * JDK channels. A thread polls the descriptor and a shutdown eventfd; reads pause while the NIC holds frames,
 * and at most one frame waits for POLLOUT.
 */
final class NativeSocketClient extends NetClient implements Runnable {
    static final int AF_UNIX = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_DONTWAIT = 0x40;
    static final int SOL_SOCKET = 1;
    static final int SO_TYPE = 3;
    static final int SOCK_STREAM = 1;
    /** sizeof(struct sockaddr_un). */
    static final int SOCKADDR_UN_SIZE = 110;
    private static final int EAGAIN = 11;
    private static final int PAUSE_POLL_MS = 50;

    static {
        Native.register(NativeSocketClient.class, "c");
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, Pointer addr, int len) throws LastErrorException;

    static native int getsockopt(int fd, int level, int name, Pointer value, Pointer len) throws LastErrorException;

    private static native long read(int fd, Pointer buf, long n) throws LastErrorException;

    private static native long write(int fd, Pointer buf, long n) throws LastErrorException;

    private static native long sendto(int fd, Pointer buf, long n, int flags, Pointer dest, int destLen)
            throws LastErrorException;

    private static native long recv(int fd, Pointer buf, long n, int flags) throws LastErrorException;

    private final int fd;
    private final boolean stream;
    private final Memory dest;
    private final EventFd stop = new EventFd();
    private final Poll poll = new Poll();
    private final Memory rbuf = new Memory(4 + FramedStreamClient.NET_BUFSIZE);
    private final ByteBuffer rview = rbuf.getByteBuffer(0, rbuf.size()).order(java.nio.ByteOrder.BIG_ENDIAN);
    private final Memory wbuf = new Memory(4 + FramedStreamClient.NET_BUFSIZE);
    private final ByteBuffer wview = wbuf.getByteBuffer(0, wbuf.size()).order(java.nio.ByteOrder.BIG_ENDIAN);
    private final Object writeLock = new Object();
    private int wpos;
    private int wlen;
    private volatile boolean wantWrite;
    private volatile boolean closing;
    private volatile boolean connected = true;
    /** Set by {@link #deliver}: the NIC refused a frame (reader thread only). */
    private boolean refused;
    private final String info;
    private final Thread thread;

    NativeSocketClient(String id, String model, int fd, boolean stream, Memory dest, String info) {
        super(id, model, NetClientKind.NETDEV, 0);
        this.fd = fd;
        this.stream = stream;
        this.dest = dest;
        this.info = info;
        LibC.setNonBlocking(fd);
        thread = new Thread(this, "netdev-" + model + "-" + id);
        thread.setDaemon(true);
        thread.start();
    }

    /** QEMU's "Can't use file descriptor": fd must be an open socket; returns whether it is a stream one. */
    static boolean isStreamSocket(String id, int fd) throws NetdevException {
        Memory v = new Memory(4);
        Memory len = new Memory(4);
        len.setInt(0, 4);
        try {
            getsockopt(fd, SOL_SOCKET, SO_TYPE, v, len);
        } catch (LastErrorException e) {
            throw new NetdevException(id + ": Can't use file descriptor " + fd + ": "
                    + LibC.describe(e.getErrorCode()));
        }
        return v.getInt(0) == SOCK_STREAM;
    }

    /** A struct sockaddr_un for path. */
    static Memory sockaddrUn(String path) throws NetdevException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= SOCKADDR_UN_SIZE - 2) {
            throw new NetdevException("UNIX socket path '" + path + "' is too long");
        }
        Memory m = new Memory(SOCKADDR_UN_SIZE);
        m.clear();
        m.setShort(0, (short) AF_UNIX);
        m.write(2, p, 0, p.length);
        return m;
    }

    @Override
    public String infoString() {
        return info;
    }

    @Override
    protected int receive(ByteBuffer frame) {
        int len = frame.remaining();
        synchronized (writeLock) {
            if (!connected) {
                return len;
            }
            if (wpos < wlen) {
                return 0;
            }
            int off = 0;
            if (stream) {
                wview.putInt(0, len); // ByteBuffer views are big-endian: the wire order
                off = 4;
            }
            wview.put(off, frame, frame.position(), len);
            wpos = 0;
            wlen = off + len;
            try {
                long n = stream ? write(fd, wbuf, wlen)
                        : sendto(fd, wbuf, wlen, MSG_DONTWAIT, dest, dest == null ? 0 : SOCKADDR_UN_SIZE);
                wpos = stream ? (int) n : wlen;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EAGAIN) {
                    wpos = wlen; // a datagram nobody receives is dropped, as QEMU drops it
                    return len;
                }
                if (!stream) {
                    wlen = 0;
                    wantWrite = true;
                    stop.signal();
                    return 0;
                }
            }
            if (wpos < wlen) {
                wantWrite = true;
                stop.signal();
            }
            return len;
        }
    }

    @Override
    public void run() {
        int filled = 0;
        boolean paused = false;
        while (!closing && connected) {
            boolean wasPaused = paused;
            paused = !canSendNow();
            if (wasPaused && !paused) {
                if (stream) {
                    filled = deliver(filled);
                    paused = refused;
                }
            }
            poll.clear();
            poll.add(stop.fd(), Poll.POLLIN);
            poll.add(fd, (paused ? 0 : Poll.POLLIN) | (wantWrite ? Poll.POLLOUT : 0));
            poll.poll(paused ? PAUSE_POLL_MS : 1000);
            if (poll.revents(0) != 0) {
                stop.drain();
            }
            int r = poll.revents(1);
            if ((r & Poll.POLLOUT) != 0 && wantWrite) {
                if (flushPending()) {
                    wantWrite = false;
                    flushQueued();
                }
            }
            if ((r & (Poll.POLLIN | Poll.POLLHUP | Poll.POLLERR)) != 0 && !paused) {
                try {
                    if (stream) {
                        long n = read(fd, rbuf.share(filled), rbuf.size() - filled);
                        if (n <= 0) {
                            connected = false;
                            break;
                        }
                        filled = deliver(filled + (int) n);
                        paused = refused;
                    } else {
                        long n = recv(fd, rbuf, rbuf.size(), MSG_DONTWAIT);
                        if (n > 0) {
                            rview.limit((int) n).position(0);
                            paused = send(rview) == 0;
                        }
                    }
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != EAGAIN && stream) {
                        connected = false;
                    }
                }
            }
        }
    }

    /** Writes what waits; true once nothing does. */
    private boolean flushPending() {
        synchronized (writeLock) {
            if (wpos >= wlen) {
                return true;
            }
            try {
                wpos += (int) write(fd, wbuf.share(wpos), wlen - wpos);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EAGAIN) {
                    wpos = wlen;
                }
            }
            return wpos >= wlen;
        }
    }

    /**
     * Sends the whole frames among the first filled bytes and moves the rest to the front; returns the bytes
     * kept and sets {@link #refused} when the NIC refused a frame (reading pauses). A bad length ends the
     * connection.
     */
    private int deliver(int filled) {
        int pos = 0;
        refused = false;
        while (filled - pos >= 4) {
            int len = rview.getInt(pos);
            if (len < 0 || len > FramedStreamClient.NET_BUFSIZE) {
                connected = false;
                return 0;
            }
            if (filled - pos < 4 + len) {
                break;
            }
            rview.limit(pos + 4 + len).position(pos + 4);
            int r = len == 0 ? len : send(rview);
            pos += 4 + len;
            if (r == 0 && len != 0) {
                refused = true;
                break;
            }
        }
        rview.limit(filled).position(pos);
        rview.compact();
        int kept = filled - pos;
        rview.clear();
        return kept;
    }

    /** The NIC took what it held: the reader looks again at once rather than at its next pause poll. */
    @Override
    protected void peerCanReceive() {
        stop.signal();
    }

    @Override
    protected void cleanup() {
        closing = true;
        stop.signal();
        if (thread != Thread.currentThread()) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        LibC.close(fd);
        stop.close();
    }
}
