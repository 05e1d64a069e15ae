package dev.jvmm.devices.isa;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.SystemWakeup;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.state.RunState;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.acpi.SleepRequest;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.jvmm.devices.acpi.Piix4Pm.PM1_EN;
import static dev.jvmm.devices.acpi.Piix4Pm.PM1_STS;
import static dev.jvmm.devices.acpi.Piix4Pm.PWRBTN_EN;
import static dev.jvmm.devices.acpi.Piix4Pm.PWRBTN_STS;
import static dev.jvmm.devices.acpi.Piix4Pm.RTC_EN;
import static dev.jvmm.devices.acpi.Piix4Pm.RTC_STS;
import static dev.jvmm.devices.acpi.Piix4Pm.TMR_EN;
import static dev.jvmm.devices.acpi.Piix4Pm.TMR_STS;
import static dev.jvmm.devices.acpi.Piix4Pm.WAK_STS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RTC alarm as an S3 wake source, without KVM: the MC146818 (fake clock, timers run by hand), the PIIX4
 * PM block and the real lifecycle policy, wired as the pc machine wires them, with a fake machine whose
 * wake-up reset resets both devices and records the reason in the PM block. The expectations are QEMU 7.2's,
 * seen with the tiny guest's wake-* actions: the alarm with AIE wakes a suspended guest only while RTC_EN is
 * set in PM1_EN, and the resumed guest reads WAK_STS|RTC_STS (system_wakeup: WAK_STS|PWRBTN_STS).
 */
class RtcAlarmWakeTest {
    static final long S = 1_000_000_000L;
    static final long MIB = 1L << 20;
    static final int RTC_SECONDS_ALARM = 0x01;
    static final int RTC_MINUTES_ALARM = 0x03;
    static final int RTC_HOURS_ALARM = 0x05;
    static final int RTC_REG_B = 0x0b;
    static final int RTC_REG_C = 0x0c;
    static final int REG_B_AIE = 0x20;
    static final int REG_B_24H = 0x02;
    static final int REG_C_AF = 0x20;
    static final int DONT_CARE = 0xff;

    // Tuesday 2024-02-27 21:34:56.5 UTC
    final CmosRtcTest.MutableClock clock = new CmosRtcTest.MutableClock(Instant.parse("2024-02-27T21:34:56.500Z"));
    final List<Object> log = new CopyOnWriteArrayList<>();
    final PioBus bus = new PioBus();
    final CmosRtc rtc = CmosRtc.withoutTimers(512 * MIB, 0, 1, IrqLine.NONE, clock, ZoneOffset.UTC,
            RtcOptions.DEFAULT);
    Piix4Pm pm;
    LifecycleController lifecycle;

    @BeforeEach
    void machine() throws Exception {
        EventBus events = new EventBus();
        events.subscribe((e, t) -> log.add(e));
        lifecycle = new LifecycleController(events, new TestBoard.Vcpus() {
            @Override
            public void resetForWakeup(WakeupReason reason) {
                log.add("wake-reset " + reason);
                rtc.reset();
                pm.reset();
                pm.firmwareSetup();
                pm.wakeup(reason);
            }

            @Override
            public boolean wakeupSupported() {
                return true;
            }

            @Override
            public void powerButton() {
                pm.powerButton();
            }
        }, ActionSettings.defaults());
        pm = new Piix4Pm(IrqLine.NONE, new SleepRequest() {
            @Override
            public void shutdown() {
            }

            @Override
            public void suspend() {
                lifecycle.requestGuestSuspend();
            }

            @Override
            public void hibernate() {
            }
        }, System::nanoTime, null, true, Piix4Pm.DEFAULT_S4_VAL, lifecycle);
        rtc.setWakeup(lifecycle);
        rtc.attach(bus);
        pm.attach(bus);
        pm.firmwareSetup();
        lifecycle.start(true);
        settle();
        log.clear();
    }

    @AfterEach
    void close() {
        lifecycle.close();
    }

    /** Lets the main loop run what the devices asked of it (suspend, wake-up). */
    void settle() throws InterruptedException {
        lifecycle.drainMainLoop();
    }

    int cmos(int index) {
        return CmosPorts.read(bus, index);
    }

    void setCmos(int index, int v) {
        CmosPorts.write(bus, index, v);
    }

    int pmReg(int offset) {
        return (int) bus.read(Piix4Pm.DEFAULT_PM_BASE + offset, 2);
    }

    void setPmReg(int offset, int v) {
        bus.write(Piix4Pm.DEFAULT_PM_BASE + offset, 2, v);
    }

    /** What the tiny guest's wake-rtc does: alarm at :58 (two seconds on), old flags read away, then S3. */
    void armAndSuspend(boolean aie, int pm1En) throws InterruptedException {
        setCmos(RTC_SECONDS_ALARM, 0x58);
        setCmos(RTC_MINUTES_ALARM, DONT_CARE);
        setCmos(RTC_HOURS_ALARM, DONT_CARE);
        cmos(RTC_REG_C);
        setCmos(RTC_REG_B, REG_B_24H | (aie ? REG_B_AIE : 0));
        setPmReg(PM1_EN, pm1En);
        setPmReg(PM1_STS, 0xffff);
        setPmReg(Piix4Pm.PM1_CNT, Piix4Pm.SCI_EN | 1 << Piix4Pm.SLP_TYP_SHIFT | Piix4Pm.SLP_EN);
        settle();
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
    }

    /** Time passes for the RTC as for the alarm's timer thread. */
    void advance(long nanos) throws InterruptedException {
        clock.advanceNanos(nanos);
        rtc.runTimers();
        settle();
    }

    @Test
    void alarmWakesASuspendedGuestWhoseRtcEnIsSet() throws Exception {
        armAndSuspend(true, RTC_EN);
        advance(1 * S); // 21:34:57.5: not yet
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
        advance(1 * S); // 21:34:58.5
        assertEquals(RunState.RUNNING, lifecycle.runState().current());
        assertEquals(List.of(new VmEvent.Suspend(), "wake-reset RTC", new VmEvent.Wakeup()), log);
        assertEquals(WAK_STS | RTC_STS | TMR_STS, pmReg(PM1_STS), "TMR_STS reads set after the reset");
        assertEquals(0, pmReg(PM1_EN), "the reset cleared PM1_EN");
        assertEquals(0, cmos(RTC_REG_C) & REG_C_AF, "the reset cleared AF");
        assertEquals(REG_B_24H, cmos(RTC_REG_B), "and AIE");
        assertFalse(lifecycle.wakeupEnabled(WakeupReason.RTC), "and the RTC wake-up enable");
    }

    @Test
    void withRtcEnClearTheGuestSleepsOnUntilSystemWakeup() throws Exception {
        armAndSuspend(true, PWRBTN_EN);
        advance(5 * S);
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
        assertEquals(List.of(new VmEvent.Suspend()), log);
        lifecycle.mainLoop().submit(() -> {
            lifecycle.systemWakeup();
            return null;
        }).get();
        settle();
        assertEquals(List.of(new VmEvent.Suspend(), "wake-reset OTHER", new VmEvent.Wakeup()), log);
        assertEquals(WAK_STS | PWRBTN_STS | TMR_STS, pmReg(PM1_STS), "QEMU: woken as if by the power button");
    }

    @Test
    void alarmWithoutAieDoesNotWake() throws Exception {
        armAndSuspend(false, RTC_EN);
        advance(5 * S);
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
        assertEquals(REG_C_AF, cmos(RTC_REG_C) & REG_C_AF, "the alarm itself still flags AF");
    }

    @Test
    void alarmWhileRunningSetsNoWakeStatus() throws Exception {
        setPmReg(PM1_EN, RTC_EN);
        setCmos(RTC_SECONDS_ALARM, 0x58);
        setCmos(RTC_MINUTES_ALARM, DONT_CARE);
        setCmos(RTC_HOURS_ALARM, DONT_CARE);
        setCmos(RTC_REG_B, REG_B_24H | REG_B_AIE);
        setPmReg(PM1_STS, 0xffff);
        advance(3 * S);
        assertEquals(RunState.RUNNING, lifecycle.runState().current());
        assertEquals(List.of(), log);
        assertEquals(0, pmReg(PM1_STS) & (RTC_STS | WAK_STS), "QEMU sets RTC_STS only when the alarm wakes");
    }

    @Test
    void pm1EnDrivesTheWakeupMaskAndResetClearsIt() {
        assertFalse(lifecycle.wakeupEnabled(WakeupReason.RTC), "the PM block's reset at power-on");
        assertFalse(lifecycle.wakeupEnabled(WakeupReason.PMTIMER));
        assertTrue(lifecycle.wakeupEnabled(WakeupReason.OTHER));
        setPmReg(PM1_EN, RTC_EN | TMR_EN);
        assertTrue(lifecycle.wakeupEnabled(WakeupReason.RTC));
        assertTrue(lifecycle.wakeupEnabled(WakeupReason.PMTIMER));
        setPmReg(PM1_EN, TMR_EN);
        assertFalse(lifecycle.wakeupEnabled(WakeupReason.RTC));
        pm.reset();
        assertFalse(lifecycle.wakeupEnabled(WakeupReason.PMTIMER));
        assertTrue(lifecycle.wakeupEnabled(WakeupReason.OTHER));
    }

    @Test
    void thePmTimerDoesNotWakeAsInQemu() throws Exception {
        armAndSuspend(false, TMR_EN);
        pm.timerExpired();
        settle();
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
    }

    @Test
    void thePowerButtonWhileSuspendedOnlyLatchesItsStatus() throws Exception {
        armAndSuspend(false, PWRBTN_EN);
        lifecycle.mainLoop().submit(lifecycle::systemPowerdown).get();
        settle();
        assertEquals(RunState.SUSPENDED, lifecycle.runState().current());
        assertEquals(List.of(new VmEvent.Suspend(), new VmEvent.Powerdown()), log);
        assertEquals(PWRBTN_STS, pmReg(PM1_STS) & PWRBTN_STS);
    }

    @Test
    void withClockVmTimeGoesOnWhileSuspendedButTheAlarmWaits() {
        List<WakeupReason> asked = new ArrayList<>();
        CmosRtc vmClock = CmosRtc.withoutTimers(512 * MIB, 0, 1, IrqLine.NONE, clock, ZoneOffset.UTC,
                RtcOptions.parse("clock=vm"));
        vmClock.setWakeup(new SystemWakeup() {
            @Override
            public void request(WakeupReason reason) {
                asked.add(reason);
            }

            @Override
            public void enable(WakeupReason reason, boolean enabled) {
            }
        });
        PioBus b = new PioBus();
        vmClock.attach(b);
        for (int[] alarm : new int[][] {{RTC_SECONDS_ALARM, 0x58}, {RTC_MINUTES_ALARM, DONT_CARE},
                {RTC_HOURS_ALARM, DONT_CARE}}) {
            b.write(0x70, 1, alarm[0]);
            b.write(0x71, 1, alarm[1]);
        }
        b.write(0x70, 1, RTC_REG_B);
        b.write(0x71, 1, REG_B_24H | REG_B_AIE);
        vmClock.holdTimers();
        clock.advanceNanos(3 * S); // 21:34:59.5, past the alarm
        vmClock.runTimers();
        assertEquals(List.of(), asked, "no virtual-clock timer fires while the vCPUs are paused");
        b.write(0x70, 1, 0x00);
        assertEquals(0x59, b.read(0x71, 1), "but the time went on");
        vmClock.releaseTimers();
        vmClock.runTimers();
        assertEquals(List.of(WakeupReason.RTC), asked, "a timer due while held fires once released");
    }
}
