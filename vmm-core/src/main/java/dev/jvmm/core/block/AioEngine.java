package dev.jvmm.core.block;

import dev.jvmm.core.os.EventFd;

/**
 * QEMU's aio= for the file driver (block/file-posix.c): an engine that runs vectored reads and writes on a host
 * descriptor while the caller goes on, and hands back each result through an eventfd the caller polls. One
 * thread prepares, submits and reaps (a device thread); requests are identified by small integer tags the
 * caller reuses, so a request costs no allocation. Each engine starts what it needs (a worker, a ring, an AIO
 * context) on its first request. The eventfd is the caller's, which polls it with its other descriptors.
 */
public interface AioEngine extends AutoCloseable {
    /** -drive/-blockdev aio= values, QEMU 7.2's spelling. */
    String THREADS = "threads";
    String NATIVE = "native";
    String IO_URING = "io_uring";

    /** Results come back here: result is the byte count transferred, or -errno. */
    @FunctionalInterface
    interface Sink {
        void done(int tag, long result);
    }

    /**
     * Queues a preadv (write false) or pwritev on fd: iovcnt struct iovec at native address iov, which stay valid
     * until the result is reaped; tag below the engine's capacity.
     */
    void prepare(int tag, boolean write, int fd, long iov, int iovcnt, long offset);

    /** Hands the prepared requests to the host in one go (one io_submit, one io_uring_enter). */
    void submit();

    /** Delivers every finished request's result to sink; returns how many. */
    int reap(Sink sink);

    /** Requests submitted and not yet reaped. */
    int inFlight();

    @Override
    void close();

    /** Why mode cannot work on this host (QEMU's "Unable to use io_uring: ..." reason), or null. */
    static String unavailableReason(String mode) {
        return IO_URING.equals(mode) ? IoUringAio.unavailableReason() : null;
    }

    /**
     * The engine for an aio= mode with room for capacity requests in flight, signalling done as results arrive;
     * name labels its threads.
     */
    static AioEngine open(String mode, int capacity, String name, EventFd done) {
        return switch (mode) {
            case NATIVE -> new LinuxAio(capacity, done);
            case IO_URING -> new IoUringAio(capacity, done);
            default -> new ThreadPoolAio(capacity, name, done);
        };
    }
}
