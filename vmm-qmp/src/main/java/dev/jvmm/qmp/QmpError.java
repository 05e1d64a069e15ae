package dev.jvmm.qmp;

/** A command failure with QEMU's error class and text. */
public final class QmpError extends Exception {
    public static final String GENERIC = "GenericError";
    public static final String COMMAND_NOT_FOUND = "CommandNotFound";
    public static final String DEVICE_NOT_FOUND = "DeviceNotFound";
    public static final String DEVICE_NOT_ACTIVE = "DeviceNotActive";
    public static final String KVM_MISSING_CAP = "KVMMissingCap";

    private final String errorClass;

    public QmpError(String errorClass, String desc) {
        super(desc, null, false, false);
        this.errorClass = errorClass;
    }

    public static QmpError generic(String desc) {
        return new QmpError(GENERIC, desc);
    }

    public String errorClass() {
        return errorClass;
    }
}
