package dev.jvmm.cli;

import com.sun.jna.LastErrorException;
import dev.jvmm.core.os.LibC;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the options ask of the jvmm process itself: -name process= and -overcommit mem-lock=on. */
final class ProcessSettings {
    /** The kernel keeps 15 bytes of a task's name (TASK_COMM_LEN less the terminator). */
    private static final int COMM_MAX = 15;

    private ProcessSettings() {
    }

    static void apply(HostOptions host) {
        host.processName().ifPresent(ProcessSettings::setProcessName);
        if (host.memLock()) {
            try {
                // On fault: the JVM reserves far more address space (heap, code cache, class space) than it
                // touches, and locking all of it up front would commit gigabytes. Guest RAM is populated, and
                // so locked, in full when it is mapped (PcMachine), as QEMU's mlockall locks it.
                LibC.mlockall(LibC.MCL_CURRENT | LibC.MCL_FUTURE | LibC.MCL_ONFAULT);
            } catch (LastErrorException e) {
                throw new LaunchException("mlockall: " + LibC.describe(e.getErrorCode()) + "\nlocking memory failed");
            }
        }
    }

    /**
     * QEMU renames its main thread, which is the process's name. The JVM's main method runs on another
     * thread, so the thread group leader is renamed through its comm file.
     */
    private static void setProcessName(String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        String comm = b.length > COMM_MAX ? new String(b, 0, COMM_MAX, StandardCharsets.UTF_8) : name;
        try {
            Files.writeString(Path.of("/proc/self/task/" + LibC.getpid() + "/comm"), comm);
        } catch (IOException e) {
            throw new LaunchException("Could not set the process name to '" + name + "': " + e.getMessage());
        }
    }
}
