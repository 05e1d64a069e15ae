package dev.jvmm.core.vmstate;

/** Saved state that cannot be restored here: unknown section, wrong version, mismatched configuration, bad data. */
public final class StateException extends Exception {
    public StateException(String message) {
        super(message);
    }
}
