package dev.jvmm.core.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/** The few libc calls the core needs (memory mapping, error text); bound once with JNA direct mapping. */
public final class LibC {
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_MERGEABLE = 12;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int MADV_DONTDUMP = 16;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int O_NONBLOCK = 0x800;
    public static final int MFD_CLOEXEC = 0x1;
    public static final int MFD_ALLOW_SEALING = 0x2;
    public static final int F_ADD_SEALS = 1033;
    public static final int F_SEAL_SEAL = 0x1;
    public static final int F_SEAL_SHRINK = 0x2;
    public static final int F_SEAL_GROW = 0x4;
    public static final int MCL_CURRENT = 1;
    public static final int MCL_FUTURE = 2;
    public static final int MCL_ONFAULT = 4;
    public static final int MADV_POPULATE_WRITE = 23;
    /** x86-64 syscall number of gettid(2). */
    public static final long SYS_GETTID = 186;

    static {
        Native.register(LibC.class, "c");
    }

    private LibC() {
    }

    public static native Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    public static native int munmap(Pointer addr, long length) throws LastErrorException;

    public static native int madvise(Pointer addr, long length, int advice) throws LastErrorException;

    public static native int getpid();

    /** Ends the process at once with this status: no JVM shutdown, no waiting for other threads. */
    public static native void _exit(int status);

    public static native long syscall(long number);

    /** The calling thread's Linux thread id. */
    public static int gettid() {
        return (int) syscall(SYS_GETTID);
    }

    public static native int memfd_create(String name, int flags) throws LastErrorException;

    public static native int ftruncate(int fd, long length) throws LastErrorException;

    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_CLOEXEC = 0x80000;

    public static native int open(String path, int flags, int mode) throws LastErrorException;

    public static native int close(int fd) throws LastErrorException;

    public static native int mlockall(int flags) throws LastErrorException;

    public static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    /**
     * Puts an inherited descriptor in non-blocking mode; an event loop must never block in accept() or
     * read() on a descriptor its parent opened blocking.
     */
    public static void setNonBlocking(int fd) {
        int flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }

    public static native Pointer strerror(int errnum);

    /** The text strerror gives for errno, for one-line error messages. */
    public static String describe(int errno) {
        Pointer p = strerror(errno);
        return p == null ? "errno " + errno : p.getString(0);
    }
}
