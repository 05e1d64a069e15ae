package dev.jvmm.kvm.seccomp;

import com.sun.jna.NativeLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The filter really denies: each case runs {@link SandboxProbe} in a child JVM that installs a {@link Sandbox}
 * and makes one call, next to a control child without the filter, where the same call succeeds. The actions are
 * QEMU 7.2's: the process dies by SIGSYS, the thread dies, or the call fails with EPERM or ENOSYS.
 */
class SandboxTest {
    private static final int SIGSYS = 31;
    /** Process.exitValue() of a child killed by a signal: 128 + the signal's number. */
    private static final int KILLED_BY_SIGSYS = 128 + SIGSYS;
    private static final String ALL = "DEFAULT,OBSOLETE,ELEVATE_PRIVILEGES,SPAWN,RESOURCE_CONTROL";

    record Run(int status, String out, String err) {
        String line(String call) {
            for (String l : out.split("\n")) {
                if (l.startsWith(call + " ")) {
                    return l.substring(call.length() + 1);
                }
            }
            return null;
        }
    }

    @BeforeAll
    static void needsLibseccomp() {
        boolean present;
        try {
            NativeLibrary.getInstance(SeccompLib.LIBRARY);
            present = true;
        } catch (UnsatisfiedLinkError e) {
            present = false;
        }
        assumeTrue(present, SeccompLib.LIBRARY + " (Debian's libseccomp2) is not installed: sandbox tests skipped");
    }

    private static Run probe(String groups, String... calls) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), SandboxProbe.class.getName(), groups));
        cmd.addAll(List.of(calls));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("probe " + cmd + " did not end");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static void assertKilled(String groups, String call) throws Exception {
        Run control = probe("none", call);
        assertEquals(0, control.status(), control.err());
        assertTrue(control.line(call).startsWith("rc=") ? control.line(call).contains("errno=0")
                : control.line(call) != null, call + " without the filter: " + control.out());
        Run r = probe(groups, call);
        assertEquals(KILLED_BY_SIGSYS, r.status(), call + " under " + groups + ": " + r.out() + r.err());
        assertTrue(r.out().contains("calling " + call), r.out());
        assertEquals(null, r.line(call), "the call returned: " + r.out());
    }

    private static void assertErrno(String groups, String call, int errno) throws Exception {
        Run control = probe("none", call);
        assertEquals(0, control.status(), control.err());
        assertTrue(control.line(call).endsWith("errno=0"), call + " without the filter: " + control.out());
        Run r = probe(groups, call);
        assertEquals(0, r.status(), r.err());
        assertEquals("rc=-1 errno=" + errno, r.line(call), r.out());
    }

    @Test
    void everyThreadCarriesTheFilterAndTheJvmKeepsWorking() throws Exception {
        Run r = probe(ALL, "status", "new-thread");
        assertEquals(0, r.status(), r.err());
        assertEquals("NoNewPrivs:1 Seccomp:2 Seccomp_filters:1", r.line("status"));
        assertEquals("NoNewPrivs:1 Seccomp:2 Seccomp_filters:1", r.line("new-thread"));
        Run none = probe("none", "status");
        assertTrue(none.line("status").contains("Seccomp:0"), none.out());
    }

    @Test
    void resourceControlFailsWithEperm() throws Exception {
        assertErrno("RESOURCE_CONTROL", "setpriority", 1);
        assertErrno("RESOURCE_CONTROL", "sched_setparam", 1);
        assertErrno("RESOURCE_CONTROL", "sched_setscheduler-other", 1);
        assertErrno("RESOURCE_CONTROL", "sched_setaffinity", 1);
        Run idle = probe("RESOURCE_CONTROL", "sched_setscheduler-idle");
        assertEquals("rc=0 errno=0", idle.line("sched_setscheduler-idle"), idle.out() + idle.err());
    }

    @Test
    void spawnKillsTheProcessThatStartsOne() throws Exception {
        assertKilled("DEFAULT,SPAWN", "process");
        Run allowed = probe("DEFAULT,OBSOLETE", "process");
        assertEquals("exit=0", allowed.line("process"), allowed.out() + allowed.err());
    }

    @Test
    void clone3AnswersEnosysSoThatThreadsFallBackToClone() throws Exception {
        Run control = probe("none", "clone3");
        assertEquals("rc=-1 errno=22", control.line("clone3"), control.out());
        Run r = probe("DEFAULT,SPAWN", "clone3", "new-thread");
        assertEquals("rc=-1 errno=38", r.line("clone3"), r.out() + r.err());
        assertEquals("NoNewPrivs:1 Seccomp:2 Seccomp_filters:1", r.line("new-thread"));
    }

    @Test
    void unshareKillsTheCallingThreadOnly() throws Exception {
        Run control = probe("none", "unshare-thread");
        assertTrue(control.out().contains("unshare rc=0 errno=0"), control.out());
        Run r = probe("SPAWN", "unshare-thread");
        assertEquals(0, r.status(), r.err());
        assertEquals("thread-gone process-alive", r.line("unshare-thread"), r.out());
        assertTrue(!r.out().contains("unshare rc="), r.out());
    }

    @Test
    void elevatePrivilegesKills() throws Exception {
        assertKilled("ELEVATE_PRIVILEGES", "setuid");
        Run allowed = probe("DEFAULT,OBSOLETE", "setuid");
        assertEquals("rc=0 errno=0", allowed.line("setuid"), allowed.out() + allowed.err());
    }

    @Test
    void defaultAndObsoleteKill() throws Exception {
        assertKilled("DEFAULT", "syslog");
        assertKilled("OBSOLETE", "sysfs");
        Run allowed = probe("DEFAULT", "sysfs");
        assertTrue(allowed.line("sysfs").endsWith("errno=0"), allowed.out() + allowed.err());
    }

    @Test
    void eachInstallStacksOneMoreFilter() throws Exception {
        // QEMU 7.2 with "-sandbox on -sandbox on,spawn=deny" shows Seccomp_filters: 2 as well.
        Run r = probe("DEFAULT,OBSOLETE+DEFAULT,OBSOLETE,SPAWN", "status", "clone3");
        assertEquals("NoNewPrivs:1 Seccomp:2 Seccomp_filters:2", r.line("status"), r.out() + r.err());
        assertEquals("rc=-1 errno=38", r.line("clone3"), r.out());
    }
}
