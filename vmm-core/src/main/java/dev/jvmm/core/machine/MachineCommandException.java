package dev.jvmm.core.machine;

/** A control request the machine refuses; carries QEMU's error class and text for the QMP reply. */
public final class MachineCommandException extends Exception {
    public static final String GENERIC_ERROR = "GenericError";
    public static final String DEVICE_NOT_FOUND = "DeviceNotFound";

    private final String errorClass;

    public MachineCommandException(String errorClass, String desc) {
        super(desc, null, false, false);
        this.errorClass = errorClass;
    }

    public static MachineCommandException generic(String desc) {
        return new MachineCommandException(GENERIC_ERROR, desc);
    }

    public String errorClass() {
        return errorClass;
    }
}
