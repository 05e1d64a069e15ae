package dev.jvmm.core.chardev;

/**
 * A frontend that can refuse host input (QEMU's can_read/accept_input pair). A backend given one of
 * these asks {@link #canReceive()} before each delivery and hands over at most that many bytes; when it
 * answers 0 the backend stops reading its source and waits until the frontend runs the wake-up hook it
 * was given through {@link #setInputReadyHook(Runnable)}. Nothing is dropped on either side.
 */
public interface FlowControlledReceiver extends Chardev.Receiver {
    /** How many bytes the frontend accepts right now; 0 means "wait for the hook". */
    int canReceive();

    /**
     * Installed by the backend when it attaches. The frontend runs it (on any thread, with no frontend
     * lock held) whenever room frees up after it answered 0 or a short count.
     */
    void setInputReadyHook(Runnable hook);
}
