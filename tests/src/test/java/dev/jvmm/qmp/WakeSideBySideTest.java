package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Wake from S3 under QEMU 7.2 and jvmm, same guest and command line: the tiny guest arms one wake source
 * (action=wake-*: the RTC alarm with or without RTC_EN/AIE, the PM timer, the power button) and suspends
 * through PM1a_CNT; the test then follows one script on both VMMs (query-status, waiting for a wake-up that
 * may not come, system_powerdown, system_wakeup, quit) and compares the serial output (the resumed guest
 * prints PM1_STS, PM1_EN, the RTC's flags and whether the RTC ran on while it slept), the events with their
 * data, the run states seen and the exit status. What QEMU 7.2 does, as the cases pin it: the alarm wakes
 * the guest only with AIE and RTC_EN, and not with -rtc clock=vm (the virtual clock runs on while suspended,
 * but its timers wait for the vCPUs), nor does the PM timer; the power button only latches PWRBTN_STS;
 * system_wakeup wakes it as if by the power button.
 */
class WakeSideBySideTest {
    /** Long enough for the alarm (at most two seconds after it is armed) or a PM timer carry (2.3 s). */
    static final long WAKE_WAIT_MS = 6_000;
    static final long STEP_TIMEOUT_MS = 30_000;

    @TempDir
    Path dir;

    /** One step of the script, run once the guest reported SUSPEND. */
    enum Step {
        /** query-status; records the status. */
        STATUS,
        /** Waits WAKE_WAIT_MS for a WAKEUP nobody asked for; records whether it came. */
        AWAIT_WAKE,
        SYSTEM_POWERDOWN,
        SYSTEM_WAKEUP,
        /** Waits for the resumed guest's report on COM1. */
        AWAIT_RESUME
    }

    /** What a run left, in the form the two VMMs are compared in. */
    record Run(List<String> serial, List<String> events, List<String> steps, int status) {
    }

    static Stream<Arguments> cases() {
        List<Step> wakesItself = List.of(Step.STATUS, Step.AWAIT_WAKE, Step.AWAIT_RESUME, Step.STATUS);
        List<Step> sleepsOn = List.of(Step.STATUS, Step.AWAIT_WAKE, Step.STATUS, Step.SYSTEM_WAKEUP,
                Step.AWAIT_RESUME, Step.STATUS);
        return Stream.of(
                Arguments.of("action=wake-rtc", List.of(), wakesItself),
                Arguments.of("action=wake-rtc-noen", List.of(), sleepsOn),
                Arguments.of("action=wake-rtc-noaie", List.of(), sleepsOn),
                Arguments.of("action=wake-rtc", List.of("-rtc", "clock=rt"), wakesItself),
                Arguments.of("action=wake-rtc", List.of("-rtc", "clock=vm"), sleepsOn),
                Arguments.of("action=wake-pmtimer", List.of(), sleepsOn),
                Arguments.of("action=wake-button", List.of(),
                        List.of(Step.SYSTEM_POWERDOWN, Step.AWAIT_WAKE, Step.STATUS, Step.SYSTEM_WAKEUP,
                                Step.AWAIT_RESUME, Step.STATUS)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void wakesAsQemu(String append, List<String> extra, List<Step> script) throws Exception {
        Path kernel = GuestVm.assumeReady();
        // At the same time: most of each run is a guest asleep until a wake-up that may not come.
        BothHalves.Results<Run, Run> r = BothHalves.run(
                () -> run(GuestVm.QEMU, kernel, append, extra, script, dir.resolve("q.sock")),
                () -> run(GuestVm.jvmm(), kernel, append, extra, script, dir.resolve("j.sock")));
        Run q = r.qemu();
        Run j = r.jvmm();
        assertEquals(q.serial(), j.serial(), "serial output");
        assertEquals(q.events(), j.events(), "events");
        assertEquals(q.steps(), j.steps(), "script");
        assertEquals(q.status(), j.status(), "exit status");
    }

    private static Run run(String program, Path kernel, String append, List<String> extra, List<Step> script,
            Path sock) throws Exception {
        List<String> steps = new ArrayList<>();
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, append, extra), sock)) {
            vm.cont();
            vm.require(vm.awaitEvent("SUSPEND", 1, STEP_TIMEOUT_MS), "no SUSPEND");
            for (Step s : script) {
                switch (s) {
                    case STATUS -> steps.add("status " + status(vm));
                    case AWAIT_WAKE -> {
                        boolean woke = vm.awaitEvent("WAKEUP", 1, WAKE_WAIT_MS);
                        vm.require(vm.alive(), "died while suspended");
                        steps.add("woke by itself " + woke);
                    }
                    case SYSTEM_POWERDOWN -> steps.add("system_powerdown " + vm.reply(
                            "{\"execute\":\"system_powerdown\"}"));
                    case SYSTEM_WAKEUP -> steps.add("system_wakeup " + vm.reply(
                            "{\"execute\":\"system_wakeup\"}"));
                    case AWAIT_RESUME -> vm.require(vm.awaitSerial("resume ", STEP_TIMEOUT_MS),
                            "the guest did not report its resume");
                }
            }
            vm.reply("{\"execute\":\"quit\"}");
            GuestVm.Result r = vm.finish(STEP_TIMEOUT_MS);
            List<String> events = new ArrayList<>();
            for (Map<String, Object> e : r.events()) {
                if (!"RESUME".equals(e.get("event"))) {
                    events.add(e.get("event") + " " + e.getOrDefault("data", ""));
                }
            }
            return new Run(r.serial(), events, steps, r.status());
        }
    }

    @SuppressWarnings("unchecked")
    private static Object status(GuestVm vm) throws Exception {
        Object r = vm.reply("{\"execute\":\"query-status\"}");
        Object ret = r instanceof Map<?, ?> m ? m.get("return") : null;
        return ret instanceof Map<?, ?> m ? ((Map<String, Object>) m).get("status") : r;
    }
}
