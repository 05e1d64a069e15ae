package dev.jvmm.kvm;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * libc calls used to drive /dev/kvm, bound with JNA direct mapping. Calls return the raw result; on -1 the
 * errno is read with {@link Native#getLastError()} so that the hot KVM_RUN path never builds an exception.
 */
public final class KvmSys {
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    /** x86-64 syscall number of gettid(2). */
    public static final long SYS_GETTID = 186;

    static {
        Native.register(KvmSys.class, "c");
    }

    private KvmSys() {
    }

    public static native int open(String path, int flags);

    public static native int close(int fd);

    public static native int ioctl(int fd, long request, long arg);

    public static native int ioctl(int fd, long request, Pointer arg);

    public static native long syscall(long number);

    public static native long pthread_self();

    public static native int pthread_kill(long thread, int sig);

    /** Installs handler (a native function address) for sig; returns the previous handler. */
    public static native Pointer signal(int sig, Pointer handler);

    /** The calling thread's Linux thread id. */
    public static int gettid() {
        return (int) syscall(SYS_GETTID);
    }

    /** ioctl with a pointer argument; throws {@link KvmException} naming the request on failure. */
    public static int ioctlOrThrow(int fd, long request, Pointer arg, String name) {
        int rc = ioctl(fd, request, arg);
        if (rc < 0) {
            throw new KvmException(name, Native.getLastError());
        }
        return rc;
    }

    /** ioctl with an integer argument; throws {@link KvmException} naming the request on failure. */
    public static int ioctlOrThrow(int fd, long request, long arg, String name) {
        int rc = ioctl(fd, request, arg);
        if (rc < 0) {
            throw new KvmException(name, Native.getLastError());
        }
        return rc;
    }
}
