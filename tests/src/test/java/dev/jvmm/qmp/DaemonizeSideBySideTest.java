package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -daemonize and -pidfile as QEMU 7.2 behaves (os-posix.c): the launcher returns 0 once QMP listens, the
 * daemon holds its pid file (0600, locked, its pid) in a session of its own with stdio on /dev/null, a second
 * process naming the same file fails with QEMU's text, the file goes at quit, and an error before readiness
 * reaches the caller with status 1. Each case runs against QEMU and jvmm alike.
 */
class DaemonizeSideBySideTest {
    @TempDir
    Path dir;

    @BeforeEach
    void vmmsPresent() {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
    }

    private static String program(String vmm) {
        return vmm.equals("qemu") ? "qemu-system-x86_64" : ProbeDaemon.jvmm();
    }

    /** A stderr line without the program's name, which differs between the two. */
    private static String message(String stderr) {
        String line = stderr.strip();
        return line.substring(line.indexOf(": ") + 2);
    }

    /** The session id in /proc/PID/stat: the sixth field, counted from the state after the command name. */
    private static String session(String pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3];
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu", "jvmm"})
    void daemonHoldsItsLockedPidFileUntilQuit(String vmm) throws Exception {
        try (ProbeDaemon d = ProbeDaemon.probe(program(vmm), dir, vmm)) {
            assertEquals(0, d.rc);
            assertEquals("", d.stderr);
            long pid = d.pid.orElseThrow();
            assertEquals(pid + "\n", Files.readString(d.pidFile));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d.pidFile)));
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), vmm + " daemon gone");
            for (int fd = 0; fd <= 2; fd++) {
                assertEquals(Path.of("/dev/null"), Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)),
                        vmm + " fd " + fd);
            }
            // QEMU's daemon is the child of a session leader (it forks twice), jvmm's the leader itself
            assertNotEquals(session("self"), session(String.valueOf(pid)), vmm + " is still in the caller's session");

            List<String> second = new ArrayList<>(ProbeDaemon.probeArgs(dir, vmm + "2"));
            second.set(second.indexOf("-pidfile") + 1, d.pidFile.toString());
            ProbeDaemon refused = ProbeDaemon.launch(program(vmm), second, dir, vmm + "2");
            assertEquals(1, refused.rc);
            assertEquals("cannot create PID file: Cannot lock pid file: Resource temporarily unavailable",
                    message(refused.stderr));
            assertEquals(pid + "\n", Files.readString(d.pidFile), "the refused process left the file alone");

            try (QmpClient c = d.connect()) {
                c.command("{\"execute\":\"quit\"}");
            }
            assertTrue(d.awaitGone(10), vmm + " did not exit on quit");
            assertFalse(Files.exists(d.pidFile), vmm + " left its pid file");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu", "jvmm"})
    void errorsBeforeReadinessReachTheCaller(String vmm) throws Exception {
        List<String> args = new ArrayList<>(ProbeDaemon.probeArgs(dir, vmm));
        args.set(args.indexOf("-pidfile") + 1, dir.resolve("missing/x.pid").toString());
        ProbeDaemon d = ProbeDaemon.launch(program(vmm), args, dir, vmm);
        assertEquals(1, d.rc);
        assertEquals("cannot create PID file: Could not create '" + dir.resolve("missing/x.pid")
                + "': No such file or directory", message(d.stderr));

        // the pc machine's default serial port would be on stdio (none has no default serial port)
        List<String> graphic = new ArrayList<>(ProbeDaemon.probeArgs(dir, vmm + "g"));
        graphic.remove("-nodefaults");
        graphic.set(graphic.indexOf("none,accel=kvm:tcg"), "pc,accel=kvm");
        d = ProbeDaemon.launch(program(vmm), graphic, dir, vmm + "g");
        assertEquals(1, d.rc);
        assertEquals("-nographic cannot be used with -daemonize", message(d.stderr));
        assertFalse(Files.exists(dir.resolve(vmm + "g.pid")));
    }
}
