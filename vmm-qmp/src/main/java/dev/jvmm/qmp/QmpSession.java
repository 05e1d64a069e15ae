package dev.jvmm.qmp;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;

import java.util.Map;

/**
 * One connected client: its own negotiation state, writes that never block the caller. A client that lets
 * its unread output pass the write-buffer high-water mark is disconnected instead of growing memory.
 */
public final class QmpSession {
    private final Channel channel;
    private volatile boolean negotiated;
    /** Set on the I/O loop once the qmp_capabilities reply is written; events go only to such clients. */
    private volatile boolean events;
    private volatile boolean oob;
    private final dev.jvmm.core.fd.NamedFds namedFds;
    /** Descriptors received (SCM_RIGHTS) that no command took yet. */
    private int[] receivedFds = NO_FDS;
    private static final int[] NO_FDS = new int[0];

    QmpSession(Channel channel) {
        this(channel, new dev.jvmm.core.fd.NamedFds());
    }

    QmpSession(Channel channel, dev.jvmm.core.fd.NamedFds namedFds) {
        this.channel = channel;
        this.namedFds = namedFds;
    }

    /** The named descriptors (getfd) of this client's monitor. */
    public dev.jvmm.core.fd.NamedFds namedFds() {
        return namedFds;
    }

    /**
     * Descriptors that arrived with bytes: they wait for the command that takes one, as in QEMU's socket
     * chardev, which keeps the last message's descriptors and closes older ones still waiting.
     */
    synchronized void fdsReceived(int[] fds) {
        closeFds(receivedFds);
        receivedFds = fds;
    }

    /** qemu_chr_fe_get_msgfd: the first waiting descriptor (now the caller's), the others closed; or -1. */
    public synchronized int takeFd() {
        if (receivedFds.length == 0) {
            return -1;
        }
        int fd = receivedFds[0];
        closeFds(java.util.Arrays.copyOfRange(receivedFds, 1, receivedFds.length));
        receivedFds = NO_FDS;
        return fd;
    }

    /** The connection ended: descriptors no command took are closed. */
    synchronized void closeReceivedFds() {
        closeFds(receivedFds);
        receivedFds = NO_FDS;
    }

    private static void closeFds(int[] fds) {
        for (int fd : fds) {
            dev.jvmm.core.fd.UnixMessages.closeFd(fd);
        }
    }

    public boolean negotiated() {
        return negotiated;
    }

    boolean receivesEvents() {
        return events;
    }

    void startEvents() {
        events = true;
    }

    public boolean oobEnabled() {
        return oob;
    }

    void negotiate(boolean enableOob) {
        negotiated = true;
        oob = enableOob;
    }

    Channel channel() {
        return channel;
    }

    /** Queues one message (already CRLF-terminated); safe from any thread, never blocks. */
    void send(byte[] message) {
        if (!channel.isActive()) {
            return;
        }
        if (!channel.isWritable()) {
            // The client stopped reading: drop it rather than buffer without bound.
            channel.close();
            return;
        }
        channel.writeAndFlush(Unpooled.wrappedBuffer(message));
    }

    /** Closes the connection once everything queued before this call has been written. */
    void closeAfterWrites() {
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    void send(Map<String, Object> message) {
        send(Json.encodeMessage(message));
    }
}
