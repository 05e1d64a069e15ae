package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libvirt 9.0's whole command line for a pc-i440fx-7.2 domain (as libvirtd wrote it for QEMU here, less -sandbox
 * and the UHCI controller, which VirshLifecycleTest covers), run as libvirtd runs it: monitor and channel sockets bound by the parent and passed
 * as fd=N. A Python driver (libvirt_argv.py) passes the descriptors, which ProcessBuilder cannot, drives QMP
 * and the serial pty, and prints one JSON summary. The same command line runs under QEMU 7.2 where it is
 * installed, and jvmm's answers are held against QEMU's.
 */
class LibvirtArgvTest {
    private static final long TIMEOUT_S = 120;
    private static Path dir;
    private static Path script;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("jvmm-libvirt-argv");
        script = dir.resolve("libvirt_argv.py");
        try (InputStream in = LibvirtArgvTest.class.getResourceAsStream("/libvirt_argv.py")) {
            Files.write(script, in.readAllBytes());
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.write(dir.resolve("master-key.aes"), key);
        try (var f = new java.io.RandomAccessFile(dir.resolve("disk.raw").toFile(), "rw")) {
            f.setLength(16L << 20);
        }
    }

    private static Path kernel() {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing: libvirt argv test skipped");
        Path k = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(k), "guest not built");
        return k;
    }

    private static void qcow2() throws Exception {
        Path img = dir.resolve("disk.qcow2");
        if (Files.exists(img)) {
            return;
        }
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "16M")
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0,
                "qemu-img missing: the qcow2 disk of libvirt's domain cannot be made");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> run(String emulator, String mode, String... extra) throws Exception {
        qcow2();
        List<String> cmd = new java.util.ArrayList<>(List.of("python3", script.toString(), emulator,
                dir.toString(), kernel().toString(), mode));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("driver-" + mode + ".err").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(TIMEOUT_S, TimeUnit.SECONDS), "driver did not finish");
        assertEquals(0, p.exitValue(), out + Files.readString(dir.resolve("driver-" + mode + ".err")));
        Map<String, Object> s = (Map<String, Object>) QmpClient.parse(out.strip());
        assertNull(s.get("error"), out);
        return s;
    }

    private static String launcher() {
        return System.getProperty("jvmm.launcher", "../bin/jvmm");
    }

    private static boolean qemuInstalled() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, "qemu-system-x86_64"))) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static Object reply(Map<String, Object> s, String key) {
        Map<String, Object> r = (Map<String, Object>) ((Map<String, Object>) s.get("replies")).get(key);
        assertTrue(r != null && r.containsKey("return"), key + ": " + r);
        return r.get("return");
    }

    /** What the options asked for, as QMP and /proc show it; the same checks hold for QEMU. */
    @SuppressWarnings("unchecked")
    private static void checkDomain(Map<String, Object> s, String program) {
        assertEquals(0L, s.get("rc"), String.valueOf(s.get("stderr")));
        assertEquals("prelaunch", ((Map<String, Object>) reply(s, "status-prelaunch")).get("status"));
        assertEquals("running", ((Map<String, Object>) reply(s, "status-running")).get("status"));
        // -no-shutdown: the guest's poweroff stops the VM in the shutdown state instead of exiting
        assertEquals("shutdown", ((Map<String, Object>) reply(s, "status-after-shutdown")).get("status"));
        assertEquals(Map.of("guest", true, "reason", "guest-shutdown"),
                ((Map<String, Object>) s.get("shutdown")).get("data"));
        // -object: the secret and the RAM backend -machine memory-backend= names
        List<Map<String, Object>> objects = (List<Map<String, Object>>) reply(s, "objects");
        assertTrue(objects.contains(Map.of("name", "masterKey0", "type", "child<secret>")), objects.toString());
        assertTrue(objects.contains(Map.of("name", "pc.ram", "type", "child<memory-backend-ram>")), objects.toString());
        assertEquals(268435456L, reply(s, "pc.ram.size"));
        assertEquals(false, reply(s, "pc.ram.share"));
        assertEquals("raw", reply(s, "masterKey0.format"));
        assertEquals(dir.resolve("master-key.aes").toString(), reply(s, "masterKey0.file"));
        assertEquals(true, reply(s, "masterKey0.loaded"));
        assertEquals(Map.of("UUID", "34cc9fb7-9639-4713-add1-ce736436324e"), reply(s, "query-uuid"));
        assertEquals(Map.of("name", "jv1"), reply(s, "query-name"));
        assertEquals(List.of(), reply(s, "query-iothreads"));
        // -name debug-threads=on: each vCPU's thread is "CPU N/KVM", the thread query-cpus-fast names
        Map<String, Object> threads = (Map<String, Object>) s.get("threads");
        for (Map<String, Object> cpu : (List<Map<String, Object>>) reply(s, "query-cpus-fast")) {
            assertEquals("CPU " + cpu.get("cpu-index") + "/KVM", threads.get(String.valueOf(cpu.get("thread-id"))),
                    threads.toString());
        }
        // the channel's inherited socket is served: a client connects and the chardev reports its path
        List<Map<String, Object>> chardevs = (List<Map<String, Object>>) reply(s, "query-chardev-connected");
        assertTrue(chardevs.contains(Map.of("frontend-open", false, "label", "charchannel0",
                "filename", "unix:" + dir.resolve("chan0.sock") + ",server=on")), chardevs.toString());
        List<Map<String, Object>> before = (List<Map<String, Object>>) reply(s, "query-chardev");
        assertTrue(before.contains(Map.of("frontend-open", true, "label", "charmonitor",
                "filename", "unix:" + dir.resolve("mon.sock") + ",server=on")), before.toString());
        // every device of the command line, with libvirt's ids
        List<String> peripheral = ((List<Map<String, Object>>) reply(s, "peripheral")).stream()
                .map(m -> m.get("name") + "=" + m.get("type")).sorted().toList();
        assertEquals(List.of("balloon0=child<virtio-balloon-pci>", "channel0=child<virtserialport>",
                "ide0-1-0=child<ide-cd>", "serial0=child<isa-serial>", "type=string",
                "virtio-disk0=child<virtio-blk-pci>", "virtio-disk1=child<virtio-blk-pci>",
                "virtio-serial0=child<virtio-serial-pci>", "watchdog0=child<i6300esb>"), peripheral);
        // -msg timestamp=on: every warning line starts with QEMU's UTC timestamp
        for (String line : String.valueOf(s.get("stderr")).lines().toList()) {
            if (line.contains(program + ": warning:")) {
                assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z " + program
                        + ": warning: .*"), line);
            }
        }
    }

    @Test
    void libvirtsJsonCommandLineRunsAsUnderQemu() throws Exception {
        Map<String, Object> j = run(launcher(), "json");
        checkDomain(j, "jvmm");
        if (qemuInstalled()) {
            Map<String, Object> q = run("qemu-system-x86_64", "json");
            checkDomain(q, "qemu-system-x86_64");
            for (String k : List.of("query-uuid", "query-name", "pc.ram.size",
                    "masterKey0.format", "query-iothreads")) {
                assertEquals(reply(q, k), reply(j, k), k);
            }
        }
    }

    @Test
    void keyValueDevicesAsLibvirtWritesThemForJvmm() throws Exception {
        checkDomain(run(launcher(), "keyval"), "jvmm");
    }
}
