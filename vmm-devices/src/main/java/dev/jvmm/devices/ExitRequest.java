package dev.jvmm.devices;

/**
 * Asks the machine to terminate the process with an exit status (isa-debug-exit). Called on a vCPU
 * thread from inside a port access; the machine decides how to stop vCPUs and flush output first.
 */
@FunctionalInterface
public interface ExitRequest {
    void requestExit(int status);
}
