package dev.jvmm.cli;

import dev.jvmm.core.os.LibC;

/**
 * The end of the process, as QEMU's exit path ends it: at once, with the status given. libc's _exit does
 * that; Runtime.halt would first wait up to 300 ms for threads blocked in native code (the epoll loop,
 * vCPUs, readers), which every quit and every SIGTERM would pay. The build's class-data-sharing training run
 * (system property jvmm.cds-training) ends through Runtime.halt instead, because the JVM writes the archive
 * on its own way out.
 */
final class ProcessExit {
    private ProcessExit() {
    }

    static void now(int status) {
        if (Boolean.getBoolean("jvmm.cds-training")) {
            Runtime.getRuntime().halt(status);
        }
        LibC._exit(status);
    }
}
