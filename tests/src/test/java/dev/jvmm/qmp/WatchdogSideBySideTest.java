package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
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
 * Watchdogs side by side: the tiny guest arms an i6300esb or ib700, pets it a few times, then stops petting
 * and idles (tests/guest/src/wdt.c). QEMU 7.2 and jvmm run with the same command line and the same QMP
 * conversation; the serial output, the events in order (WATCHDOG {action} then RESET / SHUTDOWN / STOP /
 * POWERDOWN), query-status replies and the exit status must match.
 *
 * <p>The i6300esb runs on short stages (1 MHz scale, 0.5 s each, petted every 0.2 s) and the ib700 on its
 * shortest non-zero period (2 s, petted every 0.5 s), so each case takes a few seconds per VMM.
 */
class WatchdogSideBySideTest {
    @TempDir
    Path dir;

    /** A QMP command sent delayMs after a serial line or an event starting with this text first appears. */
    record Trigger(String when, long delayMs, String command) {
        Trigger(String when, String command) {
            this(when, 0, command);
        }
    }

    /** What one VMM did: serial lines, events and replies in order, exit status (-1: still running). */
    record Run(List<String> serial, List<String> events, int status, boolean idleBeforeWatchdog) {
    }

    private static final String ESB = "action=wdt-esb";
    private static final String IB700 = "action=wdt-ib700";
    private static final String QUERY_STATUS = "{\"execute\":\"query-status\"}";
    private static final String CONT = "{\"execute\":\"cont\"}";
    private static final String STOP = "{\"execute\":\"stop\"}";

    static Stream<Arguments> cases() {
        List<String> esb = List.of("-device", "i6300esb,id=wd");
        List<String> ib700 = List.of("-device", "ib700");
        return Stream.of(
                // Default action reset; the second boot sees the previous-timeout flag (reload 0x1200).
                Arguments.of(ESB, esb, List.of(), "2:wdt: esb armed"),
                Arguments.of(ESB, cat(esb, "-watchdog-action", "pause"),
                        List.of(new Trigger("STOP", QUERY_STATUS), new Trigger("STOP", "{\"execute\":\"query-pci\"}"),
                                new Trigger("STOP", 300, CONT),
                                new Trigger("STOP", 400, QUERY_STATUS)),
                        "RESUME+1000"),
                Arguments.of(ESB, cat(esb, "-watchdog-action", "poweroff", "-no-shutdown"), List.of(), null),
                Arguments.of(ESB, cat(esb, "-watchdog-action", "shutdown"), List.of(), "POWERDOWN+300"),
                Arguments.of(ESB, cat(esb, "-no-reboot"), List.of(), null),
                Arguments.of(ESB, cat(esb, "-no-reboot", "-no-shutdown"), List.of(new Trigger("STOP", QUERY_STATUS)),
                        "STOP+300"),
                Arguments.of(ESB, cat(esb, "-watchdog-action", "inject-nmi"), List.of(), null),
                Arguments.of(ESB, cat(esb, "-watchdog-action", "debug"), List.of(), "WATCHDOG+1000"),
                // watchdog-set-action while the guest is petting.
                Arguments.of(ESB, esb, List.of(new Trigger("wdt: esb armed",
                        "{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":\"pause\"}}"),
                        new Trigger("STOP", QUERY_STATUS)), "STOP+300"),
                Arguments.of(IB700 + " pets=2", cat(ib700, "-watchdog-action", "pause"),
                        List.of(new Trigger("STOP", QUERY_STATUS)), "STOP+300"),
                // Stopped for longer than the 2 s period: guest time stands still, it fires only after cont.
                Arguments.of(IB700 + " pets=0", cat(ib700, "-action", "watchdog=none"),
                        List.of(new Trigger("wdt: idle", STOP), new Trigger("wdt: idle", 2500, CONT)),
                        "WATCHDOG+300"),
                Arguments.of(IB700 + " pets=1", ib700, List.of(), "2:wdt: ib700 armed"),
                // Garbage writes and wrong unlock sequences: same register values, nothing fires or crashes.
                Arguments.of("action=wdt-abuse", cat(esb, "-device", "ib700"), List.of(), null));
    }

    private static List<String> cat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sameAsQemu(String append, List<String> extra, List<Trigger> triggers, String until) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        // At the same time: after its boot, each run mostly waits for the watchdog to expire.
        BothHalves.Results<Run, Run> r = BothHalves.run(
                () -> run("qemu-system-x86_64", append, extra, triggers, until, dir.resolve("q.sock")),
                () -> run(System.getProperty("jvmm.launcher", "../bin/jvmm"), append, extra, triggers, until,
                        dir.resolve("j.sock")));
        Run q = r.qemu();
        Run j = r.jvmm();
        assertEquals(q.serial(), j.serial(), "serial output");
        assertEquals(normalise(q.events()), normalise(j.events()), "events and replies");
        assertEquals(q.status(), j.status(), "exit status");
        assertTrue(j.idleBeforeWatchdog(), "petting kept the watchdog from expiring");
    }

    /** -watchdog was removed before QEMU 7.2; bad -watchdog-action values get QEMU's text. */
    @Test
    void optionErrorsAsQemu() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        for (List<String> args : List.of(List.of("-watchdog", "i6300esb"), List.of("-watchdog-action", "explode"),
                List.of("-watchdog-action", "reset,panic=pause"), List.of("-device", "i6300esb,addr=zz"),
                List.of("-device", "i6300esb,bus=pci.1"), List.of("-device", "ib700,foo=1"),
                List.of("-device", "ib700,bus=pci.0"))) {
            String q = stderrOf("qemu-system-x86_64", args).replace("qemu-system-x86_64: ", "");
            String j = stderrOf(System.getProperty("jvmm.launcher", "../bin/jvmm"), args).replace("jvmm: ", "");
            assertEquals(q, j, String.join(" ", args));
        }
    }

    private String stderrOf(String program, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-nodefaults", "-display", "none",
                "-S", "-kernel", kernel().toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), program + " " + args + ": " + err);
        return err.lines().filter(l -> !l.contains("host doesn't support requested feature"))
                .reduce("", (a, b) -> a + b + "\n");
    }

    /**
     * QEMU's SeaBIOS, started again by the watchdog's reset, resets the machine once more itself (a second
     * RESET {guest, guest-reset} right after the first); jvmm boots the kernel directly and has no firmware
     * to do that, so repeated RESETs count once.
     */
    private static List<String> normalise(List<String> events) {
        List<String> out = new ArrayList<>();
        for (String e : events) {
            if (e.startsWith("RESET") && !out.isEmpty() && out.get(out.size() - 1).equals(e)) {
                continue;
            }
            out.add(e);
        }
        return out;
    }

    private Path kernel() {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        return kernel;
    }

    /**
     * Runs one VMM until it exits or the until condition ("TEXT+ms": that long after a serial line or event
     * starting with TEXT; "N:TEXT": when the serial shows TEXT for the N-th time) is met.
     */
    private Run run(String program, String append, List<String> extra, List<Trigger> triggers, String until,
            Path sock) throws Exception {
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-S", "-m", "128", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel().toString(), "-append", append,
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(extra);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        GuestVm.StdoutLines out = GuestVm.stdoutLines(p);
        LinkedBlockingQueue<String> lines = out.lines();
        Thread reader = out.reader();
        List<String> serial = new ArrayList<>();
        List<String> events = new ArrayList<>();
        List<Trigger> pending = new ArrayList<>(triggers);
        List<long[]> dueAt = new ArrayList<>();
        List<String> dueCommands = new ArrayList<>();
        boolean idleBeforeWatchdog = true;
        long stopAt = Long.MAX_VALUE;
        try {
            while (!Files.exists(sock)) {
                Thread.sleep(10);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                c.send(CONT);
                boolean firstResume = true;
                boolean firstReply = true;
                long end = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < Math.min(end, stopAt) && !c.eof) {
                    List<String> seen = new ArrayList<>();
                    Map<String, Object> m = c.read(20);
                    if (m != null) {
                        String e = describe(m);
                        if (e.equals("RESUME") && firstResume) {
                            firstResume = false;
                            e = null;
                        } else if (e.equals("return {}") && firstReply) {
                            firstReply = false;
                            e = null; // the reply to the first cont
                        }
                        if (e != null) {
                            events.add(e);
                            seen.add(e);
                            if (e.startsWith("WATCHDOG") && !serial.contains("wdt: idle")) {
                                idleBeforeWatchdog = false;
                            }
                        }
                    }
                    String l;
                    while ((l = lines.poll()) != null) {
                        serial.add(l);
                        seen.add(l);
                    }
                    for (String s : seen) {
                        for (Trigger t : List.copyOf(pending)) {
                            if (s.startsWith(t.when())) {
                                pending.remove(t);
                                dueAt.add(new long[] {System.currentTimeMillis() + t.delayMs()});
                                dueCommands.add(t.command());
                            }
                        }
                        stopAt = Math.min(stopAt, untilMet(until, s, serial));
                    }
                    for (int i = 0; i < dueAt.size(); i++) {
                        if (dueAt.get(i)[0] <= System.currentTimeMillis()) {
                            c.send(dueCommands.get(i));
                            dueAt.remove(i);
                            dueCommands.remove(i);
                            i--;
                        }
                    }
                    if (!p.isAlive() && lines.isEmpty()) {
                        break;
                    }
                }
            } catch (java.io.IOException e) {
                // The VMM exited and closed the monitor; what was read is kept.
            }
        } finally {
            if (until != null && p.isAlive()) {
                p.destroy();
            }
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2000);
            String l;
            while ((l = lines.poll()) != null && until == null) {
                serial.add(l);
            }
        }
        assertTrue(!serial.isEmpty(), program + " printed nothing");
        int status = until != null ? -1 : p.exitValue();
        return new Run(serial, events, status, idleBeforeWatchdog);
    }

    /** When to stop given something just seen; Long.MAX_VALUE while the condition is not met. */
    private static long untilMet(String until, String seen, List<String> serial) {
        if (until == null) {
            return Long.MAX_VALUE;
        }
        int colon = until.indexOf(':');
        if (colon > 0 && until.substring(0, colon).chars().allMatch(Character::isDigit)) {
            String text = until.substring(colon + 1);
            long n = serial.stream().filter(s -> s.startsWith(text)).count();
            return seen.startsWith(text) && n >= Integer.parseInt(until.substring(0, colon))
                    ? System.currentTimeMillis() : Long.MAX_VALUE;
        }
        int plus = until.lastIndexOf('+');
        return seen.startsWith(until.substring(0, plus))
                ? System.currentTimeMillis() + Long.parseLong(until.substring(plus + 1)) : Long.MAX_VALUE;
    }

    /** An event with its data, a query-status reply by its fields, other replies as "return ...". */
    @SuppressWarnings("unchecked")
    private static String describe(Map<String, Object> m) {
        if (m.containsKey("event")) {
            Object data = m.get("data");
            return data == null ? (String) m.get("event") : m.get("event") + " " + data;
        }
        if (m.get("return") instanceof Map<?, ?> r && r.containsKey("status")) {
            Map<String, Object> s = (Map<String, Object>) r;
            return "status " + s.get("status") + " running=" + s.get("running");
        }
        if (m.get("return") instanceof List<?> buses && !buses.isEmpty() && buses.get(0) instanceof Map<?, ?> b
                && b.get("devices") instanceof List<?> devices) {
            // query-pci: the watchdog is the last function on the bus.
            return "pci " + devices.get(devices.size() - 1);
        }
        if (m.containsKey("error")) {
            return "error " + m.get("error");
        }
        return "return " + m.get("return");
    }
}
