package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;

/**
 * A backend queue that carries frames over one stream connection, each preceded by its length as a 4-byte
 * big-endian number (QEMU's net/socket.c and net/stream.c framing). A listening client accepts one peer at a
 * time and listens again when it goes; a connecting one connects once. One thread per backend runs a
 * selector over the listener and the connection. Reading pauses while the NIC peer holds frames it could not
 * take yet; writing keeps at most one partly written frame, and the NIC's frames wait in this client's bounded
 * queue meanwhile, so a peer that never reads costs bounded memory.
 */
abstract class FramedStreamClient extends NetClient implements Runnable {
    /** QEMU's NET_BUFSIZE: the largest frame a length prefix may announce. */
    static final int NET_BUFSIZE = 4096 + 65536;
    private static final int PAUSE_POLL_MS = 50;

    private final Selector selector;
    private final ServerSocketChannel listener;
    private SelectionKey listenKey;
    private volatile SocketChannel conn;
    private volatile SelectionKey connKey;
    private final ByteBuffer in = ByteBuffer.allocate(4 + NET_BUFSIZE);
    private final ByteBuffer out = ByteBuffer.allocateDirect(4 + NET_BUFSIZE);
    private final Object writeLock = new Object();
    private boolean paused;
    private volatile boolean closing;
    private volatile String info = "";
    private Thread thread;

    /** A server (listener != null, already bound) or a client that will connect to connectTo. */
    FramedStreamClient(String id, String model, ServerSocketChannel listener) throws IOException {
        super(id, model, NetClientKind.NETDEV, 0);
        this.selector = Selector.open();
        this.listener = listener;
        out.flip();
    }

    /** The info string for a new connection (peer is its remote address). */
    abstract String connectedInfo(SocketChannel c, boolean accepted) throws IOException;

    /** The connection came up or went down (stream's NETDEV_STREAM_CONNECTED / DISCONNECTED). */
    void connectionChanged(SocketChannel c, boolean up) {
    }

    /** The info string after a connection failed (stream's "connection error"). */
    String failedInfo() {
        return "connection error";
    }

    @Override
    public String infoString() {
        return info;
    }

    void setInfo(String text) {
        info = text;
    }

    /** Starts the thread; for a client, after {@link #connect} set up the channel. */
    void start(String name) throws IOException {
        if (listener != null) {
            listener.configureBlocking(false);
            listenKey = listener.register(selector, SelectionKey.OP_ACCEPT);
        }
        thread = new Thread(this, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts a non-blocking connect to addr; it completes (or fails) on the thread. */
    void connect(SocketChannel c, SocketAddress addr) throws IOException {
        c.configureBlocking(false);
        if (c.connect(addr)) {
            attach(c, false);
        } else {
            connKey = c.register(selector, SelectionKey.OP_CONNECT);
            conn = null;
        }
    }

    private void attach(SocketChannel c, boolean accepted) throws IOException {
        c.configureBlocking(false);
        synchronized (writeLock) {
            out.clear().flip();
            conn = c;
        }
        in.clear();
        paused = false;
        connKey = c.register(selector, SelectionKey.OP_READ);
        if (listenKey != null) {
            listenKey.interestOps(0); // one peer at a time
        }
        info = connectedInfo(c, accepted);
        connectionChanged(c, true);
    }

    private void detach(boolean failed) {
        SocketChannel c = conn;
        synchronized (writeLock) {
            conn = null;
            out.clear().flip();
        }
        if (connKey != null) {
            connKey.cancel();
            connKey = null;
        }
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing a broken connection: nothing more to release
            }
            connectionChanged(c, false);
        }
        if (listenKey != null && listenKey.isValid()) {
            listenKey.interestOps(SelectionKey.OP_ACCEPT);
            info = "";
        } else if (failed) {
            info = failedInfo();
        }
        flushQueued(); // frames held for a write that cannot happen now are dropped by receive
    }

    @Override
    protected int receive(ByteBuffer frame) {
        int len = frame.remaining();
        synchronized (writeLock) {
            SocketChannel c = conn;
            if (c == null) {
                return len; // no peer: dropped, as a disconnected link drops
            }
            if (out.hasRemaining()) {
                return 0; // the previous frame is still being written
            }
            out.clear();
            out.putInt(len);
            out.put(frame.duplicate());
            out.flip();
            try {
                c.write(out);
            } catch (IOException e) {
                out.clear().flip();
                selector.wakeup();
                return len;
            }
            if (out.hasRemaining() && connKey != null && connKey.isValid()) {
                connKey.interestOps(connKey.interestOps() | SelectionKey.OP_WRITE);
                selector.wakeup();
            }
            return len;
        }
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                boolean ready = canSendNow();
                if (paused && ready) {
                    paused = false;
                    if (connKey != null && connKey.isValid()) {
                        connKey.interestOps(connKey.interestOps() | SelectionKey.OP_READ);
                        deliverBuffered();
                    }
                } else if (!paused && !ready) {
                    paused = true;
                    if (connKey != null && connKey.isValid()) {
                        connKey.interestOps(connKey.interestOps() & ~SelectionKey.OP_READ);
                    }
                }
                selector.select(paused ? PAUSE_POLL_MS : 1000);
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k == listenKey && k.isAcceptable()) {
                        SocketChannel c = listener.accept();
                        if (c != null) {
                            if (conn != null) {
                                c.close();
                            } else {
                                attach(c, true);
                            }
                        }
                    } else if (k == connKey) {
                        handleConnection(k);
                    }
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            // the selector was closed under us by cleanup
        } finally {
            detach(false);
        }
    }

    private void handleConnection(SelectionKey k) {
        SocketChannel c = (SocketChannel) k.channel();
        try {
            if (k.isConnectable()) {
                if (c.finishConnect()) {
                    connKey.cancel();
                    connKey = null;
                    selector.selectNow();
                    attach(c, false);
                }
                return;
            }
            if (k.isWritable()) {
                boolean drained;
                synchronized (writeLock) {
                    c.write(out);
                    drained = !out.hasRemaining();
                    if (drained) {
                        k.interestOps(k.interestOps() & ~SelectionKey.OP_WRITE);
                    }
                }
                if (drained) {
                    flushQueued();
                }
            }
            if (k.isValid() && k.isReadable() && !paused) {
                int n = c.read(in);
                if (n < 0) {
                    detach(false);
                    return;
                }
                deliverBuffered();
            }
        } catch (IOException e) {
            SocketNetdev.closeQuietly(c);
            detach(true);
        }
    }

    /** Sends every whole frame in the input buffer; a bad length prefix ends the connection as QEMU does. */
    private void deliverBuffered() {
        in.flip();
        while (in.remaining() >= 4) {
            int len = in.getInt(in.position());
            if (len < 0 || len > NET_BUFSIZE) {
                in.clear();
                detach(false);
                return;
            }
            if (in.remaining() < 4 + len) {
                break;
            }
            int start = in.position() + 4;
            int limit = in.limit();
            in.position(start).limit(start + len);
            int r = len == 0 ? 0 : send(in);
            in.limit(limit).position(start + len);
            if (r == 0 && len != 0) {
                paused = true;
                if (connKey != null && connKey.isValid()) {
                    connKey.interestOps(connKey.interestOps() & ~SelectionKey.OP_READ);
                }
                break;
            }
        }
        in.compact();
    }

    /** The NIC took what it held: the reader looks again at once rather than at its next pause poll. */
    @Override
    protected void peerCanReceive() {
        selector.wakeup();
    }

    @Override
    protected void cleanup() {
        closing = true;
        selector.wakeup();
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            selector.close();
            if (listener != null) {
                listener.close();
            }
            SocketChannel c = conn;
            if (c != null) {
                c.close();
            }
        } catch (IOException e) {
            // already closed
        }
        closed();
    }

    /** After the sockets are closed (a UNIX listener removes its path). */
    void closed() {
    }
}
