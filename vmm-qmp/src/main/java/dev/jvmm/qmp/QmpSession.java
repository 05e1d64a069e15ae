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

    QmpSession(Channel channel) {
        this.channel = channel;
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
