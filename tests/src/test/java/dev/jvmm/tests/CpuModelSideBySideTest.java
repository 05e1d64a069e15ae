package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CPU model itself: the tiny guest prints CPUID leaves 0, 1, 7.0, 8000_0000h, 8000_0001h and 8000_0008h
 * under QEMU and under jvmm with the same -cpu, and the output and the warning lines (program name
 * stripped) must be identical. For host and max, QEMU gets the spelling it runs with on this host, jvmm the
 * plain model, which must come out as QEMU's working spelling does.
 */
class CpuModelSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @ParameterizedTest(name = "-cpu {0}")
    @ValueSource(strings = {"qemu64", "kvm64", "max", "host", "EPYC", "Skylake-Client", "EPYC-Rome",
        "Cascadelake-Server", "qemu32", "qemu64,+avx,-x2apic", "Skylake-Client-IBRS,vendor=GenuineIntel,-hle",
        "kvm64,family=6,model=158,stepping=10,level=0x14,model-id=jvmm,check=off"})
    void sameCpuidLeavesAndWarnings(String cpu) {
        Path qemu = Env.assumeQemu();
        String qemuCpu = cpu.equals("max") || cpu.equals("host") ? QemuCpu.spellingFor(cpu) : cpu;
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv(qemuCpu));
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv(cpu));
        assertEquals(q.stdout(), j.stdout(), "CPUID leaves differ; jvmm stderr: " + j.stderr());
        assertEquals(warnings(q.stderr(), "qemu-system-x86_64: "), warnings(j.stderr(), "jvmm: "));
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }

    /**
     * The topology fields (leaf 1 EBX and EDX.HTT, 8000_0001h ECX.CmpLegacy, 8000_0008h ECX) under -smp, and
     * the warning lines, which QEMU prints once for every vCPU.
     */
    @ParameterizedTest(name = "-cpu {0} -smp {1}")
    @CsvSource(delimiter = ';', value = {"qemu64;2", "EPYC;8,sockets=2,cores=2,threads=2",
        "Skylake-Client,vendor=GenuineIntel;4,cores=2,threads=2", "kvm64;3"})
    void topologyFieldsFollowSmp(String cpu, String smp) {
        Path qemu = Env.assumeQemu();
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv(cpu, "-smp", smp));
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv(cpu, "-smp", smp));
        assertEquals(q.stdout(), j.stdout(), "CPUID leaves differ; jvmm stderr: " + j.stderr());
        assertEquals(warnings(q.stderr(), "qemu-system-x86_64: "), warnings(j.stderr(), "jvmm: "));
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }

    @ParameterizedTest(name = "-cpu {0}")
    @ValueSource(strings = {"qemu64,+avx512f,enforce", "nosuchmodel", "qemu64,+frobnicate", "qemu64,avx=maybe",
        "EPYC,family=x", "qemu64,vendor=Intel", "qemu64,stepping=16", "qemu64,phys-bits=99", "qemu64,level=-1",
        "qemu64,xlevel=0x100000000", "qemu64,level=abc", "qemu64,host-phys-bits-limit=300", ""})
    void sameErrors(String cpu) {
        Path qemu = Env.assumeQemu();
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv(cpu));
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv(cpu));
        assertEquals(warnings(q.stderr(), "qemu-system-x86_64: "), warnings(j.stderr(), "jvmm: "));
        assertEquals(1, j.status(), j.stderr());
        assertEquals(q.status(), j.status());
    }

    private static String[] argv(String cpu, String... extra) {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", cpu, "-nodefaults", "-display", "none",
                "-serial", "stdio", "-m", "128", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
                "-kernel", kernel.toString(), "-append", "action=cpuid-leaves"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    /** The stderr lines with the program name taken off. */
    private static String warnings(String stderr, String prefix) {
        return stderr.lines().map(l -> l.startsWith(prefix) ? l.substring(prefix.length()) : l)
                .collect(Collectors.joining("\n"));
    }
}
