package dev.jvmm.core.machine;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.state.RunStateMachine;
import dev.jvmm.core.state.ShutdownCause;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** QEMU 7.2's event order and run-state changes for each lifecycle request. */
class LifecycleControllerTest {
    final List<Object> log = new CopyOnWriteArrayList<>();

    LifecycleController controller(String actions) throws Exception {
        return controller(actions, false);
    }

    LifecycleController controller(String actions, boolean wakeup) throws Exception {
        EventBus bus = new EventBus();
        bus.subscribe((e, t) -> log.add(e));
        LifecycleController lc = new LifecycleController(bus, new VcpuControl() {
            public void pauseAll() {
                log.add("pause");
            }

            public void resumeAll() {
                log.add("resume");
            }

            public void resetAll() {
                log.add("reset");
            }

            public void exitProcess(int status) {
                log.add("exit " + status);
            }

            public void resetForWakeup(WakeupReason reason) {
                log.add("wake-reset " + reason);
            }

            public boolean wakeupSupported() {
                return wakeup;
            }
        }, ActionSettings.defaults().applyOption(actions));
        lc.start(true);
        lc.drainMainLoop();
        log.clear();
        return lc;
    }

    @Test
    void suspendAndWakeupAsQemu() throws Exception {
        LifecycleController lc = controller("", true);
        MachineCommandException notSuspended = assertThrows(MachineCommandException.class, lc::systemWakeup);
        assertEquals("Unable to wake up: guest is not in suspended state", notSuspended.getMessage());
        lc.requestGuestSuspend();
        lc.drainMainLoop();
        assertEquals(List.of("pause", new VmEvent.Suspend()), log);
        assertEquals(RunState.SUSPENDED, lc.runState().current());
        lc.cont(); // QEMU: cont does nothing to a suspended guest
        assertEquals(RunState.SUSPENDED, lc.runState().current());
        log.clear();
        lc.systemWakeup();
        assertEquals(RunState.RUNNING, lc.runState().current());
        lc.drainMainLoop();
        assertEquals(List.of("pause", "wake-reset OTHER", "resume", new VmEvent.Wakeup()), log);
    }

    @Test
    void deviceWakeupHonoursTheMaskAsQemu() throws Exception {
        LifecycleController lc = controller("", true);
        lc.request(WakeupReason.RTC); // running: nothing to wake
        lc.drainMainLoop();
        assertEquals(List.of(), log);
        lc.requestGuestSuspend();
        lc.drainMainLoop();
        log.clear();
        lc.enable(WakeupReason.RTC, false);
        lc.request(WakeupReason.RTC);
        lc.drainMainLoop();
        assertEquals(RunState.SUSPENDED, lc.runState().current(), "a disabled reason wakes nothing");
        assertEquals(List.of(), log);
        lc.enable(WakeupReason.RTC, true);
        lc.request(WakeupReason.RTC);
        lc.drainMainLoop();
        assertEquals(RunState.RUNNING, lc.runState().current());
        assertEquals(List.of("pause", "wake-reset RTC", "resume", new VmEvent.Wakeup()), log);
    }

    @Test
    void systemWakeupIsReasonOtherWhichNoPmBitDisables() throws Exception {
        LifecycleController lc = controller("", true);
        lc.enable(WakeupReason.RTC, false);
        lc.enable(WakeupReason.PMTIMER, false);
        lc.requestGuestSuspend();
        lc.drainMainLoop();
        log.clear();
        lc.systemWakeup();
        lc.drainMainLoop();
        assertEquals(List.of("pause", "wake-reset OTHER", "resume", new VmEvent.Wakeup()), log);
    }

    @Test
    void wakeupNeedsAGuestThatCanSuspend() throws Exception {
        LifecycleController lc = controller("");
        MachineCommandException e = assertThrows(MachineCommandException.class, lc::systemWakeup);
        assertEquals("wake-up from suspend is not supported by this guest", e.getMessage());
    }

    @Test
    void suspendToDiskIsSuspendDiskThenShutdown() throws Exception {
        LifecycleController lc = controller("");
        lc.requestGuestSuspendToDisk();
        lc.drainMainLoop();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.SuspendDisk(), new VmEvent.Shutdown(true, ShutdownCause.GUEST_SHUTDOWN),
                "pause", "exit 0"), log);
    }

    @Test
    void guestShutdownExits() throws Exception {
        LifecycleController lc = controller("");
        lc.requestGuestShutdown();
        lc.drainMainLoop();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Shutdown(true, ShutdownCause.GUEST_SHUTDOWN), "pause", "exit 0"), log);
    }

    @Test
    void guestShutdownWithNoShutdownStops() throws Exception {
        LifecycleController lc = controller("shutdown=pause");
        lc.requestGuestShutdown();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Shutdown(true, ShutdownCause.GUEST_SHUTDOWN), "pause", new VmEvent.Stop()), log);
        assertEquals(RunState.SHUTDOWN, lc.runState().current());
        assertThrows(MachineCommandException.class, lc::cont);
    }

    @Test
    void guestResetAndNoReboot() throws Exception {
        LifecycleController lc = controller("");
        lc.requestGuestReset();
        lc.drainMainLoop();
        assertEquals(List.of("pause", "reset", new VmEvent.Reset(true, ShutdownCause.GUEST_RESET), "resume"), log);
        log.clear();
        lc.setActions(lc.actions().applyOption("reboot=shutdown,shutdown=pause"));
        lc.requestGuestReset();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Shutdown(true, ShutdownCause.GUEST_RESET), "pause", new VmEvent.Stop()), log);
    }

    @Test
    void panicDefaultShutsDownAndPausePolicyStops() throws Exception {
        LifecycleController lc = controller("panic=pause");
        lc.requestGuestPanic();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.GuestPanicked("pause"), "pause", new VmEvent.Stop()), log);
        assertEquals(RunState.GUEST_PANICKED, lc.runState().current());
        LifecycleController lc2 = controller("panic=exit-failure");
        log.clear();
        lc2.requestGuestPanic();
        lc2.drainMainLoop();
        lc2.drainMainLoop();
        assertEquals(List.of(new VmEvent.GuestPanicked("poweroff"),
                new VmEvent.Shutdown(true, ShutdownCause.GUEST_PANIC), "pause", "exit 1"), log);
        LifecycleController lc3 = controller("shutdown=pause");
        lc3.requestGuestPanic();
        lc3.drainMainLoop();
        assertEquals(List.of(new VmEvent.GuestPanicked("pause"), "pause", new VmEvent.Stop()), log.subList(log.size() - 3, log.size()));
        LifecycleController lc4 = controller("panic=none");
        lc4.requestGuestPanic();
        lc4.drainMainLoop();
        assertEquals(List.of(new VmEvent.GuestPanicked("run")), log);
        assertEquals(RunState.RUNNING, lc4.runState().current());
    }

    /** Checked against QEMU 7.2 with a firmware that writes 0xfe to port 0x64 (i8042 reset). */
    @Test
    void guestResetNoRebootWithoutNoShutdownExits() throws Exception {
        LifecycleController lc = controller("reboot=shutdown");
        lc.requestGuestReset();
        lc.drainMainLoop();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Shutdown(true, ShutdownCause.GUEST_RESET), "pause", "exit 0"), log);
    }

    @Test
    void watchdogPause() throws Exception {
        LifecycleController lc = controller("watchdog=pause");
        lc.requestWatchdogExpiry();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Watchdog("pause"), "pause", new VmEvent.Stop()), log);
        assertEquals(RunState.WATCHDOG, lc.runState().current());
    }

    /** QEMU 7.2 (checked): WATCHDOG {poweroff}, then exit(0) with no SHUTDOWN, even with -no-shutdown. */
    @Test
    void watchdogPoweroffExitsWithoutShutdownEvent() throws Exception {
        LifecycleController lc = controller("watchdog=poweroff,shutdown=pause");
        lc.requestWatchdogExpiry();
        lc.drainMainLoop();
        lc.drainMainLoop();
        assertEquals(List.of(new VmEvent.Watchdog("poweroff"), "pause", "exit 0"), log);
    }

    @Test
    void actionOptionErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ActionSettings.defaults().applyOption("reboot=bogus"));
        assertEquals("Parameter 'reboot' does not accept value 'bogus'", e.getMessage());
    }

    @Test
    void qemu72HasNoPrelaunchToSuspended() {
        assertFalse(RunStateMachine.isAllowed(RunState.PRELAUNCH, RunState.SUSPENDED));
    }
}
