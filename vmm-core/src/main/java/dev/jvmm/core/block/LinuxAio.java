package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.EventFd;

/**
 * aio=native, QEMU's block/linux-aio.c: Linux AIO (io_setup, io_submit, io_getevents) called through libc's
 * syscall(), no library needed. Each tag owns one preallocated struct iocb with IOCB_FLAG_RESFD, so the kernel
 * signals the engine's eventfd as each request finishes. It wants O_DIRECT descriptors (QEMU refuses aio=native
 * without cache.direct=on; buffered AIO runs synchronously inside io_submit).
 */
final class LinuxAio implements AioEngine {
    /** asm/unistd_64.h. */
    static final long SYS_IO_SETUP = 206;
    static final long SYS_IO_DESTROY = 207;
    static final long SYS_IO_GETEVENTS = 208;
    static final long SYS_IO_SUBMIT = 209;
    /** linux/aio_abi.h: struct iocb (64 bytes) and struct io_event (32 bytes). */
    static final int IOCB_SIZE = 64;
    static final int IOCB_DATA = 0;
    static final int IOCB_LIO_OPCODE = 16;
    static final int IOCB_FILDES = 20;
    static final int IOCB_BUF = 24;
    static final int IOCB_NBYTES = 32;
    static final int IOCB_OFFSET = 40;
    static final int IOCB_FLAGS = 56;
    static final int IOCB_RESFD = 60;
    static final short IOCB_CMD_PREADV = 7;
    static final short IOCB_CMD_PWRITEV = 8;
    static final int IOCB_FLAG_RESFD = 1;
    static final int IO_EVENT_SIZE = 32;
    static final int IO_EVENT_DATA = 0;
    static final int IO_EVENT_RES = 16;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;

    static {
        Native.register(LinuxAio.class, "c");
    }

    private static native long syscall(long number, long a1, long a2, long a3, long a4, long a5)
            throws LastErrorException;

    private final EventFd done;
    private final int capacity;
    private final Memory iocbs;
    /** The iocb pointers handed to io_submit, in preparation order. */
    private final Memory batch;
    private final Memory events;
    /** A zero timespec: io_getevents returns at once. */
    private final Memory noWait = new Memory(16);
    private final Memory ctx = new Memory(8);
    private boolean started;
    private int prepared;
    private int inFlight;
    private final RefusedRequests refused;

    LinuxAio(int capacity, EventFd done) {
        this.done = done;
        this.capacity = capacity;
        iocbs = new Memory((long) IOCB_SIZE * capacity);
        iocbs.clear();
        batch = new Memory(8L * capacity);
        events = new Memory((long) IO_EVENT_SIZE * capacity);
        noWait.clear();
        ctx.setLong(0, 0);
        refused = new RefusedRequests(capacity, done);
        start();
    }

    private void start() {
        syscall(SYS_IO_SETUP, capacity, Pointer.nativeValue(ctx), 0, 0, 0);
        started = true;
    }

    @Override
    public void prepare(int tag, boolean write, int fd, long iov, int iovcnt, long offset) {
        long cb = (long) tag * IOCB_SIZE;
        iocbs.setLong(cb + IOCB_DATA, tag);
        iocbs.setShort(cb + IOCB_LIO_OPCODE, write ? IOCB_CMD_PWRITEV : IOCB_CMD_PREADV);
        iocbs.setInt(cb + IOCB_FILDES, fd);
        iocbs.setLong(cb + IOCB_BUF, iov);
        iocbs.setLong(cb + IOCB_NBYTES, iovcnt);
        iocbs.setLong(cb + IOCB_OFFSET, offset);
        iocbs.setInt(cb + IOCB_FLAGS, IOCB_FLAG_RESFD);
        iocbs.setInt(cb + IOCB_RESFD, done.fd());
        batch.setLong(8L * prepared++, Pointer.nativeValue(iocbs) + cb);
    }

    @Override
    public void submit() {
        int at = 0;
        while (at < prepared) {
            long n;
            try {
                n = syscall(SYS_IO_SUBMIT, ctx.getLong(0), prepared - at,
                        Pointer.nativeValue(batch) + 8L * at, 0, 0);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR) {
                    continue;
                }
                // The first request of the rest was refused (EAGAIN when the kernel is out of AIO slots, EINVAL
                // for a descriptor without O_DIRECT support...): it fails with that errno, QEMU-like.
                refuse(at, e.getErrorCode());
                n = 1;
                inFlight--;
            }
            inFlight += (int) n;
            at += (int) n;
        }
        prepared = 0;
    }

    private void refuse(int at, int errno) {
        long cb = batch.getLong(8L * at) - Pointer.nativeValue(iocbs);
        refused.add((int) iocbs.getLong(cb + IOCB_DATA), errno);
    }

    @Override
    public int reap(Sink sink) {
        done.drain();
        int total = 0;
        total += refused.deliver(sink);
        while (inFlight > 0) {
            long n;
            try {
                n = syscall(SYS_IO_GETEVENTS, ctx.getLong(0), 0, capacity, Pointer.nativeValue(events),
                        Pointer.nativeValue(noWait));
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR || e.getErrorCode() == EAGAIN) {
                    continue;
                }
                throw e;
            }
            if (n <= 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                long ev = (long) i * IO_EVENT_SIZE;
                inFlight--;
                total++;
                sink.done((int) events.getLong(ev + IO_EVENT_DATA), events.getLong(ev + IO_EVENT_RES));
            }
        }
        return total;
    }

    @Override
    public int inFlight() {
        return inFlight + refused.count();
    }

    /** Releases the context; the caller has reaped every request first (io_destroy would wait for them). */
    @Override
    public void close() {
        if (started) {
            try {
                syscall(SYS_IO_DESTROY, ctx.getLong(0), 0, 0, 0, 0);
            } catch (LastErrorException ignored) {
                // nothing left to release
            }
        }
    }
}
