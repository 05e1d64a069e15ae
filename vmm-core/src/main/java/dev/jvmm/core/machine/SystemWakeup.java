package dev.jvmm.core.machine;

/**
 * What a device sees of the machine's S3 wake-up logic (QEMU's qemu_system_wakeup_request and
 * qemu_system_wakeup_enable): wake sources ask for a wake-up, and the ACPI PM block says which sources the
 * guest enabled. Both may be called from any thread, vCPU exits included: neither blocks, and
 * {@link #enable} does not allocate.
 */
public interface SystemWakeup {
    /**
     * Wakes the guest if it is suspended and this reason is enabled; otherwise nothing happens (a wake
     * source firing while the guest runs is not an error).
     */
    void request(WakeupReason reason);

    /** Enables or disables a reason in the wake-up mask (the PM block does this on PM1_EN writes and reset). */
    void enable(WakeupReason reason, boolean enabled);

    /** For devices built without a machine (unit tests, machines without ACPI). */
    SystemWakeup NONE = new SystemWakeup() {
        @Override
        public void request(WakeupReason reason) {
        }

        @Override
        public void enable(WakeupReason reason, boolean enabled) {
        }
    };
}
