package dev.jvmm.core.net;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * QEMU's NetQueue: the frames waiting for a client that could not take them yet, oldest first. Bounded both in
 * frames (QEMU's 10000) and in bytes, so a peer that never drains costs a fixed amount of memory; a frame
 * past either limit is dropped, as QEMU drops past nq_maxlen. Not thread-safe: its {@link NetClient} guards it.
 */
public final class NetQueue {
    /** QEMU's nq_maxlen for a client's incoming queue. */
    public static final int MAX_FRAMES = 10000;
    /** jvmm's byte bound: 256 full 64 KiB TSO frames. */
    public static final long MAX_BYTES = 16L << 20;

    private final ArrayDeque<Queued> frames = new ArrayDeque<>();
    private long bytes;
    private long dropped;

    /** A queued frame and the client that sent it (dropped with {@link #purge} when that client goes). */
    record Queued(NetClient sender, byte[] frame) {
    }

    /** Copies frame (position to limit) to the tail; false (and counted) when the queue is full. */
    boolean append(NetClient sender, ByteBuffer frame) {
        int len = frame.remaining();
        if (frames.size() >= MAX_FRAMES || bytes + len > MAX_BYTES) {
            dropped++;
            return false;
        }
        byte[] copy = new byte[len];
        frame.duplicate().get(copy);
        frames.addLast(new Queued(sender, copy));
        bytes += len;
        return true;
    }

    Queued peek() {
        return frames.peekFirst();
    }

    void remove() {
        Queued q = frames.pollFirst();
        if (q != null) {
            bytes -= q.frame().length;
        }
    }

    /** Drops the frames sender queued (QEMU's qemu_net_queue_purge), or all of them for null. */
    void purge(NetClient sender) {
        frames.removeIf(q -> {
            if (sender == null || q.sender() == sender) {
                bytes -= q.frame().length;
                return true;
            }
            return false;
        });
    }

    public int size() {
        return frames.size();
    }

    public long bytes() {
        return bytes;
    }

    /** Frames dropped because the queue was full. */
    public long dropped() {
        return dropped;
    }
}
