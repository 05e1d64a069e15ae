package dev.jvmm.kvm;

/**
 * What the machine decides on exits the VMM cannot handle by itself. Called on the vCPU's own thread.
 * After onTripleFault, onInternalError, onFailEntry, onSystemEvent and onUnhandledExit the vCPU parks
 * (as if paused) until {@link VcpuSet#resumeAll()}, which may also be called from inside the handler —
 * the handler typically pauses the whole VM and lets the machine reset or stop it.
 */
public interface VcpuExitHandler {
    /** KVM_EXIT_SHUTDOWN: the guest triple-faulted (QEMU treats this as a reset request). */
    void onTripleFault(Vcpu cpu);

    /** KVM_EXIT_INTERNAL_ERROR; suberror 1 is KVM_INTERNAL_ERROR_EMULATION. data is a fresh copy. */
    void onInternalError(Vcpu cpu, int suberror, long[] data);

    /** KVM_EXIT_FAIL_ENTRY with hardware_entry_failure_reason. */
    void onFailEntry(Vcpu cpu, long hardwareReason);

    /** KVM_EXIT_SYSTEM_EVENT: type is KVM_SYSTEM_EVENT_SHUTDOWN/RESET/CRASH. */
    void onSystemEvent(Vcpu cpu, int type, long[] data);

    /** KVM_EXIT_HLT (only without an in-kernel LAPIC); the vCPU re-enters KVM_RUN afterwards. */
    default void onHalt(Vcpu cpu) {
    }

    /**
     * A device threw while handling this vCPU's PIO/MMIO exit. The access completes (reads return whatever
     * the buffer held) and the vCPU keeps running; the default prints one line to stderr.
     */
    default void onDeviceError(Vcpu cpu, RuntimeException e) {
        System.err.println("jvmm: vcpu " + cpu.index() + ": device error: " + e);
    }

    /** Any other exit reason, or KVM_RUN failing with an errno other than EINTR/EAGAIN (reason = -errno). */
    default void onUnhandledExit(Vcpu cpu, int reason) {
        onInternalError(cpu, -1, new long[] {reason});
    }
}
