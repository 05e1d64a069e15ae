package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs one conversation against qemu-system-x86_64 -S and against jvmm and compares the shape of every
 * reply and event. {@link #startProcess} takes any command line ending in a QMP socket, so the same test can
 * drive the real jvmm launcher instead of the in-process fake machine: -Djvmm.command="java -jar jvmm.jar"
 * (its arguments are QEMU's, with the same halting firmware passed as -bios).
 */
class QemuSideBySideTest {
    static final List<String> CONVERSATION = List.of(
            "{\"execute\":\"query-status\"}",
            "{\"execute\":\"qmp_capabilities\"}",
            "{\"execute\":\"qmp_capabilities\",\"id\":1}",
            "{\"execute\":\"query-status\",\"id\":\"x\"}",
            "{\"execute\":\"cont\"}",
            "{\"execute\":\"stop\"}",
            "{\"execute\":\"stop\"}",
            "{\"execute\":\"system_reset\"}",
            "{\"execute\":\"query-status\"}",
            "{\"execute\":\"query-name\"}",
            "{\"execute\":\"query-uuid\"}",
            "{\"execute\":\"query-kvm\"}",
            "{\"execute\":\"query-target\"}",
            "{\"execute\":\"query-version\"}",
            "{\"execute\":\"query-cpus-fast\"}",
            "{\"execute\":\"query-hotpluggable-cpus\"}",
            "{\"execute\":\"query-chardev\"}",
            "{\"execute\":\"query-iothreads\"}",
            "{\"execute\":\"query-jobs\"}",
            "{\"execute\":\"query-commands\"}",
            "{\"execute\":\"query-qmp-schema\"}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info version\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info registers\"}}",
            "{\"execute\":\"nosuch\"}",
            "{\"execute\":\"query-status\",\"arguments\":{\"x\":1}}",
            "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"bogus\"}}",
            "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":5}}",
            "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"shutdown\",\"shutdown\":\"pause\"}}",
            "{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":\"inject-nmi\"}}",
            "{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":\"bogus\"}}",
            "{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":1}}",
            "{\"execute\":\"watchdog-set-action\"}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"watchdog_action pause\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"watchdog_action bogus\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"watchdog_action\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info name\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info uuid\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info kvm\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info iothreads\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"stop\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"cont\"}}",
            "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}",
            "{\"foo\":1}",
            "[1,2]",
            "{\"execute\":5}",
            "{\"execute\":\"query-status\",\"arguments\":[1]}",
            "{\"execute\":\"query-status\" xx}",
            "{\"execute\":\"cont\"}",
            "{\"execute\":\"system_reset\"}",
            "{\"execute\":\"query-status\"}",
            "{\"execute\":\"cont\"}",
            "{\"execute\":\"quit\",\"id\":9}");

    @TempDir
    Path dir;

    static boolean qemuAvailable() {
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(p, "qemu-system-x86_64"))) {
                return Files.exists(Path.of("/dev/kvm"));
            }
        }
        return false;
    }

    /** Starts a process whose command line makes it listen for QMP at sock; waits for the socket file. */
    static Process startProcess(List<String> command, Path sock) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long end = System.currentTimeMillis() + 10_000;
        while (!Files.exists(sock) && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        return p;
    }

    /**
     * A 64 KiB firmware whose reset vector is "hlt; jmp $-1", so QEMU's guest stays quiet (SeaBIOS with no
     * boot device would reset the machine and add guest events the fake machine cannot have).
     */
    static Path haltBios(Path dir) throws Exception {
        byte[] rom = new byte[64 * 1024];
        java.util.Arrays.fill(rom, (byte) 0xf4);
        rom[0xfff0] = (byte) 0xf4;
        rom[0xfff1] = (byte) 0xeb;
        rom[0xfff2] = (byte) 0xfd;
        Path p = dir.resolve("halt.bin");
        Files.write(p, rom);
        return p;
    }

    static List<String> qemuCommand(Path sock, Path bios) {
        return List.of("qemu-system-x86_64", "-enable-kvm", "-nodefaults", "-display", "none", "-S",
                "-bios", bios.toString(),
                "-name", "foo", "-uuid", "12345678-1234-1234-1234-123456789abc",
                "-qmp", "unix:" + sock + ",server=on,wait=off");
    }

    /** Runs the conversation; each entry is the list of messages (events, then the reply) for one line. */
    static List<List<Map<String, Object>>> converse(Path sock) throws Exception {
        return converse(sock, CONVERSATION);
    }

    static List<List<Map<String, Object>>> converse(Path sock, List<String> conversation) throws Exception {
        return converse(sock, conversation, 300);
    }

    /** The conversation, waiting eventsMs after each reply for events that follow it. */
    static List<List<Map<String, Object>>> converse(Path sock, List<String> conversation, int eventsMs)
            throws Exception {
        List<List<Map<String, Object>>> out = new ArrayList<>();
        try (QmpClient c = new QmpClient(sock)) {
            out.add(List.of(c.read(5000)));
            for (String line : conversation) {
                List<Map<String, Object>> msgs = c.exchange(line);
                // Wait briefly for events that follow a reply (e.g. STOP after SHUTDOWN).
                Map<String, Object> more;
                while ((more = c.read(eventsMs)) != null) {
                    msgs = new ArrayList<>(msgs);
                    msgs.add(more);
                }
                out.add(msgs);
            }
        }
        return out;
    }

    @Test
    void sameShapesAsQemu() throws Exception {
        Assumptions.assumeTrue(qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing: side-by-side skipped");
        Path qsock = dir.resolve("qemu.sock");
        Process q = startProcess(qemuCommand(qsock, haltBios(dir)), qsock);
        List<List<Map<String, Object>>> qemu;
        try {
            qemu = converse(qsock);
        } finally {
            q.destroy();
            q.waitFor(5, TimeUnit.SECONDS);
        }
        List<List<Map<String, Object>>> jvmm;
        String launcher = System.getProperty("jvmm.command");
        if (launcher != null) {
            // The real jvmm: same arguments as QEMU after the program name.
            Path jsock = dir.resolve("jvmm.sock");
            List<String> cmd = new ArrayList<>(List.of(launcher.split(" ")));
            List<String> qargs = qemuCommand(jsock, haltBios(dir));
            cmd.addAll(qargs.subList(1, qargs.size()));
            Process j = startProcess(cmd, jsock);
            try {
                jvmm = converse(jsock);
            } finally {
                j.destroy();
                j.waitFor(5, TimeUnit.SECONDS);
            }
        } else {
            jvmm = converseWithFake();
        }
        compare(qemu, jvmm);
    }

    List<List<Map<String, Object>>> converseWithFake() throws Exception {
        List<List<Map<String, Object>>> jvmm;
        try (IoLoop loop = new IoLoop()) {
            FakeMachine m = new FakeMachine(dev.jvmm.core.machine.ActionSettings.defaults(), "foo",
                    java.util.UUID.fromString("12345678-1234-1234-1234-123456789abc"));
            QmpServer server = new QmpServer(m, loop);
            Path jsock = dir.resolve("jvmm.sock");
            server.listenUnix(jsock, false);
            jvmm = converse(jsock);
            server.close();
            m.lifecycle().close();
        }
        return jvmm;
    }

    static void compare(List<List<Map<String, Object>>> qemu, List<List<Map<String, Object>>> jvmm) {
        compare(qemu, jvmm, CONVERSATION);
    }

    static void compare(List<List<Map<String, Object>>> qemu, List<List<Map<String, Object>>> jvmm,
            List<String> conversation) {
        assertEquals(qemu.size(), jvmm.size());
        for (int i = 0; i < qemu.size(); i++) {
            String what = i == 0 ? "greeting" : conversation.get(i - 1);
            List<Object> qs = new ArrayList<>();
            List<Object> js = new ArrayList<>();
            qemu.get(i).forEach(x -> qs.add(Shapes.shape(x)));
            jvmm.get(i).forEach(x -> js.add(Shapes.shape(x)));
            assertEquals(qs, js, "shape differs for " + what + "\nqemu: " + qemu.get(i) + "\njvmm: " + jvmm.get(i));
            // Error classes and event names must match exactly, not just in shape.
            for (int k = 0; k < qemu.get(i).size(); k++) {
                Map<String, Object> qm = qemu.get(i).get(k);
                Map<String, Object> jm = jvmm.get(i).get(k);
                assertEquals(qm.get("event"), jm.get("event"), what);
                assertEquals(qm.get("data"), jm.get("data"), what);
                if (qm.get("error") instanceof Map<?, ?> qe) {
                    assertEquals(qe.get("class"), ((Map<?, ?>) jm.get("error")).get("class"), what);
                }
            }
        }
    }
}
