package dev.jvmm.core.qom;

/** A property value refused, or a property or type that does not exist; the message is QEMU's text. */
public final class PropertyException extends Exception {
    public PropertyException(String message) {
        super(message, null, false, false);
    }
}
