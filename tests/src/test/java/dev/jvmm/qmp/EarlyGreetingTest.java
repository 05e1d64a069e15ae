package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real jvmm greets on its QMP socket before its machine is built, answers what the client sent meanwhile
 * once it is, and prints where start-up went with -d startup.
 */
class EarlyGreetingTest {
    @TempDir
    Path dir;

    private static List<String> jvmm(String... args) {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("jvmm.launcher", "../bin/jvmm"),
                "-nodefaults", "-kernel", kernel.toString(), "-append", "action=idle"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void greetsBeforeTheDevicesAreBuiltAndAnswersOnceTheyAre() throws Exception {
        Path sock = dir.resolve("q.sock");
        Path log = dir.resolve("startup.log");
        Process p = QemuSideBySideTest.startProcess(jvmm("-S", "-d", "startup", "-D", log.toString(),
                "-qmp", "unix:" + sock + ",server=on,wait=off"), sock);
        try (QmpClient c = new QmpClient(sock)) {
            Map<String, Object> greeting = c.read(10_000);
            assertEquals(List.of("oob"), ((Map<?, ?>) greeting.get("QMP")).get("capabilities"));
            c.send("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            c.send("{\"execute\":\"query-status\",\"id\":2}");
            assertEquals(Map.of("return", Map.of(), "id", 1L), c.read(10_000));
            Map<String, Object> status = c.read(10_000);
            assertEquals("prelaunch", ((Map<?, ?>) status.get("return")).get("status"), status.toString());
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(sock)));
            List<Map<String, Object>> quit = c.exchange("{\"execute\":\"quit\"}");
            assertEquals("SHUTDOWN", quit.get(0).get("event"));
        } finally {
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            p.destroyForcibly();
        }
        assertFalse(Files.exists(sock), "the socket file goes with the process, as QEMU's does");
        List<String> phases = new ArrayList<>();
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            assertTrue(line.matches("jvmm: startup: +[0-9]+\\.[0-9] ms  [a-z ]+ \\([a-z-]+\\)"), line);
            phases.add(line.replaceAll(".* ms  ([a-z ]+) \\(.*", "$1"));
        }
        assertEquals(List.of("main", "qmp greeting", "options parsed", "configuration", "kvm opened",
                "guest memory", "vm and vcpus", "device types", "devices", "firmware tables and kernel",
                "qmp commands", "machine started", "qmp serving"), phases);
    }

    @Test
    void aCommandLineRefusedAfterTheGreetingLeavesNoSocketBehind() throws Exception {
        Path sock = dir.resolve("r.sock");
        Process p = new ProcessBuilder(jvmm("-qmp", "unix:" + sock + ",server=on,wait=off",
                "-device", "no-such-device")).redirectErrorStream(true).start();
        String out;
        try {
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
        assertEquals(1, p.exitValue());
        // (a CPU model warning of this host's may come first)
        assertTrue(out.endsWith("\njvmm: -device no-such-device: 'no-such-device' is not a valid device model name\n")
                || out.equals("jvmm: -device no-such-device: 'no-such-device' is not a valid device model name\n"), out);
        assertFalse(Files.exists(sock));
    }
}
