package dev.jvmm.core.fd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.util.Arrays;

/**
 * recvmsg(2)/sendmsg(2) on a UNIX stream socket with SCM_RIGHTS ancillary data (unix(7), cmsg(3)), plus the
 * descriptor calls fd passing needs (dup with close-on-exec, access mode, close). The C structures are read
 * and written at named offsets of the x86-64 layout; one instance owns its native buffers and is used by one
 * thread at a time.
 */
public final class UnixMessages {
    /** struct msghdr (x86-64): msg_name@0, msg_namelen@8, msg_iov@16, msg_iovlen@24, msg_control@32,
     * msg_controllen@40, msg_flags@48; 56 bytes. */
    static final int MSGHDR_SIZE = 56;
    static final int MSG_IOV = 16;
    static final int MSG_IOVLEN = 24;
    static final int MSG_CONTROL = 32;
    static final int MSG_CONTROLLEN = 40;
    static final int MSG_FLAGS = 48;
    /** struct iovec: iov_base@0, iov_len@8; 16 bytes. */
    static final int IOVEC_SIZE = 16;
    static final int IOV_BASE = 0;
    static final int IOV_LEN = 8;
    /** struct cmsghdr: cmsg_len@0 (size_t), cmsg_level@8, cmsg_type@12, data@16 (CMSG_DATA). */
    static final int CMSG_LEN = 0;
    static final int CMSG_LEVEL = 8;
    static final int CMSG_TYPE = 12;
    static final int CMSG_DATA = 16;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int F_DUPFD_CLOEXEC = 1030;
    static final int F_GETFL = 3;
    public static final int O_ACCMODE = 3;
    /** Descriptors taken from one message at most, as QEMU's socket chardev (TCP_MAX_FDS). */
    public static final int MAX_FDS = 16;

    static {
        Native.register(UnixMessages.class, "c");
    }

    private static native long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    private static native long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    private static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    private static native int close(int fd);

    /** What one recvmsg returned: count bytes (0 at end of stream, -1 when nothing was ready) and the fds. */
    public record Received(int count, int[] fds) {
    }

    private static final int[] NO_FDS = new int[0];

    private final Memory msg = new Memory(MSGHDR_SIZE);
    private final Memory iov = new Memory(IOVEC_SIZE);
    private final Memory control = new Memory(cmsgSpace(MAX_FDS));
    private final Memory data;

    /** Buffers for messages of up to capacity bytes. */
    public UnixMessages(int capacity) {
        this.data = new Memory(capacity);
    }

    /** CMSG_SPACE for n descriptors: the header plus the data rounded up to 8 bytes. */
    static int cmsgSpace(int n) {
        return CMSG_DATA + ((n * 4 + 7) & ~7);
    }

    /**
     * Reads what is available without blocking into dst (from 0); the descriptors are received close-on-exec.
     * Returns count -1 when the socket has nothing to read.
     */
    public Received receive(int fd, byte[] dst) {
        int len = (int) Math.min(dst.length, data.size());
        prepare(len, (int) control.size());
        long n;
        try {
            n = recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EAGAIN || e.getErrorCode() == EINTR) {
                return new Received(-1, NO_FDS);
            }
            throw e;
        }
        int[] fds = collectFds();
        if (n > 0) {
            data.read(0, dst, 0, (int) n);
        }
        return new Received((int) n, fds);
    }

    private int[] collectFds() {
        long controlLen = msg.getLong(MSG_CONTROLLEN);
        int[] out = NO_FDS;
        long off = 0;
        while (off + CMSG_DATA <= controlLen) {
            long cmsgLen = control.getLong(off + CMSG_LEN);
            if (cmsgLen < CMSG_DATA) {
                break;
            }
            if (control.getInt(off + CMSG_LEVEL) == SOL_SOCKET && control.getInt(off + CMSG_TYPE) == SCM_RIGHTS) {
                int n = (int) ((cmsgLen - CMSG_DATA) / 4);
                int base = out.length;
                out = Arrays.copyOf(out, base + n);
                for (int i = 0; i < n; i++) {
                    out[base + i] = control.getInt(off + CMSG_DATA + 4L * i);
                }
            }
            off += (cmsgLen + 7) & ~7L;
        }
        return out;
    }

    /** Sends all of bytes, the descriptors riding on the first sendmsg; blocks as the socket does. */
    public void send(int fd, byte[] bytes, int[] fds) {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message");
        }
        if (bytes.length == 0 || bytes.length > data.size()) {
            throw new IllegalArgumentException("message of " + bytes.length + " bytes");
        }
        data.write(0, bytes, 0, bytes.length);
        int sent = 0;
        boolean first = true;
        while (sent < bytes.length) {
            int controlLen = first && fds.length > 0 ? cmsgSpace(fds.length) : 0;
            prepare(bytes.length - sent, controlLen);
            iov.setPointer(IOV_BASE, data.share(sent));
            if (controlLen > 0) {
                control.clear();
                control.setLong(CMSG_LEN, CMSG_DATA + 4L * fds.length);
                control.setInt(CMSG_LEVEL, SOL_SOCKET);
                control.setInt(CMSG_TYPE, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    control.setInt(CMSG_DATA + 4L * i, fds[i]);
                }
            }
            sent += (int) sendmsg(fd, msg, MSG_NOSIGNAL);
            first = false;
        }
    }

    private void prepare(int len, int controlLen) {
        msg.clear();
        iov.setPointer(IOV_BASE, data);
        iov.setLong(IOV_LEN, len);
        msg.setPointer(MSG_IOV, iov);
        msg.setLong(MSG_IOVLEN, 1);
        if (controlLen > 0) {
            msg.setPointer(MSG_CONTROL, control);
        }
        msg.setLong(MSG_CONTROLLEN, controlLen);
    }

    /** A close-on-exec duplicate of fd (the lowest free number), or the errno as LastErrorException. */
    public static int dup(int fd) {
        return fcntl(fd, F_DUPFD_CLOEXEC, 0);
    }

    /** fcntl(F_GETFL) & O_ACCMODE: O_RDONLY 0, O_WRONLY 1, O_RDWR 2. */
    public static int accessMode(int fd) {
        return fcntl(fd, F_GETFL, 0) & O_ACCMODE;
    }

    /** fcntl(F_GETFL): the descriptor's access mode and file status flags (O_APPEND 0x400, ...). */
    public static int statusFlags(int fd) {
        return fcntl(fd, F_GETFL, 0);
    }

    /** Whether fd is an open descriptor of this process. */
    public static boolean isOpen(int fd) {
        try {
            fcntl(fd, F_GETFL, 0);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    public static void closeFd(int fd) {
        if (fd >= 0) {
            close(fd);
        }
    }
}
