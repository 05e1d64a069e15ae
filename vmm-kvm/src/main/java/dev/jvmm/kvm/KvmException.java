package dev.jvmm.kvm;

import dev.jvmm.core.os.LibC;

/** A failed KVM call; the message is one line naming the call and the errno text. */
public final class KvmException extends RuntimeException {
    private final int errno;

    public KvmException(String message) {
        super(message);
        this.errno = 0;
    }

    public KvmException(String what, int errno) {
        super(what + " failed: " + LibC.describe(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    /** The errno of the failed call, or 0 when the failure was not a system call. */
    public int errno() {
        return errno;
    }
}
