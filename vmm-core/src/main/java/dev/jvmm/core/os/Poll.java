package dev.jvmm.core.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;

/**
 * poll(2) over a growable array of struct pollfd (int fd; short events; short revents: 8 bytes each), for a
 * backend thread that sleeps on its descriptors and a shutdown eventfd. The array is reused between calls.
 */
public final class Poll {
    public static final short POLLIN = 0x001;
    public static final short POLLPRI = 0x002;
    public static final short POLLOUT = 0x004;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    public static final short POLLNVAL = 0x020;
    private static final int EINTR = 4;
    private static final int ENTRY = 8;

    static {
        Native.register(Poll.class, "c");
    }

    private static native int poll(Memory fds, long nfds, int timeout) throws LastErrorException;

    private Memory fds = new Memory(16 * ENTRY);
    private int count;

    /** Empties the set; the next {@link #add} gets index 0. */
    public void clear() {
        count = 0;
    }

    /** Adds fd watched for events; returns its index. */
    public int add(int fd, int events) {
        if ((count + 1) * (long) ENTRY > fds.size()) {
            Memory bigger = new Memory(fds.size() * 2);
            bigger.write(0, fds.getByteArray(0, count * ENTRY), 0, count * ENTRY);
            fds = bigger;
        }
        long off = (long) count * ENTRY;
        fds.setInt(off, fd);
        fds.setShort(off + 4, (short) events);
        fds.setShort(off + 6, (short) 0);
        return count++;
    }

    public int size() {
        return count;
    }

    /** Changes the events watched at index. */
    public void setEvents(int index, int events) {
        fds.setShort((long) index * ENTRY + 4, (short) events);
    }

    /** The events reported for index by the last {@link #poll}. */
    public int revents(int index) {
        return index < 0 || index >= count ? 0 : fds.getShort((long) index * ENTRY + 6) & 0xffff;
    }

    /** Waits up to timeoutMs (-1: no limit); returns the number of ready entries, 0 on timeout or EINTR. */
    public int poll(int timeoutMs) {
        try {
            return poll(fds, count, timeoutMs);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EINTR) {
                for (int i = 0; i < count; i++) {
                    fds.setShort((long) i * ENTRY + 6, (short) 0);
                }
                return 0;
            }
            throw e;
        }
    }
}
