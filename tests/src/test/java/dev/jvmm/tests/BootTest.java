package dev.jvmm.tests;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Boots the tiny guests under jvmm (needs /dev/kvm) and checks their serial output and exit status. */
class BootTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    @BeforeEach
    void needKvm() {
        Env.assumeKvm();
    }

    @ParameterizedTest
    @EnumSource(TinyGuest.Format.class)
    void everyKernelFormatBootsAndPassesItsChecks(TinyGuest.Format f) {
        Path kernel = Env.guest(f.file);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "hello world"));
        assertEquals(TinyGuest.passingOutput(f, "hello world", 128), r.stdout(), r.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
    }

    @Test
    void memorySizeReachesTheGuest() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        String[] argv = TinyGuest.args(kernel, "m", "-m", "256M").toArray(new String[0]);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, argv);
        assertTrue(r.stdout().contains("memory: 256 MiB\n"), r.stdout() + r.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, r.status());
    }

    @Test
    void applicationProcessorsStartThroughTheLapic() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "action=smp cpus=2", "-smp", "2"));
        assertTrue(r.stdout().contains("smp: 2 cpus online\n"), r.stdout() + r.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stdout() + r.stderr());
    }

    @Test
    void cpuFeatureEditsReachTheGuestsCpuid() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        VmProcess.Result plain = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "action=cpuid"));
        assertTrue(plain.stdout().contains(" x2apic=1 "), plain.stdout());
        VmProcess.Result edited = VmProcess.runJvmm(TIMEOUT,
                TinyGuest.argv(kernel, "action=cpuid", "-cpu", "host,-x2apic,hypervisor=off"));
        assertTrue(edited.stdout().contains(" x2apic=0 "), edited.stdout() + edited.stderr());
        assertTrue(edited.stdout().contains(" hypervisor=0 "), edited.stdout());
        assertEquals(TinyGuest.EXIT_PASSED, edited.status());
    }

    @Test
    void unknownCpuFeatureIsAnError() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "x", "-cpu", "host,+frobnicate"));
        assertEquals(1, r.status());
        assertTrue(r.stderr().startsWith("jvmm: "), r.stderr());
        assertTrue(r.stderr().contains("frobnicate"), r.stderr());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
    }

    @Test
    void isaDebugExitStatusIsValueShiftedOrOne() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "action=panic-exit"));
        assertTrue(r.stdout().endsWith("jvmm-tiny: exit 7\n"), r.stdout());
        assertEquals(15, r.status());
    }

    @Test
    void resetsEndTheRunUnderNoReboot() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        for (String[] c : new String[][] {
                {"kbdreset", "jvmm-tiny: reset via i8042"},
                {"port92reset", "jvmm-tiny: reset via port 0x92"},
                {"triplefault", "jvmm-tiny: triple fault"}}) {
            VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, TinyGuest.argv(kernel, "action=" + c[0]));
            assertTrue(r.stdout().endsWith(c[1] + "\n"), c[0] + ": " + r.stdout() + r.stderr());
            assertEquals(0, r.status(), c[0] + ": " + r.stderr());
        }
    }

    @Test
    void withoutNoRebootAResetBootsTheKernelAgain() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        java.util.List<String> args = new java.util.ArrayList<>(TinyGuest.args(kernel, "action=triplefault"));
        args.remove("-no-reboot");
        try (VmProcess p = VmProcess.jvmm(args.toArray(new String[0]))) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (countOf(p.stdoutSoFar(), "jvmm-tiny: triple fault") < 3 && System.nanoTime() < deadline
                    && p.isAlive()) {
                sleep(50);
            }
            assertTrue(countOf(p.stdoutSoFar(), "jvmm-tiny: boot=pvh") >= 3, p.stdoutSoFar() + p.stderrSoFar());
            assertTrue(p.isAlive(), p.stderrSoFar());
        }
    }

    @Test
    void emulationFailurePausesWithARegisterDumpAndKeepsTheProcess() {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        try (VmProcess p = VmProcess.jvmm(TinyGuest.argv(kernel, "action=emulation-failure"))) {
            assertTrue(p.waitForOutput("Code=", TIMEOUT), p.stdoutSoFar() + p.stderrSoFar());
            String err = p.stderrSoFar();
            assertTrue(err.startsWith("KVM internal error. Suberror: 1\nextra data[0]: "), err);
            assertTrue(err.contains("\nemulation failure\nEAX="), err);
            assertTrue(err.contains("\nCR0=00000011 "), err);
            sleep(500);
            assertTrue(p.isAlive(), "jvmm must stay up in internal-error: " + err);
        }
    }

    @Test
    void serialToAFile() throws Exception {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        Path dir = Env.tempDir("jvmm-serial");
        Path out = dir.resolve("com1.log");
        java.util.List<String> args = new java.util.ArrayList<>(TinyGuest.args(kernel, "to file"));
        args.set(args.indexOf("stdio"), "file:" + out);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, args.toArray(new String[0]));
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
        assertEquals(TinyGuest.passingOutput(TinyGuest.Format.PVH, "to file", 128), Files.readString(out));
        assertEquals("", r.stdout());
    }

    @Test
    void initrdIsPlacedInRamAndReported() throws Exception {
        Path kernel = Env.guest(TinyGuest.Format.BZIMAGE.file);
        Path initrd = Env.tempDir("jvmm-initrd").resolve("initrd.img");
        Files.write(initrd, new byte[5000]);
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT,
                TinyGuest.argv(kernel, "action=memmap", "-initrd", initrd.toString()));
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stdout() + r.stderr());
        assertTrue(r.stdout().lines().anyMatch(l -> l.startsWith("initrd: ") && l.endsWith(" 0x00001388")),
                r.stdout());
    }

    /**
     * Without -kernel the firmware boots, as in QEMU: SeaBIOS's banner on the serial console (-nographic makes
     * graphics=off, which fw_cfg tells SeaBIOS), its attempts, and "No bootable device." without a disk.
     */
    @Test
    void firmwareBootsWithoutAKernelOption() {
        try (VmProcess p = VmProcess.jvmm("-nodefaults", "-nographic", "-serial", "stdio", "-m", "64")) {
            assertTrue(p.waitForOutput("No bootable device.", TIMEOUT), p.stdoutSoFar() + p.stderrSoFar());
            String out = p.stdoutSoFar();
            assertTrue(out.contains("SeaBIOS (version "), out);
            assertTrue(out.indexOf("Booting from Hard Disk...") < out.indexOf("No bootable device."), out);
            assertFalse(p.stderrSoFar().contains("Exception"), p.stderrSoFar());
        }
    }

    @Test
    void aMissingFirmwareIsRefusedAsQemuRefusesIt() {
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-display", "none", "-bios",
                "no-such-bios.bin");
        assertEquals(1, r.status());
        assertTrue(r.stderr().contains("jvmm: could not load PC BIOS 'no-such-bios.bin'"), r.stderr());
    }

    @Test
    void launcherWorksThroughASymlinkNamedLikeQemuFromAnyDirectory() throws Exception {
        Path dir = Env.tempDir("jvmm-dropin");
        Path link = Files.createSymbolicLink(dir.resolve("qemu-system-x86_64"), Env.launcher().toAbsolutePath());
        Process p = new ProcessBuilder(link.toString(), "-version").directory(dir.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "jvmm -version did not exit");
        assertEquals(0, p.exitValue());
        assertTrue(out.startsWith("QEMU emulator version 7.2.0 (jvmm "), out);
    }

    static int countOf(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
