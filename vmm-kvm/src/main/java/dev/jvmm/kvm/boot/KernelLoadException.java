package dev.jvmm.kvm.boot;

/** A kernel or initrd that cannot be loaded; the message is one line naming the file. */
public final class KernelLoadException extends RuntimeException {
    public KernelLoadException(String message) {
        super(message);
    }
}
