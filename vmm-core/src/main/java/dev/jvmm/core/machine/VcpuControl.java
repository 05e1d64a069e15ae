package dev.jvmm.core.machine;

/**
 * What the lifecycle policy needs from the machine's vCPUs and process. The real machine implements it with
 * its vCPU threads; tests plug in a fake. All methods may be called from the monitor thread.
 */
public interface VcpuControl {
    /** Kicks every vCPU out of KVM_RUN and returns once none is running guest code. */
    void pauseAll();

    /** Lets every vCPU run again. */
    void resumeAll();

    /** Resets the machine (vCPU registers and devices) to power-on state; vCPUs are paused while called. */
    void resetAll();

    /** Ends the process with this status (after the QMP server flushed its replies). */
    void exitProcess(int status);

    /**
     * Resets the machine for a wake-up from S3: devices to power-on state, but guest RAM kept and the boot
     * processor started where the guest's waking vector says, as firmware does on resume; the reason goes to
     * the ACPI PM block's status bits (QEMU's wake-up notifier). vCPUs are paused while called. A machine
     * without ACPI cannot be suspended and never gets this.
     */
    default void resetForWakeup(WakeupReason reason) {
        resetAll();
    }

    /** Whether the guest can be woken from S3 (query-current-machine's wakeup-suspend-support). */
    default boolean wakeupSupported() {
        return false;
    }

    /** The ACPI power button (system_powerdown, watchdog action shutdown); a machine without ACPI ignores it. */
    default void powerButton() {
    }

    /** An NMI to every vCPU (watchdog action inject-nmi). */
    default void injectNmi() {
    }
}
