package dev.jvmm.devices.watchdog;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.devices.StateSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.jvmm.devices.watchdog.I6300Esb.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Watchdogs saved mid-countdown go on in a fresh instance, on its own clock, exactly as the original. */
class WatchdogStateTest {
    static final long MS = 1_000_000L;
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    private final AtomicLong host = new AtomicLong(5_000 * MS);
    private final VirtualClock clockA = new VirtualClock(host::get, exec);
    private final VirtualClock clockB = new VirtualClock(host::get, exec);

    @AfterEach
    void stop() {
        exec.shutdownNow();
    }

    static void waitFor(AtomicInteger n, int want) throws InterruptedException {
        for (int i = 0; i < 400 && n.get() < want; i++) {
            Thread.sleep(5);
        }
        assertEquals(want, n.get());
    }

    @Test
    void ib700CountdownContinuesFromTheSavedGuestTime() throws Exception {
        AtomicInteger firedA = new AtomicInteger();
        AtomicInteger firedB = new AtomicInteger();
        Ib700 a = new Ib700(clockA, firedA::incrementAndGet);
        PioBus pio = new PioBus();
        a.attach(pio);
        clockA.resume();
        pio.write(Ib700.ENABLE_PORT, 1, 0xe); // 2 s
        host.addAndGet(1_999 * MS);
        clockA.pause();
        host.addAndGet(60_000 * MS); // the saved VM stays stopped for a minute: no guest time passes

        Ib700 b = new Ib700(clockB, firedB::incrementAndGet);
        host.addAndGet(7 * MS); // clock B has its own guest time, which the countdown must not care about
        clockB.resume();
        StateSupport.copy(a, b);
        assertEquals(MS, b.deadline() - clockB.nanos(), "1 ms of the 2 s left");
        clockA.resume();
        assertEquals(a.deadline() - clockA.nanos(), b.deadline() - clockB.nanos());
        host.addAndGet(MS);
        waitFor(firedA, 1);
        waitFor(firedB, 1);
        assertEquals(-1, a.deadline());
        assertEquals(-1, b.deadline());

        StateSupport.copy(a, b); // a disarmed watchdog restores disarmed
        assertEquals(-1, b.deadline());
    }

    @Test
    void ib700RefusesAnImpossibleCountdown() {
        Ib700 b = new Ib700(clockB, () -> { });
        byte[] p = StateSupport.save(new Ib700(clockA, () -> { }));
        byte[] crafted = StateSupport.edit(StateSupport.edit(p, "armed", w -> w.bool("armed", true)),
                "remaining-ns", w -> w.u64("remaining-ns", 31_000 * MS));
        assertEquals("section '" + StateSupport.ID + "': field 'remaining-ns' is invalid: 31000000000 is outside"
                + " 0..30000000000", StateSupport.refusal(b, crafted));
        assertEquals("section '" + StateSupport.ID + "': truncated",
                StateSupport.refusal(b, Arrays.copyOf(p, p.length - 3)));
        assertEquals(-1, b.deadline());
    }

    private static void unlocked(IoHandler bar, int reg, int size, long v) {
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK1);
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK2);
        bar.write(reg, size, v);
    }

    private static String observe(I6300Esb e) {
        IoHandler bar = e.bars().get(0).handler();
        return String.format("stage=%d cfg=%04x lock=%02x reload=%04x cmd=%04x bar=%08x x40=%08x", e.stage(),
                e.readConfig(ESB_CONFIG_REG, 2), e.readConfig(ESB_LOCK_REG, 1), bar.read(ESB_RELOAD_REG, 2),
                e.readConfig(4, 2), e.readConfig(0x10, 4), e.readConfig(0x40, 4));
    }

    @Test
    void i6300esbMidStageAndMidUnlockSequence() throws Exception {
        AtomicInteger firedA = new AtomicInteger();
        AtomicInteger firedB = new AtomicInteger();
        List<String> notices = new CopyOnWriteArrayList<>();
        I6300Esb a = new I6300Esb(clockA, firedA::incrementAndGet, notices::add, "wd");
        I6300Esb b = new I6300Esb(clockB, firedB::incrementAndGet, notices::add, "wd");
        IoHandler barA = a.bars().get(0).handler();
        IoHandler barB = b.bars().get(0).handler();
        clockA.resume();
        clockB.resume();
        a.writeConfig(0x10, 4, 0xfebf0000);
        a.writeConfig(4, 2, 0x0002);
        a.writeConfig(0x40, 4, 0x12345678);
        a.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_FREQ);        // 1 MHz scale, reboot enabled
        unlocked(barA, ESB_TIMER1_REG, 4, 100);                   // 96 us
        unlocked(barA, ESB_TIMER2_REG, 4, 3000);                  // 2.88 ms
        a.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE);
        host.addAndGet(MS);                                       // into stage 2 ...
        for (int i = 0; i < 400 && a.stage() != 2; i++) {
            Thread.sleep(5);
        }
        assertEquals(2, a.stage());
        barA.write(ESB_RELOAD_REG, 2, ESB_UNLOCK1);               // ... and half-way through an unlock

        StateSupport.copy(a, b);
        assertEquals(observe(a), observe(b));
        assertEquals(a.deadline() - clockA.nanos(), b.deadline() - clockB.nanos());

        for (IoHandler bar : List.of(barA, barB)) {
            bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK2);
            bar.write(ESB_TIMER1_REG, 4, 200);                    // takes: the sequence was already half done
        }
        host.addAndGet(3 * MS);                                   // stage 2 runs out: reboot
        waitFor(firedA, 1);
        waitFor(firedB, 1);
        assertEquals(observe(a), observe(b));
        assertEquals(ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_LINUX, barB.read(ESB_RELOAD_REG, 2));
        assertEquals(-1, b.deadline(), "the reboot reset the watchdog");
    }

    @Test
    void i6300esbRefusals() {
        I6300Esb a = new I6300Esb(clockA, () -> { }, s -> { }, "wd");
        I6300Esb b = new I6300Esb(clockB, () -> { }, s -> { }, "wd");
        byte[] p = StateSupport.save(a);
        String at = "section '" + StateSupport.ID + "': ";
        assertEquals(at + "field 'stage' is invalid: 3 is outside 0..2",
                StateSupport.refusal(b, StateSupport.edit(p, "stage", w -> w.u8("stage", 3))));
        assertEquals(at + "field 'running' is invalid: the timer runs while the watchdog is disabled",
                StateSupport.refusal(b, StateSupport.edit(p, "running", w -> w.bool("running", true))));
        assertEquals(at + "expected field 'preload1' (u32), found 'preload1' (u16)",
                StateSupport.refusal(b, StateSupport.edit(p, "preload1", w -> w.u16("preload1", 1))));
        byte[] cfg = new byte[256];
        cfg[0] = (byte) 0xf4;
        cfg[1] = 0x1a;
        assertEquals(at + "field 'config' is invalid: saved for device 1af4:0000, this is 8086:25ab",
                StateSupport.refusal(b, StateSupport.edit(p, "config", w -> w.bytes("config", cfg))));
        byte[] ro = new byte[256];
        for (int i = 0; i < 256; i++) {
            ro[i] = (byte) a.readConfig(i, 1);
        }
        ro[0x3d] = 1; // interrupt pin: fixed by the device
        assertEquals(at + "field 'config' is invalid: read-only bits of byte 0x3d are 0x01, this device has 0x00",
                StateSupport.refusal(b, StateSupport.edit(p, "config", w -> w.bytes("config", ro))));
        assertEquals(0, b.readConfig(ESB_LOCK_REG, 1));
        assertEquals(-1, b.deadline());
    }

    @Test
    void aLockedRunningWatchdogStaysLockedAndRunning() throws StateException {
        I6300Esb a = new I6300Esb(clockA, () -> { }, s -> { }, "wd");
        I6300Esb b = new I6300Esb(clockB, () -> { }, s -> { }, "wd");
        a.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE | ESB_WDT_LOCK);
        StateSupport.copy(a, b);
        assertEquals(observe(a), observe(b));
        b.writeConfig(ESB_LOCK_REG, 1, 0);
        assertEquals(ESB_WDT_ENABLE | ESB_WDT_LOCK, b.readConfig(ESB_LOCK_REG, 1), "still locked");
        assertTrue(b.deadline() >= 0);
    }
}
