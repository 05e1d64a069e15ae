package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The common mistakes on -device virtio-serial-pci / virtserialport / virtconsole: QEMU 7.2 and jvmm refuse
 * the same command line with the same error line (after the program name) and status 1.
 */
class VirtioSerialOptionsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** The error line without "qemu-system-x86_64: " / "jvmm: " (QEMU may warn about CPU features first). */
    private static String error(VmProcess.Result r) {
        List<String> lines = r.stderr().lines().filter(l -> !l.contains("warning:")).toList();
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        return last.substring(last.indexOf(": ") + 2);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "-device virtio-serial-pci -device virtserialport,bus=virtio-serial0.0",
        "-device virtio-serial-pci,id=vs -device virtserialport,bus=vs.0,nr=0",
        "-device virtio-serial-pci,id=vs -device virtserialport,bus=vs.0,nr=31",
        "-device virtio-serial-pci,id=vs -device virtserialport,nr=5 -device virtserialport,nr=5",
        "-device virtio-serial-pci -device virtserialport,name=a -device virtserialport,name=a",
        "-device virtio-serial-pci,id=a -device virtio-serial-pci,id=b -device virtserialport,bus=a.0,name=x"
            + " -device virtserialport,bus=b.0,name=x",
        "-device virtserialport",
        "-device virtio-serial-pci -device virtserialport,chardev=nope",
        "-chardev null,id=c -device virtio-serial-pci -device virtserialport,chardev=c -device virtconsole,chardev=c",
        "-chardev null,id=c -serial chardev:c -device virtio-serial-pci -device virtserialport,chardev=c",
        "-device virtio-serial-pci -device virtserialport,bus=pci.0",
        "-device virtio-serial-pci -device virtserialport,nr=x",
        "-device virtio-serial-pci,max_ports=0",
        "-device virtio-serial-pci,max_ports=512",
        "-device virtio-serial-pci,max_ports=x",
        "-device virtio-serial-pci,max_ports=1 -device virtserialport",
        "-device virtio-serial-pci,max_ports=1 -device virtconsole -device virtconsole",
        "-device virtio-serial-pci,id=vs -device virtconsole,bus=vs.1",
        "-device virtio-serial-pci,bogus=1",
        "-device virtio-serial-pci -device virtserialport,bogus=1",
        "-device virtio-serial,bus=pci.1",
    })
    void sameErrorAsQemu(String options) {
        Path qemu = Env.assumeQemu();
        Env.assumeKvm();
        Path kernel = Env.guest("tiny.pvh");
        List<String> args = new ArrayList<>(List.of("-S"));
        args.addAll(List.of(options.split(" ")));
        String[] argv = TinyGuest.argv(kernel, "action=vserial", args.toArray(String[]::new));
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        assertEquals(1, q.status(), "QEMU accepted it: " + q.stderr());
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(error(q), error(j), "jvmm stderr: " + j.stderr());
        assertEquals(1, j.status(), j.stderr());
    }
}
