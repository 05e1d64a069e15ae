package dev.jvmm.core.chardev;

import dev.jvmm.core.loop.IoLoop;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * QEMU's socket backend on a UNIX-domain socket, on the machine's Netty epoll loop.
 *
 * <p>Server mode ({@code server=on}): a stale file at the path is removed, the socket is bound and made
 * mode 0600, and one client is served at a time; while one is connected the listener stops accepting, so
 * further clients wait in the kernel backlog (or, if already accepted, in a queue without being read)
 * until it leaves, as QEMU does. {@code wait=on} makes {@link #server} block until the first client
 * arrives. Client mode connects to the path; with {@code reconnect=N} a lost or failed connection is
 * retried every N seconds.
 *
 * <p>Input to the frontend honours {@link FlowControlledReceiver}: when it has no room the channel stops
 * reading (autoRead off) and the unread rest is kept; its input-ready hook resumes delivery on the loop.
 * Output while no peer is connected is dropped, as in QEMU.
 */
public final class SocketChardev extends AbstractChardev {
    /**
     * Output queued for a slow peer before {@link #isWritable()} says stop, and the level it must fall to
     * before writers resume: large enough that a bulk writer rarely waits on a reading peer.
     */
    static final io.netty.channel.WriteBufferWaterMark WATER_MARK =
            new io.netty.channel.WriteBufferWaterMark(256 * 1024, 1024 * 1024);
    /** The socket's path; for an inherited socket, the address it was bound to (null if unnamed). */
    private Path path;
    /** An inherited listening socket (fd=) bound to no path this process can find: no file to remove. */
    private boolean unnamed;
    private final boolean serverMode;
    private final int reconnectSeconds;
    private final EventLoop loop;
    private final IoLoop ioLoop;

    private volatile Channel active;
    private volatile boolean closed;
    private Channel listener;
    private final ArrayDeque<Channel> waiting = new ArrayDeque<>();   // loop thread only
    private CompositeByteBuf pending;                                 // loop thread only
    private final byte[] scratch = new byte[4096];                    // loop thread only
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    /** Set while input waits for the frontend; the frontend's hook only costs a loop wake-up then. */
    private volatile boolean starved;
    private final CountDownLatch firstClient = new CountDownLatch(1);
    private boolean connectErrorReported;
    private volatile Runnable writableHook;
    private volatile java.util.function.Consumer<Boolean> connectionListener;

    private SocketChardev(String id, Path path, boolean server, int reconnectSeconds, IoLoop ioLoop) {
        super(id);
        this.path = path;
        this.serverMode = server;
        this.reconnectSeconds = reconnectSeconds;
        this.ioLoop = ioLoop;
        this.loop = ioLoop.group().next();
    }

    /**
     * Listens on path. With wait, blocks until the first client connects, printing QEMU's
     * "waiting for connection" line to stderr first.
     *
     * @throws IOException with QEMU's text, e.g. "Failed to bind socket to P: No such file or directory"
     */
    public static SocketChardev server(String id, Path path, boolean wait, IoLoop ioLoop)
            throws IOException, InterruptedException {
        SocketChardev c = new SocketChardev(id, path, true, 0, ioLoop);
        c.listen();
        if (wait) {
            System.err.println("jvmm: info: QEMU waiting for connection on: " + c.describe());
            c.firstClient.await();
        }
        return c;
    }

    /**
     * Listens on an inherited, already listening socket (fd=N, as libvirt passes its channels' sockets).
     * With wait, blocks until the first client connects.
     *
     * @throws IOException when fd is no listening UNIX socket
     */
    public static SocketChardev serverFd(String id, int fd, boolean wait, IoLoop ioLoop)
            throws IOException, InterruptedException {
        SocketChardev c = new SocketChardev(id, null, true, 0, ioLoop);
        java.util.Optional<Path> bound = dev.jvmm.core.os.UnixSockets.boundPath(fd);
        c.unnamed = bound.isEmpty();
        c.path = bound.orElse(Path.of("fd=" + fd));
        try {
            // The parent's socket is blocking: a blocking accept() would stall the whole I/O loop.
            dev.jvmm.core.os.LibC.setNonBlocking(fd);
        } catch (com.sun.jna.LastErrorException e) {
            throw new IOException("cannot use file descriptor " + fd + ": "
                    + dev.jvmm.core.os.LibC.describe(e.getErrorCode()), e);
        }
        ChannelFuture f;
        try {
            f = c.serverBootstrap().channelFactory(() -> new EpollServerDomainSocketChannel(fd, true))
                    .register().await();
        } catch (RuntimeException e) {
            throw new IOException("cannot use file descriptor " + fd + ": " + e.getMessage(), e);
        }
        if (!f.isSuccess()) {
            throw new IOException("cannot use file descriptor " + fd + ": " + reason(f.cause()));
        }
        c.listener = f.channel();
        if (wait) {
            System.err.println("jvmm: info: QEMU waiting for connection on: " + c.describe());
            c.firstClient.await();
        }
        return c;
    }

    /**
     * Connects to path. Without reconnect a failure is an IOException with QEMU's text ("Failed to
     * connect to 'P': Connection refused"); with reconnect &gt; 0 it connects in the background and retries.
     */
    public static SocketChardev client(String id, Path path, int reconnectSeconds, IoLoop ioLoop)
            throws IOException, InterruptedException {
        SocketChardev c = new SocketChardev(id, path, false, reconnectSeconds, ioLoop);
        if (reconnectSeconds > 0) {
            c.connectAsync();
        } else {
            ChannelFuture f = c.connect().await();
            if (!f.isSuccess()) {
                throw new IOException("Failed to connect to '" + path + "': " + reason(f.cause()));
            }
        }
        return c;
    }

    public Path path() {
        return path;
    }

    /** Waits up to the timeout for a peer; for tests and for callers that need one. */
    public boolean awaitConnection(long timeout, TimeUnit unit) throws InterruptedException {
        return firstClient.await(timeout, unit);
    }

    private void listen() throws IOException, InterruptedException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(path); // a stale socket from an earlier run, as QEMU unlinks before bind
        }
        ServerBootstrap b = serverBootstrap().channel(EpollServerDomainSocketChannel.class);
        ChannelFuture f = b.bind(new DomainSocketAddress(path.toString())).await();
        if (!f.isSuccess()) {
            throw new IOException("Failed to bind socket to " + path + ": " + reason(f.cause()));
        }
        listener = f.channel();
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            listener.close();
            throw new IOException("Failed to set mode of " + path + ": " + e.getMessage());
        }
    }

    private ServerBootstrap serverBootstrap() {
        return new ServerBootstrap()
                .group(ioLoop.group())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Handler());
                    }
                });
    }

    private ChannelFuture connect() {
        return new Bootstrap()
                .group(loop)
                .channel(EpollDomainSocketChannel.class)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new Handler())
                .connect(new DomainSocketAddress(path.toString()));
    }

    private void connectAsync() {
        if (closed) {
            return;
        }
        connect().addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                if (!connectErrorReported) {
                    // QEMU reports a failing reconnect once, until a connection succeeds again.
                    connectErrorReported = true;
                    System.err.println("jvmm: Unable to connect character device " + id() + ": Failed to connect to '"
                            + path + "': " + reason(f.cause()));
                }
                scheduleReconnect();
            } else {
                connectErrorReported = false;
            }
        });
    }

    private void scheduleReconnect() {
        if (!closed && reconnectSeconds > 0) {
            loop.schedule(this::connectAsync, reconnectSeconds, TimeUnit.SECONDS);
        }
    }

    private static String reason(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        if (t instanceof java.io.FileNotFoundException) {
            return "No such file or directory"; // Netty reports ENOENT this way, without a message
        }
        if (t instanceof io.netty.channel.unix.Errors.NativeIoException n && n.expectedErr() < 0) {
            return dev.jvmm.core.os.LibC.describe(-n.expectedErr());
        }
        String m = String.valueOf(t.getMessage());
        int i = m.indexOf("failed: ");
        if (i >= 0) {
            m = m.substring(i + "failed: ".length());
        }
        int addr = m.indexOf(": /");
        return addr >= 0 ? m.substring(0, addr) : m; // Netty appends the address; QEMU's text ends at strerror

    }

    // ---- connection handling (event loop) -------------------------------------------------------

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            if (closed) {
                ch.close();
                return;
            }
            if (active == null) {
                activate(ch);
            } else {
                waiting.add(ch); // served when the current client leaves
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            if (ctx.channel() != active) {
                buf.release();
                return;
            }
            if (pending == null) {
                pending = ctx.alloc().compositeBuffer();
            }
            pending.addComponent(true, buf);
            drain();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            waiting.remove(ch);
            if (ch != active) {
                return;
            }
            active = null;
            if (pending != null) {
                pending.release();
                pending = null;
            }
            java.util.function.Consumer<Boolean> l = connectionListener;
            if (l != null) {
                l.accept(false);
            }
            Runnable h = writableHook;
            if (h != null) {
                h.run(); // output is dropped from now on, so nobody waits for room
            }
            if (serverMode) {
                Channel next = waiting.poll();
                if (next != null) {
                    activate(next);
                } else if (listener != null && listener.isOpen()) {
                    listener.config().setAutoRead(true);
                    listener.read();
                }
            } else {
                scheduleReconnect();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Runnable h = writableHook;
            if (ctx.channel() == active && ctx.channel().isWritable() && h != null) {
                h.run();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a broken peer ends its connection; the chardev lives on
        }
    }

    private void activate(Channel ch) {
        active = ch;
        if (serverMode && listener != null) {
            listener.config().setAutoRead(false); // one client at a time
        }
        firstClient.countDown();
        java.util.function.Consumer<Boolean> l = connectionListener;
        if (l != null) {
            l.accept(true);
        }
        ch.config().setAutoRead(true);
        ch.read();
    }

    /** Moves buffered input to the frontend as far as it has room; stops reading when it has none. */
    private void drain() {
        drainScheduled.set(false);
        starved = false;
        Channel ch = active;
        if (pending == null || ch == null) {
            return;
        }
        while (pending.isReadable()) {
            Receiver r = receiver();
            int n = pending.readableBytes();
            if (r instanceof FlowControlledReceiver f) {
                n = Math.min(n, f.canReceive());
                if (n <= 0) {
                    ch.config().setAutoRead(false);
                    starved = true;
                    if (f.canReceive() > 0) {
                        inputReady(); // room appeared while we were deciding to wait
                    }
                    return;
                }
            }
            n = Math.min(n, scratch.length);
            pending.readBytes(scratch, 0, n);
            if (r != null) {
                r.receive(scratch, 0, n);
            }
        }
        pending.release();
        pending = null;
        if (!ch.config().isAutoRead()) {
            ch.config().setAutoRead(true);
            ch.read();
        }
    }

    @Override
    protected void inputReady() {
        if (starved && drainScheduled.compareAndSet(false, true)) {
            loop.execute(drainTask);
        }
    }

    // ---- output ----------------------------------------------------------------------------------

    @Override
    public void write(byte[] data, int offset, int length) {
        Channel ch = active;
        if (ch == null || length <= 0) {
            return; // nobody connected: dropped, as QEMU does
        }
        ByteBuf buf = ch.alloc().buffer(length);
        buf.writeBytes(data, offset, length);
        ch.writeAndFlush(buf, ch.voidPromise());
    }

    @Override
    public boolean isConnected() {
        return active != null;
    }

    /** False while the connected peer has not read what was written (Netty's write-buffer high-water mark). */
    @Override
    public boolean isWritable() {
        Channel ch = active;
        return ch == null || ch.isWritable();
    }

    @Override
    public void setWritableHook(Runnable hook) {
        writableHook = hook;
    }

    @Override
    public void setConnectionListener(java.util.function.Consumer<Boolean> listener) {
        connectionListener = listener;
    }

    @Override
    public String describe() {
        String s = "unix:" + path + (serverMode ? ",server=on" : "");
        return active == null ? "disconnected:" + s : s;
    }

    @Override
    public void close() {
        closed = true;
        Channel ch = active;
        if (ch != null) {
            ch.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
            try {
                // QEMU removes a listener's socket file on close, an inherited one's too (socket_listen_cleanup)
                if (!unnamed) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException e) {
                // left behind; the next server start replaces it
            }
        }
        loop.execute(() -> {
            for (Channel w : waiting) {
                w.close();
            }
            waiting.clear();
        });
        firstClient.countDown();
    }
}
