package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ACPI power management, the RTC and pvpanic seen from QMP: the tiny guest does what an OS does (power off,
 * wait for the power button, suspend, set the clock, panic) under QEMU and under jvmm with the same command
 * line and the same QMP conversation; the serial output, the events with their data and the exit status
 * must match.
 */
class PlatformEventsSideBySideTest {
    @TempDir
    Path dir;

    /** A QMP command sent once, when a serial line or an event with this text first appears. */
    record Trigger(String when, String command) {
    }

    record Run(List<String> serial, List<String> events, int status) {
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("action=poweroff", List.of(), List.of()),
                Arguments.of("action=poweroff", List.of("-no-shutdown"), List.of()),
                Arguments.of("action=powerbutton", List.of(),
                        List.of(new Trigger("acpi: waiting for power button", "{\"execute\":\"system_powerdown\"}"))),
                Arguments.of("action=suspend", List.of(),
                        List.of(new Trigger("SUSPEND", "{\"execute\":\"system_wakeup\"}"))),
                Arguments.of("action=rtcset", List.of(), List.of()),
                Arguments.of("action=rtcset", List.of("-smp", "2"), List.of()),
                Arguments.of("action=panic", List.of("-device", "pvpanic"), List.of()),
                Arguments.of("action=panic", List.of("-device", "pvpanic", "-action", "panic=pause"), List.of()),
                Arguments.of("action=crashloaded", List.of("-device", "pvpanic"), List.of()));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sameEventsAsQemu(String append, List<String> extra, List<Trigger> triggers) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        // At the same time: each run mostly waits on the guest and the triggers' delays.
        BothHalves.Results<Run, Run> r = BothHalves.run(
                () -> run("qemu-system-x86_64", append, extra, triggers, dir.resolve("q.sock")),
                () -> run(System.getProperty("jvmm.launcher", "../bin/jvmm"), append, extra, triggers,
                        dir.resolve("j.sock")));
        Run q = r.qemu();
        Run j = r.jvmm();
        assertEquals(q.serial(), j.serial(), "serial output");
        assertEquals(normalise(q.events()), normalise(j.events()), "events");
        List<Long> qo = offsets(q.events());
        List<Long> jo = offsets(j.events());
        for (int i = 0; i < qo.size(); i++) {
            assertTrue(Math.abs(qo.get(i) - jo.get(i)) <= OFFSET_SLACK_S,
                    "RTC_CHANGE offsets " + qo + " (QEMU) and " + jo + " (jvmm) differ by more than " + OFFSET_SLACK_S + " s");
        }
        assertEquals(q.status(), j.status(), "exit status");
    }

    /** How far apart the two VMMs' RTC_CHANGE offsets may be: the seconds between their guests setting the clock. */
    private static final long OFFSET_SLACK_S = 60;

    private static List<Long> offsets(List<String> events) {
        List<Long> out = new ArrayList<>();
        for (String e : events) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("offset=(-?\\d+)").matcher(e);
            if (m.find()) {
                out.add(Long.parseLong(m.group(1)));
            }
        }
        return out;
    }

    /** RTC_CHANGE's offset depends on the moment the guest set the clock: compared apart, with a slack. */
    private static List<String> normalise(List<String> events) {
        List<String> out = new ArrayList<>();
        for (String e : events) {
            out.add(e.replaceAll("offset=(-?\\d+)", "offset~"));
        }
        return out;
    }

    private static Run run(String program, String append, List<String> extra, List<Trigger> triggers, Path sock)
            throws Exception {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-S", "-m", "128", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(), "-append", append,
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(extra);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        GuestVm.StdoutLines out = GuestVm.stdoutLines(p);
        LinkedBlockingQueue<String> lines = out.lines();
        Thread reader = out.reader();
        List<String> serial = new ArrayList<>();
        List<String> events = new ArrayList<>();
        List<Trigger> pending = new ArrayList<>(triggers);
        try {
            while (!Files.exists(sock)) {
                Thread.sleep(10);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                List<Map<String, Object>> msgs = new ArrayList<>(c.exchange("{\"execute\":\"cont\"}"));
                long end = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < end && !c.eof) {
                    for (Map<String, Object> m : msgs) {
                        if (m.containsKey("event") && !"RESUME".equals(m.get("event"))) {
                            String e = m.get("event") + " " + m.getOrDefault("data", "");
                            events.add(e);
                            fire(pending, e, c);
                        }
                    }
                    String l;
                    while ((l = lines.poll()) != null) {
                        serial.add(l);
                        fire(pending, l, c);
                    }
                    if (!p.isAlive() && lines.isEmpty()) {
                        break;
                    }
                    if (events.stream().anyMatch(e -> e.startsWith("STOP"))) {
                        break; // paused for good (-no-shutdown, panic=pause)
                    }
                    Map<String, Object> more = c.read(100);
                    msgs = more == null ? List.of() : List.of(more);
                }
            } catch (java.io.IOException e) {
                // The VMM exited and closed the monitor; what was read is kept.
            }
        } finally {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2000);
            String l;
            while ((l = lines.poll()) != null) {
                serial.add(l);
            }
        }
        int status = p.exitValue();
        assertTrue(!serial.isEmpty(), program + " printed nothing");
        return new Run(serial, events, status == 143 ? -1 : status);
    }

    private static void fire(List<Trigger> pending, String seen, QmpClient c) throws java.io.IOException {
        for (Trigger t : List.copyOf(pending)) {
            if (seen.startsWith(t.when())) {
                pending.remove(t);
                c.send(t.command());
            }
        }
    }
}
