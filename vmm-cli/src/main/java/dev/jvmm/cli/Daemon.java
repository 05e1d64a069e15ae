package dev.jvmm.cli;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * -daemonize as QEMU's os-posix.c does it, without fork: the launcher starts itself again (same java, same
 * JVM options, the same arguments less -daemonize) as the daemon and waits. The daemon reports on the pipe
 * that is its stdout: a readiness line once the machine is set up and QMP listens, after which its stdio
 * goes to /dev/null. Errors before that reach the caller's stderr, which the daemon inherits. The caller
 * exits 0 on readiness, otherwise with the daemon's failure.
 */
final class Daemon {
    /** Marks the re-executed launcher as the daemon. */
    static final String CHILD_ENV = "JVMM_DAEMONIZED";
    static final String OPTION = "-daemonize";
    /** What the daemon writes on its stdout pipe once it is ready. */
    private static final String READY = "jvmm-daemon-ready";
    private static final int O_RDWR = 2;

    private Daemon() {
    }

    /** libc, bound on first use: a process that does not daemonize spends no start-up time on it. */
    private static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        private Sys() {
        }

        static native int setsid() throws LastErrorException;

        static native int open(String path, int flags) throws LastErrorException;

        static native int dup2(int from, int to) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }

    /** True when the arguments ask for -daemonize (QEMU also takes the double-dash spelling). */
    static boolean requested(String[] args) {
        for (String a : args) {
            if (a.equals(OPTION) || a.equals("-" + OPTION)) {
                return true;
            }
        }
        return false;
    }

    /** True in the re-executed launcher, the daemon itself. */
    static boolean isDaemon() {
        return "1".equals(System.getenv(CHILD_ENV));
    }

    /**
     * The caller's side: starts the daemon and waits for its readiness line or its end. Anything else the
     * daemon writes to stdout before it is ready is passed on.
     */
    static int launch(String[] args, PrintStream out, PrintStream err) {
        ProcessHandle.Info self = ProcessHandle.current().info();
        List<String> all = self.arguments().map(List::of).orElse(List.of());
        if (self.command().isEmpty() || all.size() < args.length
                || !all.subList(all.size() - args.length, all.size()).equals(Arrays.asList(args))) {
            err.println(Main.PROGRAM + ": -daemonize: cannot find this process's own command line");
            return 1;
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(self.command().get());
        cmd.addAll(all.subList(0, all.size() - args.length));
        Arrays.stream(args).filter(a -> !a.equals(OPTION) && !a.equals("-" + OPTION)).forEach(cmd::add);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put(CHILD_ENV, "1");
        Process child;
        try {
            child = pb.start();
        } catch (IOException e) {
            err.println(Main.PROGRAM + ": -daemonize: " + e.getMessage());
            return 1;
        }
        try (InputStream in = child.getInputStream()) {
            if (awaitReady(in, out)) {
                return 0;
            }
            // The pipe closed without readiness: the daemon is ending; its status is the caller's.
            if (child.waitFor(30, TimeUnit.SECONDS)) {
                return child.exitValue() == 0 ? 1 : child.exitValue();
            }
            return 1;
        } catch (IOException e) {
            err.println(Main.PROGRAM + ": -daemonize: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** Reads the daemon's stdout until its readiness line (true) or the end of the pipe (false). */
    private static boolean awaitReady(InputStream in, PrintStream out) throws IOException {
        StringBuilder line = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            if (b != '\n') {
                line.append((char) b);
                continue;
            }
            if (line.toString().equals(READY)) {
                return true;
            }
            out.println(line);
            line.setLength(0);
        }
        out.print(line);
        out.flush();
        return false;
    }

    /** The daemon's first step: a session of its own, as QEMU's setsid() after fork. */
    static void detachSession() {
        try {
            Sys.setsid();
        } catch (LastErrorException e) {
            // Already a session leader: the caller's intent holds.
        }
    }

    /** The daemon's last step of set-up: tell the caller, then stdin, stdout and stderr go to /dev/null. */
    static void ready() {
        System.out.print(READY + "\n");
        System.out.flush();
        System.err.flush();
        int fd = Sys.open("/dev/null", O_RDWR);
        for (int i = 0; i <= 2; i++) {
            Sys.dup2(fd, i);
        }
        Sys.close(fd);
    }

    /**
     * QEMU's check: -nographic's default stdio serial port cannot follow a daemon. The none machine has no
     * default serial port, so it is not refused there.
     */
    static String conflict(QemuCommandLine cl) {
        boolean defaultSerial = !cl.nodefaults && cl.serial.isEmpty() && !MachineConfigParser.isNoneMachine(cl.machine);
        return cl.nographic && defaultSerial ? "-nographic cannot be used with -daemonize" : null;
    }
}
