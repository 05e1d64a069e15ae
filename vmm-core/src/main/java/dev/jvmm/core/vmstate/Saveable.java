package dev.jvmm.core.vmstate;

/**
 * A device (or a part of the machine) whose guest-visible state is one section. {@link #saveState} writes
 * every field a guest could observe, in-flight work included (queue indices, a half-done command, FIFOs);
 * {@link #loadState} restores them into a freshly built instance with the same configuration, so the device
 * then behaves exactly as the saved one would have.
 */
public interface Saveable {
    /** The section's version; a reader refuses any other. Raise it when the field list changes. */
    int stateVersion();

    void saveState(StateWriter w);

    /**
     * Reads the fields {@link #saveState} wrote, in the same order. Configuration fields are checked with
     * the {@code expect...} methods, so a section saved on another configuration is refused rather than
     * half applied.
     */
    void loadState(StateReader r) throws StateException;

    /**
     * Called by {@link MachineState#restore} once every part is loaded, in the parts' order, for state that
     * depends on other parts (a bus re-maps BARs from the functions' freshly loaded config spaces).
     */
    default void afterLoad() {
    }
}
