package dev.jvmm.core.block;

import dev.jvmm.core.os.EventFd;

/**
 * Requests an {@link AioEngine} could not hand to the host (io_submit refused one, the ring had no room): each
 * fails with its errno through the next reap, as a request the host failed would, so the caller has one path.
 */
final class RefusedRequests {
    private final int[] tags;
    private final int[] errnos;
    private final EventFd done;
    private int count;

    RefusedRequests(int capacity, EventFd done) {
        tags = new int[capacity];
        errnos = new int[capacity];
        this.done = done;
    }

    void add(int tag, int errno) {
        tags[count] = tag;
        errnos[count++] = errno;
        done.signal();
    }

    /** Hands every refused request to sink as failed with its errno; returns how many. */
    int deliver(AioEngine.Sink sink) {
        int n = count;
        while (count > 0) {
            count--;
            sink.done(tags[count], -errnos[count]);
        }
        return n;
    }

    int count() {
        return count;
    }
}
