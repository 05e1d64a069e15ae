package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The same guest binaries and command line under qemu-system-x86_64 -enable-kvm and under jvmm: the
 * serial output and the exit status must be identical.
 */
class SideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TinyGuest.Format f : TinyGuest.Format.values()) {
            cases.add(Arguments.of(f, "side by side", new String[0]));
        }
        cases.add(Arguments.of(TinyGuest.Format.BZIMAGE, "mem", new String[] {"-m", "256"}));
        cases.add(Arguments.of(TinyGuest.Format.MULTIBOOT, "action=panic-exit", new String[0]));
        cases.add(Arguments.of(TinyGuest.Format.PVH, "action=smp cpus=2", new String[] {"-smp", "2"}));
        cases.add(Arguments.of(TinyGuest.Format.PVH, "action=kbdreset", new String[0]));
        cases.add(Arguments.of(TinyGuest.Format.BZIMAGE, "action=port92reset", new String[0]));
        cases.add(Arguments.of(TinyGuest.Format.MULTIBOOT, "action=triplefault", new String[0]));
        // ACPI tables as an OS finds them (jvmm has no HPET, so QEMU's is turned off), and no ACPI at all.
        cases.add(Arguments.of(TinyGuest.Format.BZIMAGE, "action=acpi",
                new String[] {"-machine", "pc,hpet=off", "-smp", "2"}));
        cases.add(Arguments.of(TinyGuest.Format.PVH, "action=acpi", new String[] {"-machine", "pc,hpet=off"}));
        cases.add(Arguments.of(TinyGuest.Format.MULTIBOOT, "action=acpi",
                new String[] {"-machine", "pc,acpi=off,hpet=off"}));
        cases.add(Arguments.of(TinyGuest.Format.PVH, "action=poweroff", new String[0]));
        cases.add(Arguments.of(TinyGuest.Format.BZIMAGE, "action=cf9reset", new String[0]));
        cases.add(Arguments.of(TinyGuest.Format.PVH, "action=cpuid",
                new String[] {"-cpu", QemuCpu.withEdits("-x2apic,-xsave,avx2=off")}));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} \"{1}\"")
    @MethodSource("cases")
    void sameSerialOutputAndExitStatus(TinyGuest.Format f, String append, String[] extra) {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest(f.file);
        String[] argv = TinyGuest.argv(kernel, append, extra);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(q.stdout(), j.stdout(), "serial output differs; jvmm stderr: " + j.stderr());
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }
}
