package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The exit benchmark's guest modes (pio-bench.pvh, tests/guest/src/pio_bench.c) as a functional check, a few
 * exits each, under QEMU and jvmm with the same command line: stores to unassigned MMIO, which keeps nothing,
 * and virtio queue notifies on a virtio-serial-pci with ioeventfd=off, each one an exit to the transport.
 */
class ExitPathSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"mmio, ''", "notify, 'virtio-serial-pci,ioeventfd=off'"})
    void guestLoopEndsAlike(String mode, String device) {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("pio-bench.pvh");
        String append = "iterations=1000 mode=" + mode;
        String[] extra = device.isEmpty() ? new String[0] : new String[] {"-device", device};
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, TinyGuest.argv(kernel, append, extra));
        assertEquals("pio-bench: " + mode + " 1000\npio-bench: done\n", q.stdout(), "QEMU: " + q.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, q.status(), "QEMU: " + q.stderr());
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, append, extra));
        assertEquals(q.stdout(), j.stdout(), "serial output differs; jvmm stderr: " + j.stderr());
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }
}
