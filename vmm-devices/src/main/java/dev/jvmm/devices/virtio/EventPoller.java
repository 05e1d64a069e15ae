package dev.jvmm.devices.virtio;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.EventFd;

/**
 * poll(2) over a fixed set of eventfds, for a device thread that sleeps until a queue is kicked (by KVM's
 * ioeventfd or the notify handler) or its control eventfd is signalled. The pollfd array is built once.
 */
final class EventPoller {
    /** poll(2): data to read. */
    static final short POLLIN = 0x1;
    private static final int EINTR = 4;
    private static final int POLLFD_SIZE = 8;

    static {
        Native.register(EventPoller.class, "c");
    }

    private static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    private final Memory fds;
    private final int count;

    EventPoller(EventFd[] eventFds) {
        count = eventFds.length;
        fds = new Memory((long) POLLFD_SIZE * count);
        for (int i = 0; i < count; i++) {
            fds.setInt((long) i * POLLFD_SIZE, eventFds[i].fd());
            fds.setShort((long) i * POLLFD_SIZE + 4, POLLIN);
            fds.setShort((long) i * POLLFD_SIZE + 6, (short) 0);
        }
    }

    /** Waits until at least one fd is readable (timeoutMs -1: forever); returns how many are. */
    int await(int timeoutMs) {
        while (true) {
            try {
                return poll(fds, count, timeoutMs);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINTR) {
                    throw e;
                }
            }
        }
    }

    /** Whether fd i was readable in the last {@link #await}. */
    boolean ready(int i) {
        return fds.getShort((long) i * POLLFD_SIZE + 6) != 0;
    }
}
