package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.EventFd;

/**
 * aio=io_uring, QEMU's block/io_uring.c: Debian's liburing 2 (liburing2) through JNA. The ring is set up on the
 * first request with an eventfd registered for completions; a request is one IORING_OP_READV/WRITEV sqe whose
 * user_data is its tag. liburing's exported calls do the ring handling (io_uring_get_sqe, io_uring_submit,
 * io_uring_peek_batch_cqe); only its inline helpers are written here: filling an sqe and advancing the CQ head.
 */
final class IoUringAio implements AioEngine {
    /** Size of struct io_uring in liburing 2.x is 216 bytes; room is left for later additions. */
    static final int STRUCT_IO_URING_SIZE = 512;
    /** struct io_uring: cq.khead, the first field of the cq part, after the 104-byte struct io_uring_sq. */
    static final int CQ_KHEAD = 104;
    /** linux/io_uring.h: struct io_uring_sqe (64 bytes) and struct io_uring_cqe (16 bytes). */
    static final int SQE_SIZE = 64;
    static final int SQE_OPCODE = 0;
    static final int SQE_FD = 4;
    static final int SQE_OFF = 8;
    static final int SQE_ADDR = 16;
    static final int SQE_LEN = 24;
    static final int SQE_USER_DATA = 32;
    static final int CQE_USER_DATA = 0;
    static final int CQE_RES = 8;
    static final byte IORING_OP_READV = 1;
    static final byte IORING_OP_WRITEV = 2;
    static final String LIBRARY = "liburing.so.2";

    private static final class Lib {
        static {
            Native.register(Lib.class, NativeLibrary.getInstance(LIBRARY));
        }

        static native int io_uring_queue_init(int entries, Pointer ring, int flags);

        static native void io_uring_queue_exit(Pointer ring);

        static native Pointer io_uring_get_sqe(Pointer ring);

        static native int io_uring_submit(Pointer ring);

        static native int io_uring_peek_batch_cqe(Pointer ring, Pointer cqes, int count);

        static native int io_uring_register_eventfd(Pointer ring, int fd);
    }

    private final EventFd done;
    private final int capacity;
    private final Memory ring = new Memory(STRUCT_IO_URING_SIZE);
    private final Memory cqes;
    private boolean started;
    private int inFlight;
    private int prepared;
    private final RefusedRequests refused;

    IoUringAio(int capacity, EventFd done) {
        this.done = done;
        this.capacity = capacity;
        ring.clear();
        cqes = new Memory(8L * capacity);
        refused = new RefusedRequests(capacity, done);
        start();
    }

    /**
     * Why aio=io_uring cannot work here, in QEMU's words (its file driver sets up a ring when the drive opens), or
     * null when a ring can be set up.
     */
    static String unavailableReason() {
        try {
            Memory probe = new Memory(STRUCT_IO_URING_SIZE);
            probe.clear();
            int r = Lib.io_uring_queue_init(1, probe, 0);
            if (r < 0) {
                return "failed to init linux io_uring ring: " + HostIoException.strerror(-r);
            }
            Lib.io_uring_queue_exit(probe);
            return null;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return "failed to init linux io_uring ring: " + LIBRARY + " cannot be loaded";
        }
    }

    private void start() {
        int r = Lib.io_uring_queue_init(Integer.highestOneBit(Math.max(1, capacity - 1)) << 1, ring, 0);
        if (r < 0) {
            throw new LastErrorException(-r);
        }
        r = Lib.io_uring_register_eventfd(ring, done.fd());
        if (r < 0) {
            Lib.io_uring_queue_exit(ring);
            throw new LastErrorException(-r);
        }
        started = true;
    }

    @Override
    public void prepare(int tag, boolean write, int fd, long iov, int iovcnt, long offset) {
        Pointer sqe = Lib.io_uring_get_sqe(ring);
        if (sqe == null) {
            // the ring has as many entries as there are tags, so this only happens before a submit catches up
            Lib.io_uring_submit(ring);
            sqe = Lib.io_uring_get_sqe(ring);
            if (sqe == null) {
                refused.add(tag, HostIoException.EAGAIN);
                return;
            }
        }
        sqe.clear(SQE_SIZE);
        sqe.setByte(SQE_OPCODE, write ? IORING_OP_WRITEV : IORING_OP_READV);
        sqe.setInt(SQE_FD, fd);
        sqe.setLong(SQE_OFF, offset);
        sqe.setLong(SQE_ADDR, iov);
        sqe.setInt(SQE_LEN, iovcnt);
        sqe.setLong(SQE_USER_DATA, tag);
        prepared++;
    }


    @Override
    public void submit() {
        if (prepared == 0) {
            return;
        }
        int n = Lib.io_uring_submit(ring);
        // liburing keeps unsubmitted sqes queued for the next call; a negative result leaves them there too
        if (n > 0) {
            inFlight += n;
            prepared -= n;
        }
    }

    @Override
    public int reap(Sink sink) {
        done.drain();
        int total = 0;
        total += refused.deliver(sink);
        if (!started) {
            return total;
        }
        while (true) {
            int n = Lib.io_uring_peek_batch_cqe(ring, cqes, capacity);
            if (n <= 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                Pointer cqe = cqes.getPointer(8L * i);
                inFlight--;
                total++;
                sink.done((int) cqe.getLong(CQE_USER_DATA), cqe.getInt(CQE_RES));
            }
            // io_uring_cq_advance: the head store publishes the consumed entries to the kernel
            Pointer head = ring.getPointer(CQ_KHEAD);
            head.setInt(0, head.getInt(0) + n);
        }
        if (prepared > 0) {
            submit();
        }
        return total;
    }

    @Override
    public int inFlight() {
        return inFlight + prepared + refused.count();
    }

    @Override
    public void close() {
        if (started) {
            Lib.io_uring_queue_exit(ring);
        }
    }
}
