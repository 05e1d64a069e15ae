package dev.jvmm.core.loop;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.util.concurrent.TimeUnit;

/**
 * The machine's one I/O event loop (Netty epoll): QMP connections and socket chardevs share it. Nothing
 * that blocks may run on it. One instance per machine, passed to whoever needs it.
 */
public final class IoLoop implements AutoCloseable {
    private final EventLoopGroup group;

    public IoLoop() {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("epoll transport unavailable: " + Epoll.unavailabilityCause());
        }
        group = new EpollEventLoopGroup(1, new DefaultThreadFactory("jvmm-io", true));
    }

    public EventLoopGroup group() {
        return group;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
