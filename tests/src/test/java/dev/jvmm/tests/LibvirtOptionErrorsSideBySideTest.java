package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The options libvirt writes about the process (-object, -machine memory-backend=, -overcommit, -msg,
 * -audiodev, -boot, -name), given wrong: QEMU 7.2 and jvmm refuse them with the same line (the program name
 * aside). Each case is one command line, its arguments separated by " ; ".
 */
class LibvirtOptionErrorsSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @ParameterizedTest
    @ValueSource(strings = {
            "-object ; foo,id=x",
            "-object ; {\"qom-type\":\"foo\",\"id\":\"x\"}",
            "-object ; iothread",
            "-object ; iothread,id=x,foo=1",
            "-object ; {\"qom-type\":\"iothread\",\"id\":\"x\",\"foo\":1}",
            "-object ; iothread,id=x,poll-max-ns=abc",
            "-object ; iothread,id=m ; -object ; iothread,id=m",
            "-object ; memory-backend-ram,id=x",
            "-object ; memory-backend-ram,id=1m,size=1M",
            "-object ; secret,id=s",
            "-object ; secret,id=s,data=a,file=/etc/hostname",
            "-object ; secret,id=s,file=/nonexistent",
            "-object ; secret,id=s,data=!!,format=base64",
            "-object ; secret,id=s,data=abc,keyid=nokey",
            "-object ; secret,id=k,data=short ; -object ; secret,id=s,data=abcd,keyid=k,iv=AAAAAAAAAAAAAAAAAAAAAA==",
            "-machine ; pc,memory-backend=nope",
            "-object ; iothread,id=m ; -machine ; pc,memory-backend=m",
            "-m ; 256 ; -object ; memory-backend-ram,id=pc.ram,size=128M ; -machine ; pc,memory-backend=pc.ram",
            "-overcommit ; foo=on",
            "-overcommit ; mem-lock=maybe",
            "-msg ; bar=on",
            "-audiodev ; nosuch,id=a",
            "-audiodev ; none",
            "-audiodev ; none,id=a,foo=1",
            "-boot ; strict=maybe",
            "-boot ; order=z",
            "-boot ; foo=1",
            "-boot ; reboot-timeout=abc",
            "-name ; foo,debug-threads=maybe",
            "-name ; foo,bar=1",
            "-device ; virtio-blk-pci,iothread=nope,drive=d ; -drive ; if=none,id=d,file=/dev/null,format=raw",
    })
    void sameErrorLine(String args) {
        Path qemu = Env.assumeQemu();
        List<String> argv = new ArrayList<>(List.of("-nodefaults", "-display", "none", "-S", "-accel", "kvm"));
        argv.addAll(List.of(args.split(" ; ")));
        String[] a = argv.toArray(String[]::new);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, a);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, a);
        assertEquals(1, q.status(), q.stderr());
        assertEquals(1, j.status(), j.stderr());
        assertEquals(errorLines(q.stderr(), "qemu-system-x86_64: "), errorLines(j.stderr(), "jvmm: "));
    }

    /** The error lines (a hint line included) without the program name, warnings left out. */
    private static List<String> errorLines(String stderr, String prefix) {
        return stderr.lines().filter(l -> !l.contains(": warning: ") && !l.contains("host doesn't support"))
                .map(l -> l.startsWith(prefix) ? l.substring(prefix.length()) : l).toList();
    }
}
