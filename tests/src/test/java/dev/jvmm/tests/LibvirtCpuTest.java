package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The -cpu, -smp and -initrd options libvirt 9.0 writes for the three &lt;cpu&gt; choices of a domain with 1-4
 * vCPUs and an &lt;initrd&gt;: no &lt;cpu&gt; gives qemu64, host-passthrough "host,migratable=on", and host-model the
 * host's named model with libvirt's +/- feature list (the string below is what libvirt wrote on this project's
 * AMD EPYC host; QEMU 7.2 itself aborts with both host CPU modes there, on a PVM MSR, so there is no QEMU
 * reference run). Each guest brings every vCPU online.
 */
class LibvirtCpuTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    static final String HOST_MODEL = "EPYC-Milan,x2apic=on,tsc-deadline=on,hypervisor=on,tsc-adjust=on,"
            + "arch-capabilities=on,cmp-legacy=on,rdctl-no=on,skip-l1dfl-vmentry=on,mds-no=on,pschange-mc-no=on,"
            + "pni=off,pclmulqdq=off,ssse3=off,fma=off,pcid=off,sse4.1=off,sse4.2=off,movbe=off,popcnt=off,aes=off,"
            + "xsave=off,avx=off,f16c=off,rdrand=off,fsgsbase=off,bmi1=off,avx2=off,smep=off,bmi2=off,erms=off,"
            + "invpcid=off,rdseed=off,adx=off,smap=off,sha-ni=off,pku=off,rdpid=off,fsrm=off,xsaveopt=off,"
            + "xsavec=off,xgetbv1=off,xsaves=off,pdpe1gb=off,rdtscp=off,svm=off,abm=off,sse4a=off,perfctr-core=off,"
            + "wbnoinvd=off,ibpb=off,ibrs=off,amd-stibp=off,amd-ssbd=off,npt=off,nrip-save=off,svme-addr-chk=off";

    @ParameterizedTest
    @CsvSource({"qemu64,1", "qemu64,4", "host-passthrough,2", "host-passthrough,4", "host-model,3",
            "host-model,4"})
    void libvirtsCpuChoicesBootEveryVcpu(String mode, int vcpus) throws Exception {
        Env.assumeKvm();
        Path kernel = Env.guest("tiny.pvh");
        Path initrd = Env.tempDir("jvmm-initrd").resolve("initrd.img");
        Files.write(initrd, new byte[8192]);
        String cpu = switch (mode) {
            case "host-passthrough" -> "host,migratable=on";
            case "host-model" -> HOST_MODEL;
            default -> "qemu64";
        };
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, "-nodefaults", "-display", "none", "-no-reboot",
                "-accel", "kvm", "-cpu", cpu, "-m", "128",
                "-smp", vcpus + ",sockets=" + vcpus + ",cores=1,threads=1", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(),
                "-initrd", initrd.toString(), "-append", "action=smp cpus=" + vcpus);
        assertTrue(r.stdout().contains("smp: " + vcpus + " cpus online"), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("jvmm-tiny: all checks passed"), r.stdout() + r.stderr());
        assertEquals(33, r.status(), r.stderr());
    }
}
