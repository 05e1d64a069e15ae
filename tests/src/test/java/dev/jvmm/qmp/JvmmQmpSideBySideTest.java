package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real jvmm and qemu-system-x86_64 -enable-kvm, started with the same command line (the tiny guest
 * idling, -S, a QMP socket), get the same QMP conversation; every reply and event must have the same shape,
 * and error classes and event data must be equal.
 */
class JvmmQmpSideBySideTest {
    @TempDir
    Path dir;

    private static Path guest(String name) {
        Path p = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "guest " + p + " not built");
        return p;
    }

    private static List<String> common(Path sock, String append, String... extra) {
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults", "-display", "none",
                "-S", "-m", "128", "-kernel", guest("tiny.pvh").toString(), "-append", append,
                "-name", "foo", "-uuid", "12345678-1234-1234-1234-123456789abc",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        a.addAll(List.of(extra));
        return a;
    }

    private static List<String> qemu(List<String> args) {
        List<String> c = new ArrayList<>(List.of("qemu-system-x86_64"));
        c.addAll(args);
        return c;
    }

    private static List<String> jvmm(List<String> args) {
        List<String> c = new ArrayList<>(List.of(System.getProperty("jvmm.launcher", "../bin/jvmm")));
        c.addAll(args);
        return c;
    }

    /**
     * The QMP module's side-by-side conversation without its first system_reset: after a reset QEMU's
     * firmware (SeaBIOS) answers the next start with a reset of its own, which a firmware-less jvmm has no
     * reason to imitate. (The later system_reset runs under reboot=shutdown, so the guest does not restart.)
     */
    static List<String> conversation() {
        List<String> c = new ArrayList<>(QemuSideBySideTest.CONVERSATION);
        int firstReset = c.indexOf("{\"execute\":\"system_reset\"}");
        c.remove(firstReset);
        return List.copyOf(c);
    }

    @Test
    void sameConversationShapesAsQemu() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        List<List<Map<String, Object>>> q = converse(qemu(common(dir.resolve("q.sock"), "action=idle")),
                dir.resolve("q.sock"));
        List<List<Map<String, Object>>> j = converse(jvmm(common(dir.resolve("j.sock"), "action=idle")),
                dir.resolve("j.sock"));
        QemuSideBySideTest.compare(q, j, conversation());
    }

    private static List<List<Map<String, Object>>> converse(List<String> cmd, Path sock) throws Exception {
        Process p = QemuSideBySideTest.startProcess(cmd, sock);
        try {
            return QemuSideBySideTest.converse(sock, conversation());
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Guest-caused lifecycle events, from cont until STOP: event names and data in order. */
    @Test
    void guestResetUnderNoRebootNoShutdownGivesTheSameEvents() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        for (String action : List.of("action=triplefault", "action=kbdreset", "action=port92reset")) {
            List<Object> q = guestEvents(qemu(common(dir.resolve("q.sock"), action, "-no-reboot", "-no-shutdown")),
                    dir.resolve("q.sock"));
            List<Object> j = guestEvents(jvmm(common(dir.resolve("j.sock"), action, "-no-reboot", "-no-shutdown")),
                    dir.resolve("j.sock"));
            assertTrue(q.size() >= 2, action + ": qemu " + q);
            assertEquals(q, j, action);
            Files.deleteIfExists(dir.resolve("q.sock"));
            Files.deleteIfExists(dir.resolve("j.sock"));
        }
    }

    private static List<Object> guestEvents(List<String> cmd, Path sock) throws Exception {
        Process p = QemuSideBySideTest.startProcess(cmd, sock);
        List<Object> events = new ArrayList<>();
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> msgs = new ArrayList<>(c.exchange("{\"execute\":\"cont\"}"));
            long end = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < end) {
                for (Map<String, Object> m : msgs) {
                    if (m.containsKey("event")) {
                        events.add(List.of(m.get("event"), String.valueOf(m.get("data"))));
                    }
                }
                if (events.stream().anyMatch(e -> ((List<?>) e).get(0).equals("STOP"))) {
                    break;
                }
                Map<String, Object> more = c.read(500);
                msgs = more == null ? List.of() : List.of(more);
            }
            List<Map<String, Object>> status = c.exchange("{\"execute\":\"query-status\"}");
            events.add(String.valueOf(status.get(status.size() - 1).get("return")));
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        return events;
    }
}
