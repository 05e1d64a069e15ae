package dev.jvmm.kvm.seccomp;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * The child process of {@link SandboxTest}: installs a {@link Sandbox} through the same class jvmm uses (or none,
 * for the control runs), then makes one call and prints "rc=R errno=E" for it. A call the filter kills ends the
 * process by SIGSYS before anything is printed after "calling".
 *
 * <p>Arguments: groups (comma-separated {@link DenyGroup} names, or "none" for no filter; several such lists
 * separated by "+" install one filter each, as several -sandbox options do), then the calls.
 */
public final class SandboxProbe {
    private static final long SYS_SCHED_SETPARAM = 142;
    private static final long SYS_SCHED_SETSCHEDULER = 144;
    private static final long SYS_SCHED_GETAFFINITY = 204;
    private static final long SYS_SCHED_SETAFFINITY = 203;
    private static final long SYS_SETPRIORITY = 141;
    private static final long SYS_GETPRIORITY = 140;
    private static final long SYS_SETUID = 105;
    private static final long SYS_GETUID = 102;
    private static final long SYS_SETSID = 112;
    private static final long SYS_SYSFS = 139;
    private static final long SYS_SYSLOG = 103;
    private static final long SYS_CLONE3 = 435;
    private static final long SYS_UNSHARE = 272;
    private static final long SYS_GETTID = 186;
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_IDLE = 5;
    private static final int SYSLOG_ACTION_SIZE_BUFFER = 10;
    private static final int SYSFS_TOTAL_TYPES = 3;

    /** libc's syscall(2), with room for three arguments. */
    static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        private Sys() {
        }

        static native long syscall(long number, long a1, long a2, long a3);

        static native long syscall(long number, long a1, long a2, Pointer a3);
    }

    private SandboxProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (!args[0].equals("none")) {
            for (String filter : args[0].split("\\+")) {
                Set<DenyGroup> groups = EnumSet.noneOf(DenyGroup.class);
                for (String g : filter.split(",")) {
                    groups.add(DenyGroup.valueOf(g));
                }
                new Sandbox(groups, false).install();
            }
        }
        for (int i = 1; i < args.length; i++) {
            System.out.println("calling " + args[i]);
            System.out.flush();
            System.out.println(args[i] + " " + call(args[i]));
            System.out.flush();
        }
    }

    private static String call(String name) throws Exception {
        Memory buf = new Memory(128);
        buf.clear();
        return switch (name) {
            case "status" -> status(Path.of("/proc/self/status"));
            // a thread started after the filter: its own status
            case "new-thread" -> {
                String[] out = new String[1];
                Thread t = new Thread(() -> out[0] = status(Path.of("/proc/thread-self/status")), "probe-late");
                t.start();
                t.join();
                yield out[0];
            }
            case "setpriority" -> {
                long nice = 20 - Sys.syscall(SYS_GETPRIORITY, 0, 0, 0);
                yield result(Sys.syscall(SYS_SETPRIORITY, 0, 0, nice));
            }
            case "sched_setparam" -> result(Sys.syscall(SYS_SCHED_SETPARAM, 0, Pointer.nativeValue(buf), 0));
            case "sched_setscheduler-other" -> result(Sys.syscall(SYS_SCHED_SETSCHEDULER, 0, SCHED_OTHER, buf));
            case "sched_setscheduler-idle" -> result(Sys.syscall(SYS_SCHED_SETSCHEDULER, 0, SCHED_IDLE, buf));
            case "sched_setaffinity" -> {
                long size = Sys.syscall(SYS_SCHED_GETAFFINITY, 0, 128, buf);
                yield result(Sys.syscall(SYS_SCHED_SETAFFINITY, 0, size, buf));
            }
            case "setuid" -> result(Sys.syscall(SYS_SETUID, Sys.syscall(SYS_GETUID, 0, 0, 0), 0, 0));
            case "setsid" -> result(Sys.syscall(SYS_SETSID, 0, 0, 0));
            case "sysfs" -> result(Sys.syscall(SYS_SYSFS, SYSFS_TOTAL_TYPES, 0, 0));
            case "syslog" -> result(Sys.syscall(SYS_SYSLOG, SYSLOG_ACTION_SIZE_BUFFER, 0, 0));
            // clone3 with a null argument block: EINVAL from the kernel, ENOSYS from the filter
            case "clone3" -> result(Sys.syscall(SYS_CLONE3, 0, 0, 0));
            case "process" -> {
                Process p = new ProcessBuilder("true").start();
                yield "exit=" + p.waitFor();
            }
            // unshare(0) changes nothing; under spawn=deny it kills the calling thread only
            case "unshare-thread" -> {
                long[] tid = {0};
                Object started = new Object();
                Thread t = new Thread(() -> {
                    synchronized (started) {
                        tid[0] = Sys.syscall(SYS_GETTID, 0, 0, 0);
                        started.notifyAll();
                    }
                    System.out.println("unshare " + result(Sys.syscall(SYS_UNSHARE, 0, 0, 0)));
                    System.out.flush();
                }, "probe-unshare");
                t.setDaemon(true);
                synchronized (started) {
                    t.start();
                    while (tid[0] == 0) {
                        started.wait();
                    }
                }
                Path task = Path.of("/proc/self/task/" + tid[0]);
                while (Files.exists(task)) {
                    Thread.sleep(10);
                }
                yield "thread-gone process-alive";
            }
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static String result(long rc) {
        return "rc=" + rc + " errno=" + (rc < 0 ? Native.getLastError() : 0);
    }

    private static String status(Path p) {
        try {
            StringBuilder sb = new StringBuilder();
            for (String l : Files.readAllLines(p)) {
                if (l.startsWith("Seccomp") || l.startsWith("NoNewPrivs")) {
                    sb.append(l.replace("\t", "")).append(' ');
                }
            }
            return sb.toString().trim();
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
