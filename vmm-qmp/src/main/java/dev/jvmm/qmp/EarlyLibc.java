package dev.jvmm.qmp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The libc calls the early QMP path makes, in one JNA direct-mapped class of their own (no {@code Memory},
 * whose cleaner would start a thread, none of the machine's other bindings), bound on first use.
 */
final class EarlyLibc {
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int F_DUPFD_CLOEXEC = 1030;
    static final int O_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final short POLLIN = 0x001;
    static final int SOL_SOCKET = 1;
    static final int SO_ACCEPTCONN = 30;

    static {
        Native.register(EarlyLibc.class, "c");
    }

    private EarlyLibc() {
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, byte[] addr, int len) throws LastErrorException;

    static native int listen(int fd, int backlog) throws LastErrorException;

    static native int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

    static native long send(int fd, byte[] buf, long n, int flags) throws LastErrorException;

    static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    static native int getsockopt(int fd, int level, int name, int[] value, int[] len) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native long write(int fd, long[] value, long n) throws LastErrorException;

    /** struct pollfd as int pairs: fd, then events in the low and revents in the high half (little-endian). */
    static native int poll(int[] fds, long nfds, int timeout) throws LastErrorException;

    static void closeQuietly(int fd) {
        try {
            close(fd);
        } catch (LastErrorException e) {
            // closed already: nothing to release
        }
    }
}
