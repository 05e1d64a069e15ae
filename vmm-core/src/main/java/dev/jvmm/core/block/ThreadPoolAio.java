package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.os.EventFd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * aio=threads, QEMU's util/thread-pool.c: blocking preadv/pwritev on a pool of workers (at most 64, as QEMU's
 * default thread-pool-max), started as requests arrive and ended after 10 s idle, so an idle VM has none.
 * Each tag owns one preallocated job, so submitting allocates nothing; finished jobs are queued for the reaper
 * and the eventfd signalled.
 */
final class ThreadPoolAio implements AioEngine {
    static final int MAX_WORKERS = 64;
    private static final long IDLE_SECONDS = 10;

    static {
        Native.register(ThreadPoolAio.class, "c");
    }

    private static native long preadv(int fd, long iov, int iovcnt, long offset) throws LastErrorException;

    private static native long pwritev(int fd, long iov, int iovcnt, long offset) throws LastErrorException;

    private final EventFd done;
    private final ThreadPoolExecutor pool;
    private final Job[] jobs;
    private final ConcurrentLinkedQueue<Job> finished = new ConcurrentLinkedQueue<>();
    private int prepared;
    private final Job[] batch;
    private int inFlight;

    ThreadPoolAio(int capacity, String name, EventFd done) {
        this.done = done;
        jobs = new Job[capacity];
        batch = new Job[capacity];
        AtomicInteger n = new AtomicInteger();
        int workers = Math.min(MAX_WORKERS, capacity);
        pool = new ThreadPoolExecutor(workers, workers, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "aio-" + name + "-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
    }

    /** One request slot: what to run and, once run, its result. */
    private final class Job implements Runnable {
        final int tag;
        boolean write;
        int fd;
        long iov;
        int iovcnt;
        long offset;
        long result;

        Job(int tag) {
            this.tag = tag;
        }

        @Override
        public void run() {
            try {
                result = write ? pwritev(fd, iov, iovcnt, offset) : preadv(fd, iov, iovcnt, offset);
            } catch (LastErrorException e) {
                result = -e.getErrorCode();
            }
            finished.add(this);
            done.signal();
        }
    }

    @Override
    public void prepare(int tag, boolean write, int fd, long iov, int iovcnt, long offset) {
        Job j = jobs[tag];
        if (j == null) {
            j = jobs[tag] = new Job(tag);
        }
        j.write = write;
        j.fd = fd;
        j.iov = iov;
        j.iovcnt = iovcnt;
        j.offset = offset;
        batch[prepared++] = j;
    }

    @Override
    public void submit() {
        for (int i = 0; i < prepared; i++) {
            inFlight++;
            pool.execute(batch[i]);
            batch[i] = null;
        }
        prepared = 0;
    }

    @Override
    public int reap(Sink sink) {
        done.drain();
        int n = 0;
        Job j;
        while ((j = finished.poll()) != null) {
            inFlight--;
            n++;
            sink.done(j.tag, j.result);
        }
        return n;
    }

    @Override
    public int inFlight() {
        return inFlight;
    }

    @Override
    public void close() {
        pool.shutdown();
    }
}
