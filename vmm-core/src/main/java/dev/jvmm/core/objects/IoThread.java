package dev.jvmm.core.objects;

import dev.jvmm.core.os.LibC;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * QEMU's iothread object (qapi/qom.json IothreadProperties): an event-loop thread of its own with the
 * polling settings query-iothreads reports. No device runs its work there yet: devices refuse iothread=.
 */
public final class IoThread implements AutoCloseable {
    public static final TypeInfo BASE = TypeInfo.abstractType("event-loop-base", "object")
            .implementing("user-creatable")
            .props(Property.of("thread-pool-min", PropType.object("int")),
                    Property.of("aio-max-batch", PropType.object("int")),
                    Property.of("thread-pool-max", PropType.object("int")))
            .build();

    public static final TypeInfo TYPE = TypeInfo.type("iothread", "event-loop-base")
            .props(Property.of("poll-max-ns", PropType.object("int")),
                    Property.of("poll-grow", PropType.object("int")),
                    Property.of("poll-shrink", PropType.object("int")))
            .build();

    static final List<String> KEYS = List.of("thread-pool-min", "aio-max-batch", "thread-pool-max", "poll-max-ns",
            "poll-grow", "poll-shrink");
    /** QEMU's default poll-max-ns on Linux (util/aio-posix.c). */
    static final long DEFAULT_POLL_MAX_NS = 32768;
    private static final long START_TIMEOUT_S = 10;

    private final String id;
    private final long pollMaxNs;
    private final long pollGrow;
    private final long pollShrink;
    private final long aioMaxBatch;
    private final long threadPoolMin;
    private final long threadPoolMax;
    private final Thread thread;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile int threadId;
    private volatile boolean stopping;

    IoThread(ObjectOptions o, String threadName) {
        this.id = o.id();
        this.pollMaxNs = o.int64("poll-max-ns", DEFAULT_POLL_MAX_NS);
        this.pollGrow = o.int64("poll-grow", 0);
        this.pollShrink = o.int64("poll-shrink", 0);
        this.aioMaxBatch = o.int64("aio-max-batch", 0);
        this.threadPoolMin = o.int64("thread-pool-min", 0);
        this.threadPoolMax = o.int64("thread-pool-max", 64);
        this.thread = new Thread(this::loop, threadName);
        thread.setDaemon(true);
    }

    /** Starts the thread and waits until its id is known, as QEMU's iothread_complete does. */
    void start() {
        thread.start();
        try {
            if (!started.await(START_TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new IllegalStateException("iothread " + id + " did not start");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        threadId = LibC.gettid();
        started.countDown();
        while (!stopping) {
            LockSupport.park(this);
        }
    }

    public String id() {
        return id;
    }

    public int threadId() {
        return threadId;
    }

    public long pollMaxNs() {
        return pollMaxNs;
    }

    public long pollGrow() {
        return pollGrow;
    }

    public long pollShrink() {
        return pollShrink;
    }

    public long aioMaxBatch() {
        return aioMaxBatch;
    }

    public long threadPoolMin() {
        return threadPoolMin;
    }

    public long threadPoolMax() {
        return threadPoolMax;
    }

    @Override
    public void close() {
        stopping = true;
        LockSupport.unpark(thread);
    }
}
