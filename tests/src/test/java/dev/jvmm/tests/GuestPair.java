package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One tiny-guest run under QEMU and one under jvmm with the same kernel and -append. QEMU runs first and must
 * end with the expected status; with -Djvmm.qemuOnly=true the jvmm half is skipped (proves a test on QEMU alone).
 */
record GuestPair(VmProcess.Result qemu, VmProcess.Result jvmm) {
    static GuestPair run(Duration timeout, String append, String[] qemuArgs, String[] jvmmArgs, int qemuStatus) {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        VmProcess.Result q = VmProcess.runQemu(qemu, timeout, TinyGuest.argv(kernel, append, qemuArgs));
        assertEquals(qemuStatus, q.status(), "QEMU run: " + q.stdout() + q.stderr());
        if (Boolean.getBoolean("jvmm.qemuOnly")) {
            return new GuestPair(q, null);
        }
        return new GuestPair(q, VmProcess.runJvmm(timeout, TinyGuest.argv(kernel, append, jvmmArgs)));
    }

    /** Skips the rest of the test when only QEMU ran. */
    void jvmmHalf() {
        Assumptions.assumeTrue(jvmm != null, "jvmm half skipped: -Djvmm.qemuOnly=true");
    }

    /** Same serial output and exit status; hint explains a jvmm failure (e.g. its stderr). */
    void assertSame(Function<VmProcess.Result, String> hint) {
        jvmmHalf();
        assertEquals(qemu.stdout(), jvmm.stdout(), "serial output differs; " + hint.apply(jvmm));
        assertEquals(qemu.status(), jvmm.status(), "exit status differs; " + hint.apply(jvmm));
    }
}
