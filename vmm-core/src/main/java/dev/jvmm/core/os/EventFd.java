package dev.jvmm.core.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;

/**
 * A Linux eventfd(2): a 64-bit counter that one side adds to and the other drains. KVM signals one for a
 * guest's queue kick (ioeventfd) and injects an interrupt when one is signalled (irqfd), so device work and
 * interrupt delivery happen without a vCPU exit to Java. Thread-safe: signal and drain are single syscalls.
 */
public final class EventFd implements AutoCloseable {
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;
    private static final int EAGAIN = 11;

    static {
        Native.register(EventFd.class, "c");
    }

    private static native int eventfd(int initval, int flags) throws LastErrorException;

    private static native long write(int fd, Memory buf, long count) throws LastErrorException;

    private static native long read(int fd, Memory buf, long count) throws LastErrorException;

    private static native int close(int fd);

    private final int fd;
    /** One 8-byte buffer per thread: signal and drain run on the vCPU and device threads without allocating. */
    private final ThreadLocal<Memory> buffer = ThreadLocal.withInitial(() -> new Memory(8));
    private volatile boolean closed;

    /** A new non-blocking, close-on-exec eventfd with counter 0. */
    public EventFd() {
        this.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking a poller (and, for an irqfd, injecting the interrupt). */
    public void signal() {
        Memory m = buffer.get();
        m.setLong(0, 1);
        write(fd, m, 8);
    }

    /** Reads and resets the counter without blocking; 0 when nothing was signalled since the last drain. */
    public long drain() {
        Memory m = buffer.get();
        try {
            read(fd, m, 8);
            return m.getLong(0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EAGAIN) {
                return 0;
            }
            throw e;
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            close(fd);
        }
    }
}
