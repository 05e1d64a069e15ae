package dev.jvmm.core.block;

import dev.jvmm.core.os.LibC;
import java.io.IOException;
import java.util.Map;

/**
 * A host I/O error with its errno, so the backend can fill BLOCK_IO_ERROR's reason (the strerror text, which is
 * this exception's message) and nospace (errno ENOSPC).
 */
public final class HostIoException extends IOException {
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int EAGAIN = 11;
    public static final int EBADF = 9;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EINVAL = 22;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int EOPNOTSUPP = 95;
    public static final int EDQUOT = 122;

    /** glibc's strerror texts for the errors a disk request can meet; Java puts the same text in its messages. */
    private static final Map<Integer, String> TEXT = Map.of(
            EPERM, "Operation not permitted",
            EIO, "Input/output error",
            EBADF, "Bad file descriptor",
            ENOMEM, "Cannot allocate memory",
            EACCES, "Permission denied",
            EINVAL, "Invalid argument",
            EFBIG, "File too large",
            ENOSPC, "No space left on device",
            EROFS, "Read-only file system",
            EDQUOT, "Disk quota exceeded");

    private final int errno;

    public HostIoException(int errno) {
        this(errno, null);
    }

    public HostIoException(int errno, Throwable cause) {
        super(strerror(errno), cause);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** True for ENOSPC and EDQUOT, which werror=enospc treats as "out of space". */
    public boolean noSpace() {
        return errno == ENOSPC || errno == EDQUOT;
    }

    public static String strerror(int errno) {
        String t = TEXT.get(errno);
        if (t != null) {
            return t;
        }
        try {
            return LibC.describe(errno);
        } catch (LinkageError e) {
            return "errno " + errno;
        }
    }

    /**
     * Turns an IOException from FileChannel into a HostIoException when its message carries a known strerror text
     * (Java reports errno only as text); anything else is returned unchanged.
     */
    public static IOException classify(IOException e) {
        if (e instanceof HostIoException || e instanceof BlockException) {
            return e;
        }
        String m = e.getMessage();
        if (m != null) {
            for (Map.Entry<Integer, String> t : TEXT.entrySet()) {
                if (m.contains(t.getValue())) {
                    return new HostIoException(t.getKey(), e);
                }
            }
        }
        return e;
    }
}
