package dev.jvmm.core.config;

/** A bad command-line option; the launcher prints it as QEMU does: "jvmm: OPTION: MESSAGE" and exits 1. */
public final class OptionException extends RuntimeException {
    private final String option;

    public OptionException(String option, String message) {
        super(message);
        this.option = option;
    }

    /** The option as the user wrote it (e.g. "-chardev"), or null when the error is not about one option. */
    public String option() {
        return option;
    }

    /** The whole line as printed after "jvmm: ". */
    public String formatted() {
        return option == null ? getMessage() : option + ": " + getMessage();
    }
}
