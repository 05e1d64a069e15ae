package dev.jvmm.kvm;

import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.memory.GuestMemory;

import java.io.PrintStream;

/**
 * The exits KVM leaves to the machine, turned into the lifecycle requests QEMU makes for them: a triple
 * fault resets, an internal error or failed entry is reported (QEMU's text and register dump) and stops the
 * VM, and KVM's system events shut down, reset or panic.
 */
public final class LifecycleExits implements VcpuExitHandler {
    private static final int KVM_SYSTEM_EVENT_SHUTDOWN = 1;
    private static final int KVM_SYSTEM_EVENT_RESET = 2;
    private static final int KVM_SYSTEM_EVENT_CRASH = 3;

    private final LifecycleController lifecycle;
    private final GuestMemory memory;
    private final PrintStream err;

    public LifecycleExits(LifecycleController lifecycle, GuestMemory memory, PrintStream err) {
        this.lifecycle = lifecycle;
        this.memory = memory;
        this.err = err;
    }

    @Override
    public void onTripleFault(Vcpu cpu) {
        lifecycle.requestGuestReset();
    }

    @Override
    public void onInternalError(Vcpu cpu, int suberror, long[] data) {
        // QEMU's kvm_handle_internal_error text and state dump, byte for byte.
        err.print(cpu.internalErrorReport(suberror, data, memory));
        err.flush();
        lifecycle.requestInternalError();
    }

    @Override
    public void onFailEntry(Vcpu cpu, long hardwareReason) {
        err.printf("KVM: entry failed, hardware error 0x%x%n", hardwareReason);
        err.print(cpu.dumpRegisters(memory));
        err.flush();
        lifecycle.requestInternalError();
    }

    @Override
    public void onSystemEvent(Vcpu cpu, int type, long[] data) {
        switch (type) {
            case KVM_SYSTEM_EVENT_SHUTDOWN -> lifecycle.requestGuestShutdown();
            case KVM_SYSTEM_EVENT_RESET -> lifecycle.requestGuestReset();
            case KVM_SYSTEM_EVENT_CRASH -> lifecycle.requestGuestPanic();
            default -> lifecycle.requestInternalError();
        }
    }
}
