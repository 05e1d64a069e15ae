package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The process options libvirt writes (-name, -object with -machine memory-backend=, -overcommit, -msg,
 * -audiodev, -boot, -no-hpet), parsed with QEMU 7.2's error texts (taken from qemu-system-x86_64 runs).
 */
class HostOptionsTest {
    private static QemuCommandLine line(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return cl;
    }

    private static MachineConfig config(String... args) {
        return MachineConfigParser.parse(line(args));
    }

    private static String error(String... args) {
        return assertThrows(OptionException.class, () -> config(args)).formatted();
    }

    @Test
    void libvirtsOptions() {
        MachineConfig c = config("-name", "guest=jv1,debug-threads=on", "-object",
                "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":268435456}", "-machine",
                "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram", "-m", "256", "-overcommit",
                "mem-lock=off", "-audiodev", "{\"id\":\"audio1\",\"driver\":\"none\"}", "-boot", "strict=on",
                "-no-hpet");
        HostOptions h = c.host();
        assertTrue(h.debugThreads());
        assertEquals("CPU 1/KVM", h.vcpuThreadName(1));
        assertEquals(Optional.of("pc.ram"), h.memoryBackend());
        assertFalse(h.memLock());
        assertEquals(java.util.List.of("audio1"), h.audiodevs());
        assertEquals(Map.of("strict", "on"), h.boot());
        assertEquals(256L << 20, c.ramBytes());
        assertFalse(c.pc().hpet());
        assertEquals("vcpu-0", config().host().vcpuThreadName(0));
    }

    @Test
    void ramSizeFromTheBackendWithoutM() {
        assertEquals(64L << 20, config("-object", "memory-backend-memfd,id=m,size=64M", "-machine",
                "memory-backend=m").ramBytes());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "-machine|pc,memory-backend=nope|Memory backend 'nope' not found",
            "-overcommit|foo=on|-overcommit foo=on: Invalid parameter 'foo'",
            "-overcommit|mem-lock=maybe|-overcommit mem-lock=maybe: Parameter 'mem-lock' expects 'on' or 'off'",
            "-audiodev|nosuch,id=a|-audiodev nosuch,id=a: Parameter 'driver' does not accept value 'nosuch'",
            "-audiodev|none|-audiodev none: Parameter 'id' is missing",
            "-audiodev|{\"driver\":\"none\"}|-audiodev {\"driver\":\"none\"}: Parameter 'id' is missing",
            "-audiodev|none,id=a,foo=1|-audiodev none,id=a,foo=1: Parameter 'foo' is unexpected",
            "-boot|strict=maybe|Parameter 'boot.strict' expects 'on' or 'off'",
            "-boot|order=z|Invalid boot device 'z'",
            "-boot|foo=1|Parameter 'boot.foo' is unexpected",
            "-boot|reboot-timeout=abc|Parameter 'boot.reboot-timeout' expects integer",
            "-name|foo,debug-threads=maybe|-name foo,debug-threads=maybe: Parameter 'debug-threads' expects 'on' or 'off'",
    })
    void qemuErrors(String option, String value, String expected) {
        assertEquals(expected, error(option, value));
    }

    @Test
    void sizeMismatchAndObjectsThatAreNoBackend() {
        assertEquals("Machine memory size does not match the size of the memory backend", error("-m", "256",
                "-object", "memory-backend-ram,id=pc.ram,size=128M", "-machine", "memory-backend=pc.ram"));
        assertEquals("Memory backend 'm' not found", error("-object", "iothread,id=m", "-machine",
                "memory-backend=m"));
    }

    @Test
    void iothreadLinksNameAnIothread() {
        assertEquals("-device virtio-blk-pci,iothread=nope,drive=d: Device 'nope' not found",
                error("-device", "virtio-blk-pci,iothread=nope,drive=d"));
        assertEquals("-device virtio-blk-pci,iothread=m,drive=d: Device 'm' not found",
                error("-object", "memory-backend-ram,id=m,size=1M", "-device", "virtio-blk-pci,iothread=m,drive=d"));
        config("-object", "iothread,id=io1", "-device", "virtio-blk-pci,iothread=io1,drive=d");
    }

    @Test
    void whatJvmmCannotHonourIsRefused() {
        assertTrue(error("-overcommit", "cpu-pm=on").startsWith("-overcommit cpu-pm=on: cpu-pm=on is not supported"));
        assertTrue(error("-audiodev", "alsa,id=a").startsWith("-audiodev alsa,id=a: audio driver 'alsa' is not"));
        assertTrue(error("-object", "memory-backend-memfd,id=m,size=1M,hugetlb=on")
                .endsWith("hugetlb=on is not supported by jvmm"));
        config("-overcommit", "cpu-pm=off", "-boot", "order=cd,once=d,menu=on,splash-time=100,reboot-timeout=1000");
    }

    @Test
    void msgPrefixesErrorAndWarningLinesOnly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        MessagePrefix m = new MessagePrefix(sink, true, "jv1", java.time.Clock.fixed(
                Instant.parse("2026-12-07T05:58:58.901620Z"), java.time.ZoneOffset.UTC));
        PrintStream err = new PrintStream(m, true, StandardCharsets.UTF_8);
        err.println("jvmm: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]");
        err.println("char device redirected to /dev/pts/0 (label charserial0)");
        err.print("jvmm: partial ");
        err.println("line");
        assertEquals("2026-12-07T05:58:58.901620Z jv1 jvmm: warning: host doesn't support requested feature:"
                + " CPUID.01H:ECX.pni [bit 0]\nchar device redirected to /dev/pts/0 (label charserial0)\n"
                + "2026-12-07T05:58:58.901620Z jv1 jvmm: partial line\n", bytes.toString(StandardCharsets.UTF_8));
        PrintStream plain = new PrintStream(new ByteArrayOutputStream());
        assertSame(plain, MessagePrefix.wrap(line("-msg", "timestamp=off"), plain));
        assertEquals("-msg bar=on: Invalid parameter 'bar'", assertThrows(OptionException.class,
                () -> MessagePrefix.wrap(line("-msg", "bar=on"), plain)).formatted());
    }
}
