package dev.jvmm.qmp;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.os.LibC;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketChannel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The QMP server: UNIX-domain listeners on the machine's Netty epoll loop, one independently negotiated
 * session per client, commands dispatched from the {@link Schema}, machine events broadcast to every
 * negotiated client. Commands that touch the machine run on the machine's main loop (never on the I/O
 * loop); events are handed to the I/O loop, so a slow client never blocks the thread that publishes.
 *
 * <p>Use: {@code new QmpServer(machine, ioLoop)}, then {@link #listen(QmpEndpoint)} for each -qmp/-mon.
 */
public final class QmpServer implements AutoCloseable {
    /** Requests queued per client before reading pauses (QEMU's QMP_REQ_QUEUE_LEN_MAX). */
    static final int MAX_QUEUED_REQUESTS = 8;
    /** Unread output a client may accumulate before it is dropped. */
    static final int WRITE_HIGH_WATER = 8 << 20;

    private final MachineControl machine;
    private final IoLoop ioLoop;
    private final EventLoop eventLoop;
    private final Schema schema;
    private final EventRateLimiter limiter;
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    /** Socket files this server bound; QEMU unlinks its server sockets when it exits. */
    private final List<Path> socketFiles = new CopyOnWriteArrayList<>();
    private final List<QmpSession> sessions = new CopyOnWriteArrayList<>();
    private final EventBus.Subscriber subscriber = this::onEvent;
    private final List<dev.jvmm.core.machine.ChardevInfo> monitorChardevs = new CopyOnWriteArrayList<>();
    private final UnixClientReader reader = new UnixClientReader();

    public QmpServer(MachineControl machine, IoLoop ioLoop) {
        this.machine = machine;
        this.ioLoop = ioLoop;
        this.eventLoop = ioLoop.group().next();
        this.schema = QmpCommands.build(machine, this);
        this.limiter = new EventRateLimiter(eventLoop, TimeUnit.SECONDS.toNanos(1), this::broadcast);
        machine.events().subscribe(subscriber);
        machine.lifecycle().addExitHook(this::flushAndCloseAll);
    }

    /**
     * Runs the codec once each way (a request decoded, a reply encoded), so that a thread with nothing else to
     * do during start-up loads and links what the first client's commands would otherwise wait for.
     */
    public static void warmUp() {
        byte[] request = "{\"execute\": \"qmp_capabilities\", \"arguments\": {}, \"id\": 1}\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        new JsonStreamDecoder(new JsonStreamDecoder.Sink() {
            @Override
            public void value(Object value) {
                Json.encodeMessage(Map.of("return", value));
            }

            @Override
            public void error(String desc) {
                Json.encodeMessage(errorReply(null, QmpError.GENERIC, desc));
            }
        }).feed(request, 0, request.length);
    }

    public Schema schema() {
        return schema;
    }

    public MachineControl machine() {
        return machine;
    }

    /** Connected clients (negotiated or not). */
    public int clientCount() {
        return sessions.size();
    }

    /** Listens as one -qmp/-mon endpoint says; with wait=on returns once the first client connected. */
    public void listen(QmpEndpoint ep) throws IOException, InterruptedException {
        if (ep.fd() >= 0) {
            listenFd(ep.fd(), ep.waitForClient(), ep.label());
        } else {
            listenUnix(ep.path(), ep.waitForClient(), ep.label());
        }
    }

    /** Label for a listener started without an endpoint: QEMU's -qmp numbering. */
    private String nextCompatLabel() {
        return "compat_monitor" + monitorChardevs.size();
    }

    /**
     * Binds a UNIX socket at path (a stale file there is replaced; the socket gets mode 0600). With wait,
     * blocks until a client connects, as QEMU's wait=on holds start-up.
     */
    public void listenUnix(Path path, boolean waitForClient) throws IOException, InterruptedException {
        listenUnix(path, waitForClient, nextCompatLabel());
    }

    private void listenUnix(Path path, boolean waitForClient, String label) throws IOException, InterruptedException {
        Files.deleteIfExists(path);
        CountDownLatch connected = new CountDownLatch(1);
        Channel ch;
        try {
            ch = bootstrap(EpollServerDomainSocketChannel::new, connected, new dev.jvmm.core.fd.NamedFds())
                    .bind(new DomainSocketAddress(path.toString())).sync().channel();
        } catch (RuntimeException e) {
            throw new IOException("Failed to bind socket to " + path + ": " + e.getMessage(), e);
        }
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        listeners.add(ch);
        socketFiles.add(path);
        monitorChardevs.add(new dev.jvmm.core.machine.ChardevInfo(label, "unix:" + path + ",server=on", true));
        if (waitForClient) {
            connected.await();
        }
    }

    /**
     * Serves an inherited, already listening UNIX socket (libvirt's fd=N). The descriptor must be a bound,
     * listening stream socket; anything else fails when the first accept is attempted.
     */
    public void listenFd(int fd, boolean waitForClient) throws IOException, InterruptedException {
        listenFd(fd, waitForClient, nextCompatLabel());
    }

    private void listenFd(int fd, boolean waitForClient, String label) throws IOException, InterruptedException {
        if (fd < 0) {
            throw new IOException("invalid file descriptor " + fd);
        }
        try {
            // libvirt hands over a blocking socket: a blocking accept() would stall the whole I/O loop.
            LibC.setNonBlocking(fd);
        } catch (com.sun.jna.LastErrorException e) {
            throw new IOException("cannot use file descriptor " + fd + ": " + LibC.describe(e.getErrorCode()), e);
        }
        CountDownLatch connected = new CountDownLatch(1);
        serveListeningFd(fd, connected, new dev.jvmm.core.fd.NamedFds());
        String where = dev.jvmm.core.os.UnixSockets.boundPath(fd).map(Object::toString).orElse("fd=" + fd);
        monitorChardevs.add(new dev.jvmm.core.machine.ChardevInfo(label, "unix:" + where + ",server=on", true));
        if (waitForClient) {
            connected.await();
        }
    }

    /** Accepts on a listening, non-blocking UNIX socket descriptor this server now owns. */
    private void serveListeningFd(int fd, CountDownLatch connected, dev.jvmm.core.fd.NamedFds namedFds)
            throws IOException {
        Channel ch;
        try {
            ch = bootstrap(() -> new EpollServerDomainSocketChannel(fd, true), connected, namedFds).register()
                    .syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            throw new IOException("cannot use file descriptor " + fd + ": " + e.getMessage(), e);
        }
        listeners.add(ch);
    }

    /**
     * Takes over what the early listener opened before the machine existed: its listening sockets, served from
     * now on as {@link #listen} serves them, and the clients it greeted, which are read from now on as if this
     * server had accepted them (their greeting is not sent again).
     */
    public void adopt(List<EarlyQmpListener.Listener> early) throws IOException {
        for (EarlyQmpListener.Listener l : early) {
            QmpEndpoint ep = l.endpoint();
            dev.jvmm.core.fd.NamedFds namedFds = new dev.jvmm.core.fd.NamedFds();
            String where;
            if (ep.fd() >= 0) {
                where = dev.jvmm.core.os.UnixSockets.boundPath(ep.fd()).map(Object::toString).orElse("fd=" + ep.fd());
            } else {
                where = ep.path().toString();
                socketFiles.add(ep.path());
            }
            monitorChardevs.add(new dev.jvmm.core.machine.ChardevInfo(ep.label(), "unix:" + where + ",server=on",
                    true));
            for (EarlyQmpListener.Client c : l.clients()) {
                DomainSocketChannel ch = new io.netty.channel.epoll.EpollDomainSocketChannel(c.fd());
                configureClient(ch.config());
                ch.pipeline().addLast(new ClientHandler(new CountDownLatch(1), namedFds, c.unsent()));
                eventLoop.register(ch).syncUninterruptibly();
            }
            serveListeningFd(l.fd(), new CountDownLatch(1), namedFds);
        }
    }

    /** query-chardev entries of the monitor sockets (the machine's other chardevs come from MachineControl). */
    List<dev.jvmm.core.machine.ChardevInfo> monitorChardevs() {
        return List.copyOf(monitorChardevs);
    }

    private ServerBootstrap bootstrap(io.netty.channel.ChannelFactory<EpollServerDomainSocketChannel> factory,
            CountDownLatch connected, dev.jvmm.core.fd.NamedFds namedFds) {
        byte[] greeting = QmpGreeting.bytes(machine.info().version());
        return new ServerBootstrap()
                .group(eventLoop, eventLoop)
                .channelFactory(factory)
                .childHandler(new ChannelInitializer<DomainSocketChannel>() {
                    @Override
                    protected void initChannel(DomainSocketChannel c) {
                        configureClient(c.config());
                        c.pipeline().addLast(new ClientHandler(connected, namedFds, greeting));
                    }
                });
    }

    /** A client connection's settings, whether this server or the early listener accepted it. */
    private static void configureClient(io.netty.channel.ChannelConfig config) {
        // A client may send its commands and shut down its sending side (socat with a pipe does); QEMU still
        // answers them all before closing, so the connection stays half open until then.
        config.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // UnixClientReader reads, with the descriptors. Netty does not watch for the peer's shutdown
        // (EpollPeerShutdown), and should an error event make it read, it reads nothing (NoBytes).
        config.setAutoRead(false);
        config.setRecvByteBufAllocator(new UnixClientReader.NoBytes());
        config.setWriteBufferWaterMark(new WriteBufferWaterMark(WRITE_HIGH_WATER / 2, WRITE_HIGH_WATER));
    }

    // ---- events ----

    private void onEvent(VmEvent event, long epochMicros) {
        Map<String, Object> data = QmpEvents.data(event);
        Map<String, Object> msg = QmpEvents.message(event.name(), data, epochMicros);
        try {
            eventLoop.execute(() -> limiter.offer(event.name(), data, msg));
        } catch (RejectedExecutionException e) {
            // The loop is shutting down; nobody is left to tell.
        }
    }

    private void broadcast(Map<String, Object> message) {
        byte[] bytes = Json.encodeMessage(message);
        for (QmpSession s : sessions) {
            if (s.receivesEvents()) {
                s.send(bytes);
            }
        }
    }

    /** Exit hook: every reply and event queued so far reaches the clients, then connections close. */
    private void flushAndCloseAll() {
        List<io.netty.channel.ChannelFuture> fs = new ArrayList<>();
        for (QmpSession s : sessions) {
            fs.add(s.channel().writeAndFlush(Unpooled.EMPTY_BUFFER));
        }
        for (io.netty.channel.ChannelFuture f : fs) {
            f.awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        for (QmpSession s : sessions) {
            s.channel().close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        removeSocketFiles();
    }

    private void removeSocketFiles() {
        for (Path p : socketFiles) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // Left behind: the next server bound there replaces a stale file.
            }
        }
        socketFiles.clear();
    }

    @Override
    public void close() {
        machine.events().unsubscribe(subscriber);
        reader.close();
        for (Channel l : listeners) {
            l.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        for (QmpSession s : sessions) {
            s.channel().close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        removeSocketFiles();
    }

    // ---- one client ----

    private final class ClientHandler extends ChannelInboundHandlerAdapter implements JsonStreamDecoder.Sink {
        private final CountDownLatch connected;
        private final dev.jvmm.core.fd.NamedFds namedFds;
        private UnixClientReader.Client client;
        /** What of the greeting is still to send: all of it, or what the early listener could not. */
        private final byte[] greeting;
        private QmpSession session;
        private JsonStreamDecoder decoder;
        private int queued;

        ClientHandler(CountDownLatch connected, dev.jvmm.core.fd.NamedFds namedFds, byte[] greeting) {
            this.connected = connected;
            this.namedFds = namedFds;
            this.greeting = greeting;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            session = new QmpSession(ctx.channel(), namedFds);
            decoder = new JsonStreamDecoder(this);
            sessions.add(session);
            machine.fdSets().monitorConnected();
            try {
                io.netty.channel.epoll.EpollPeerShutdown.ignore(ctx.channel());
            } catch (java.io.IOException e) {
                ctx.close();
                return;
            }
            client = reader.add(ctx.channel(), new UnixClientReader.Sink() {
                @Override
                public void received(byte[] bytes, int len, int[] fds) {
                    ClientHandler.this.received(bytes, len, fds);
                }

                @Override
                public void ended() {
                    inputEnded();
                }
            });
            if (greeting.length > 0) {
                session.send(greeting);
            }
            connected.countDown();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            sessions.remove(session);
            client.remove();
            session.closeReceivedFds();
            machine.fdSets().monitorDisconnected();
        }

        /** Bytes from the socket; descriptors that came with them wait for a command that takes one. */
        private void received(byte[] bytes, int len, int[] fds) {
            if (fds.length > 0) {
                session.fdsReceived(fds);
            }
            decoder.feed(bytes, 0, len);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            // Netty's own input-shutdown events could only come from its empty reads (NoBytes): ended() counts.
            if (!(evt instanceof ChannelInputShutdownEvent) && !(evt instanceof ChannelInputShutdownReadComplete)) {
                ctx.fireUserEventTriggered(evt);
            }
        }

        /** The client sent all it will: answer what it asked, then close, as QEMU does. */
        private void inputEnded() {
            // Replies go out through the main loop in request order; close after the last of them.
            try {
                machine.mainLoop().execute(session::closeAfterWrites);
            } catch (RejectedExecutionException e) {
                session.closeAfterWrites();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        /**
         * The qmp_capabilities reply: events start for this client only once it is written, so no event
         * overtakes it (in QEMU the reply leaves before the big lock lets any event through). An event
         * raised meanwhile counts as raised before negotiation.
         */
        private void replyThenEvents(Map<String, Object> m) {
            try {
                machine.mainLoop().execute(() -> {
                    session.send(m);
                    eventLoop.execute(session::startEvents);
                });
            } catch (RejectedExecutionException e) {
                session.send(m);
                session.startEvents();
            }
        }

        @Override
        public void error(String desc) {
            reply(errorReply(null, QmpError.GENERIC, desc));
        }

        /**
         * Replies produced on the I/O loop still go out through the main loop's queue, so every client sees
         * its replies in request order even when earlier commands are still running there.
         */
        private void reply(Map<String, Object> m) {
            try {
                machine.mainLoop().execute(() -> session.send(m));
            } catch (RejectedExecutionException e) {
                session.send(m);
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public void value(Object value) {
            if (!(value instanceof Map<?, ?> raw)) {
                reply(errorReply(null, QmpError.GENERIC, "QMP input must be a JSON object"));
                return;
            }
            Map<String, Object> req = (Map<String, Object>) raw;
            Object id = req.get("id");
            Object execute = req.get("execute");
            Object execOob = req.get("exec-oob");
            boolean oob = execOob != null && session.oobEnabled();
            for (String k : req.keySet()) {
                boolean known = k.equals("execute") || k.equals("arguments") || k.equals("id")
                        || (k.equals("exec-oob") && session.oobEnabled());
                if (!known) {
                    reply(errorReply(id, QmpError.GENERIC, "QMP input member '" + k + "' is unexpected"));
                    return;
                }
            }
            Object name = oob ? execOob : execute;
            if (execute != null && execOob != null) {
                reply(errorReply(id, QmpError.GENERIC,
                        "QMP input member 'execute' clashes with 'exec-oob'"));
                return;
            }
            if (name == null) {
                reply(errorReply(id, QmpError.GENERIC, "QMP input lacks member 'execute'"));
                return;
            }
            if (!(name instanceof String cmdName)) {
                reply(errorReply(id, QmpError.GENERIC,
                        "QMP input member '" + (oob ? "exec-oob" : "execute") + "' must be a string"));
                return;
            }
            Object args = req.get("arguments");
            if (args != null && !(args instanceof Map)) {
                reply(errorReply(id, QmpError.GENERIC, "QMP input member 'arguments' must be an object"));
                return;
            }
            Map<String, Object> argMap = args == null ? Map.of() : (Map<String, Object>) args;
            if (!session.negotiated() && !cmdName.equals("qmp_capabilities")) {
                reply(errorReply(id, QmpError.COMMAND_NOT_FOUND,
                        "Expecting capabilities negotiation with 'qmp_capabilities'"));
                return;
            }
            Schema.Command cmd = schema.lookup(cmdName);
            if (cmd == null) {
                reply(errorReply(id, QmpError.COMMAND_NOT_FOUND,
                        "The command " + cmdName + " has not been found"));
                return;
            }
            if (oob && !cmd.allowOob()) {
                reply(errorReply(id, QmpError.GENERIC, "The command " + cmdName + " does not support OOB"));
                return;
            }
            if (cmd.onLoop()) {
                boolean wasNegotiated = session.negotiated();
                Map<String, Object> reply = run(cmd, argMap, id);
                if (!wasNegotiated && session.negotiated()) {
                    replyThenEvents(reply);
                } else {
                    reply(reply);
                }
                return;
            }
            queued++;
            if (queued >= MAX_QUEUED_REQUESTS) {
                client.pause();
            }
            try {
                machine.mainLoop().execute(() -> {
                    Map<String, Object> reply = run(cmd, argMap, id);
                    session.send(reply);
                    eventLoop.execute(this::requestDone);
                });
            } catch (RejectedExecutionException e) {
                session.send(errorReply(id, QmpError.GENERIC, "the machine is shutting down"));
                requestDone();
            }
        }

        private void requestDone() {
            queued--;
            if (queued < MAX_QUEUED_REQUESTS) {
                client.resume();
            }
        }

        private Map<String, Object> run(Schema.Command cmd, Map<String, Object> args, Object id) {
            try {
                Object ret = cmd.invoke(args, session);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("return", ret);
                if (id != null) {
                    m.put("id", id);
                }
                return m;
            } catch (QmpError e) {
                return errorReply(id, e.errorClass(), e.getMessage());
            } catch (RuntimeException e) {
                // A bug in a handler must not take the monitor down with it.
                return errorReply(id, QmpError.GENERIC, "internal error: " + e);
            }
        }
    }

    static Map<String, Object> errorReply(Object id, String cls, String desc) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("class", cls);
        err.put("desc", desc);
        Map<String, Object> m = new LinkedHashMap<>();
        if (id != null) {
            m.put("id", id);
        }
        m.put("error", err);
        return m;
    }
}
