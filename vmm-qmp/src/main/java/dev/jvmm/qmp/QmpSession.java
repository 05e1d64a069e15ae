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
    private volatile boolean oob;
    private final dev.jvmm.core.fd.NamedFds namedFds;
    /** Descriptors received (SCM_RIGHTS) and not yet claimed by a request; I/O loop only. */
    private int[] receivedFds = NO_FDS;
    /** The running command's descriptors; main loop only. */
    private int[] commandFds = NO_FDS;
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
     * Descriptors that arrived with bytes: they wait for the next request; ones still waiting when newer
     * ones arrive are closed, as QEMU's socket chardev keeps only the last message's.
     */
    void fdsReceived(int[] fds) {
        closeFds(receivedFds);
        receivedFds = fds;
    }

    /** The waiting descriptors, handed to the request just parsed. */
    int[] claimReceivedFds() {
        int[] fds = receivedFds;
        receivedFds = NO_FDS;
        return fds;
    }

    /** The running command's descriptors become available to {@link #takeFd}; main loop only. */
    void beginCommand(int[] fds) {
        commandFds = fds;
    }

    /** The command ended: the descriptors it did not take are closed, as QEMU closes them. */
    void endCommand() {
        closeFds(commandFds);
        commandFds = NO_FDS;
    }

    /** qemu_chr_fe_get_msgfd: the running command's first descriptor (now the caller's), or -1. */
    public int takeFd() {
        for (int i = 0; i < commandFds.length; i++) {
            if (commandFds[i] >= 0) {
                int fd = commandFds[i];
                commandFds[i] = -1;
                return fd;
            }
        }
        return -1;
    }

    void closeReceivedFds() {
        closeFds(claimReceivedFds());
    }

    private static void closeFds(int[] fds) {
        for (int fd : fds) {
            dev.jvmm.core.fd.UnixMessages.closeFd(fd);
        }
    }

    public boolean negotiated() {
        return negotiated;
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
