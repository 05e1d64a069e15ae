package dev.jvmm.devices;

/**
 * Asks the machine for a guest-initiated system reset (QEMU's SHUTDOWN_CAUSE_GUEST_RESET). Called on a
 * vCPU thread from inside a port access, so the machine must only record the request and kick vCPUs,
 * never reset devices synchronously.
 */
@FunctionalInterface
public interface ResetRequest {
    void requestReset();

    ResetRequest NONE = () -> { };
}
