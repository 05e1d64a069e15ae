package dev.jvmm.qmp;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.util.HexFormat;

/**
 * Prints the seccomp filters of a process as the kernel holds them (PTRACE_SECCOMP_GET_FILTER, which needs
 * CAP_SYS_ADMIN): "filter N HEX" per filter, newest first, or "unavailable ERRNO" when the process cannot be
 * traced. It runs as its own process so that no other waiter (a JVM's process reaper) sees the tracing stop.
 */
public final class SeccompFilterDump {
    private static final int PTRACE_ATTACH = 16;
    private static final int PTRACE_DETACH = 17;
    private static final int PTRACE_SECCOMP_GET_FILTER = 0x420c;
    /** waitpid: wait for any child, clone or not; a traced thread group leader counts as one. */
    private static final int WALL = 0x40000000;
    /** sizeof(struct sock_filter). */
    private static final int INSN_SIZE = 8;

    interface Libc extends Library {
        Libc INSTANCE = Native.load("c", Libc.class);

        long ptrace(long request, int pid, Pointer addr, Pointer data);

        int waitpid(int pid, Pointer status, int options);
    }

    private SeccompFilterDump() {
    }

    public static void main(String[] args) {
        int pid = Integer.parseInt(args[0]);
        Libc c = Libc.INSTANCE;
        if (c.ptrace(PTRACE_ATTACH, pid, null, null) != 0) {
            System.out.println("unavailable " + Native.getLastError());
            return;
        }
        try {
            Memory status = new Memory(4);
            c.waitpid(pid, status, WALL);
            for (long i = 0; ; i++) {
                long n = c.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, new Pointer(i), null);
                if (n < 0) {
                    if (i == 0) {
                        System.out.println("unavailable " + Native.getLastError());
                    }
                    break;
                }
                Memory prog = new Memory(n * INSN_SIZE);
                c.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, new Pointer(i), prog);
                System.out.println("filter " + i + " " + HexFormat.of().formatHex(prog.getByteArray(0, (int) n * INSN_SIZE)));
            }
        } finally {
            c.ptrace(PTRACE_DETACH, pid, null, null);
        }
    }
}
