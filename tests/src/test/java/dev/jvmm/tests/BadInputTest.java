package dev.jvmm.tests;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Start-up errors: one error line on stderr, status 1, never a stack trace. Warning lines may come first, as
 * QEMU prints them: the default CPU model (qemu64) warns about each feature the host's KVM lacks before the
 * kernel is loaded or -device is read.
 */
class BadInputTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static void assertOneLineError(VmProcess.Result r, String expectedStart) {
        assertEquals(1, r.status(), r.stderr());
        List<String> errors = r.stderr().lines().filter(l -> !l.startsWith("jvmm: warning: ")).toList();
        assertEquals(1, errors.size(), r.stderr());
        assertTrue(errors.get(0).startsWith("jvmm: " + expectedStart), r.stderr());
        assertFalse(r.stderr().contains("Exception"), r.stderr());
        assertEquals("", r.stdout());
    }

    @Test
    void missingKernel() {
        Env.assumeKvm();
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-kernel", "/nonexistent/vmlinuz");
        assertOneLineError(r, "could not load kernel '/nonexistent/vmlinuz': ");
        assertTrue(r.stderr().contains("No such file or directory"), r.stderr());
    }

    @Test
    void unreadableKernel() {
        Env.assumeKvm();
        Path dir = Env.tempDir("jvmm-kernel-dir");
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-kernel", dir.toString());
        assertOneLineError(r, "could not load kernel '" + dir + "': ");
    }

    @Test
    void corruptKernel() throws Exception {
        Env.assumeKvm();
        Path junk = Env.tempDir("jvmm-junk").resolve("junk.bin");
        byte[] bytes = new byte[64 * 1024];
        new Random(42).nextBytes(bytes);
        Files.write(junk, bytes);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-kernel", junk.toString());
        assertOneLineError(r, "could not load kernel '" + junk + "': ");
    }

    @Test
    void truncatedKernels() throws Exception {
        Env.assumeKvm();
        Path dir = Env.tempDir("jvmm-trunc");
        for (TinyGuest.Format f : TinyGuest.Format.values()) {
            byte[] whole = Files.readAllBytes(Env.guest(f.file));
            for (int len : new int[] {16, 700, whole.length / 2}) {
                Path t = dir.resolve(f.file + "." + len);
                Files.write(t, Arrays.copyOf(whole, len));
                VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-kernel", t.toString());
                assertOneLineError(r, "could not load kernel '" + t + "': ");
            }
        }
    }

    @Test
    void memoryLargerThanTheHostCanMap() {
        Env.assumeKvm();
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-m", "1000T");
        assertOneLineError(r, "cannot set up guest memory 'pc.ram': ");
    }

    @Test
    void noKvmDevice() {
        VmProcess.Result r = runWithKvmDevice("/nonexistent/kvm");
        assertOneLineError(r, "Could not access KVM kernel module: No such file or directory");
    }

    @Test
    void kvmDeviceThatIsNotKvm() {
        VmProcess.Result r = runWithKvmDevice("/dev/null");
        assertEquals(1, r.status(), r.stderr());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertFalse(r.stderr().contains("Exception"), r.stderr());
    }

    private static VmProcess.Result runWithKvmDevice(String device) {
        ProcessBuilder pb = new ProcessBuilder(Env.launcher().toString(), "-nodefaults");
        pb.environment().put("JVMM_KVM_DEVICE", device);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            return new VmProcess.Result(p.exitValue(), new String(out), new String(err), 0);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void unknownOptionAndDevice() {
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-frobnicate");
        assertOneLineError(r, "-frobnicate: invalid option");
        r = VmProcess.runJvmm(TIMEOUT, "-device", "sound-blaster-16");
        assertOneLineError(r, "-device sound-blaster-16: 'sound-blaster-16' is not a valid device model name");
    }
}
