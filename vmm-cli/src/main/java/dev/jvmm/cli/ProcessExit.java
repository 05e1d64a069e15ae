package dev.jvmm.cli;

import dev.jvmm.core.os.LibC;

/**
 * The end of the process, as QEMU's exit path ends it: at once, with the status given. libc's _exit does
 * that; Runtime.halt would first wait up to 300 ms for threads blocked in native code (the epoll loop,
 * vCPUs, readers), which every quit and every SIGTERM would pay.
 */
final class ProcessExit {
    private ProcessExit() {
    }

    static void now(int status) {
        LibC._exit(status);
    }
}
