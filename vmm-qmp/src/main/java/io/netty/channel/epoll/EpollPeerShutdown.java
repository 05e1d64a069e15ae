package io.netty.channel.epoll;

import io.netty.channel.Channel;

import java.io.IOException;

/**
 * Stops Netty from watching a connection for the peer's shutdown (EPOLLRDHUP). Netty answers that event by
 * reading the socket itself, and its recv without a control buffer makes the kernel drop any SCM_RIGHTS
 * descriptors still queued; jvmm's QMP reader (dev.jvmm.qmp.UnixClientReader) reads with recvmsg and reports the
 * end of input on its own. Netty offers no public switch for this flag, hence this one class in its package.
 */
public final class EpollPeerShutdown {
    private EpollPeerShutdown() {
    }

    /** Clears EPOLLRDHUP on an epoll channel; call on its event loop once it is registered. */
    public static void ignore(Channel channel) throws IOException {
        ((AbstractEpollChannel) channel).clearFlag(Native.EPOLLRDHUP);
    }
}
