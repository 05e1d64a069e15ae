package dev.jvmm.core.net;

/** A netdev that cannot be created or changed; the message is QEMU's text for the case. */
public final class NetdevException extends Exception {
    public NetdevException(String message) {
        super(message, null, false, false);
    }

    public NetdevException(String message, Throwable cause) {
        super(message, cause);
    }
}
