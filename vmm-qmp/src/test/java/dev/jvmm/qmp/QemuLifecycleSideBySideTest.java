package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Guest-initiated lifecycle events, QEMU vs jvmm's policy: QEMU runs a 64 KiB firmware that resets through
 * the i8042 (0xfe to port 0x64) or panics through pvpanic (1 to port 0x505); the fake machine's "guest" makes
 * the same request when it is resumed. The sequences of events (names and data) must be equal.
 */
class QemuLifecycleSideBySideTest {
    @TempDir
    Path dir;

    static Path firmware(Path dir, String name, int... resetVector) throws Exception {
        byte[] rom = new byte[64 * 1024];
        java.util.Arrays.fill(rom, (byte) 0xf4);
        for (int i = 0; i < resetVector.length; i++) {
            rom[0xfff0 + i] = (byte) resetVector[i];
        }
        Path p = dir.resolve(name);
        Files.write(p, rom);
        return p;
    }

    static List<Object> events(List<Map<String, Object>> msgs) {
        List<Object> out = new ArrayList<>();
        for (Map<String, Object> m : msgs) {
            if (m.containsKey("event")) {
                out.add(m.get("event") + " " + m.get("data"));
            }
        }
        return out;
    }

    static List<Map<String, Object>> run(Path sock) throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> msgs = new ArrayList<>(c.exchange("{\"execute\":\"cont\"}"));
            Map<String, Object> m;
            while ((m = c.read(700)) != null) {
                msgs.add(m);
            }
            return msgs;
        }
    }

    @ParameterizedTest
    @CsvSource({
            "reset, -no-reboot -no-shutdown",
            "reset, -no-reboot",
            "panic, ''",
            "panic, -action panic=pause",
            "panic, -no-shutdown",
            "panic, -action panic=exit-failure",
    })
    void guestEventsMatchQemu(String guest, String opts) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(),
                "qemu-system-x86_64 or /dev/kvm missing: side-by-side skipped");
        Path fw = guest.equals("reset")
                ? firmware(dir, "reset.bin", 0xb0, 0xfe, 0xe6, 0x64, 0xf4)
                : firmware(dir, "panic.bin", 0xb0, 0x01, 0xba, 0x05, 0x05, 0xee, 0xf4);
        Path qsock = dir.resolve("q.sock");
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-enable-kvm", "-nodefaults", "-display",
                "none", "-S", "-device", "pvpanic", "-bios", fw.toString(), "-qmp", "unix:" + qsock + ",server=on,wait=off"));
        ActionSettings actions = ActionSettings.defaults();
        String[] words = opts.isBlank() ? new String[0] : opts.trim().split(" ");
        for (int i = 0; i < words.length; i++) {
            cmd.add(words[i]);
            switch (words[i]) {
                case "-no-reboot" -> actions = actions.applyOption("reboot=shutdown");
                case "-no-shutdown" -> actions = actions.applyOption("shutdown=pause");
                case "-action" -> {
                    actions = actions.applyOption(words[i + 1]);
                    cmd.add(words[++i]);
                }
                default -> throw new IllegalArgumentException(words[i]);
            }
        }
        Process q = QemuSideBySideTest.startProcess(cmd, qsock);
        List<Object> qemuEvents;
        try {
            qemuEvents = events(run(qsock));
        } finally {
            q.destroy();
            q.waitFor(5, TimeUnit.SECONDS);
        }
        List<Object> jvmmEvents;
        try (IoLoop loop = new IoLoop()) {
            FakeMachine m = new FakeMachine(actions, null, null);
            m.onResume = guest.equals("reset") ? m.lifecycle()::requestGuestReset : m.lifecycle()::requestGuestPanic;
            QmpServer server = new QmpServer(m, loop);
            Path jsock = dir.resolve("j.sock");
            server.listenUnix(jsock, false);
            jvmmEvents = events(run(jsock));
            server.close();
            m.lifecycle().close();
        }
        assertEquals(qemuEvents, jvmmEvents, guest + " " + opts);
    }
}
