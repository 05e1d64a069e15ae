package dev.jvmm.devices.watchdog;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.jvmm.devices.watchdog.I6300Esb.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class I6300EsbTest {
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    private final VirtualClock clock = new VirtualClock(System::nanoTime, exec);
    private final AtomicInteger expired = new AtomicInteger();
    private final List<String> notices = new CopyOnWriteArrayList<>();
    private final I6300Esb esb = new I6300Esb(clock, expired::incrementAndGet, notices::add, "wd");
    private final IoHandler bar = esb.bars().get(0).handler();

    @AfterEach
    void stop() {
        exec.shutdownNow();
    }

    private void unlockedWrite(int reg, int size, long v) {
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK1);
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK2);
        bar.write(reg, size, v);
    }

    @Test
    void identityAndPowerOnState() {
        assertEquals(0x25ab8086, esb.readConfig(0, 4));
        assertEquals(0x0880, esb.readConfig(0x0a, 2));
        assertEquals(0x11001af4, esb.readConfig(0x2c, 4));
        assertEquals(0, esb.readConfig(0x3d, 1), "no interrupt pin, as in QEMU");
        assertEquals(0, esb.readConfig(ESB_CONFIG_REG, 2));
        assertEquals(0, esb.readConfig(ESB_LOCK_REG, 1));
        assertEquals(0, bar.read(ESB_RELOAD_REG, 2));
        assertEquals(-1, esb.deadline());
        assertEquals(null, esb.description());
    }

    @Test
    void stageArithmetic() {
        assertEquals(0xfffffL * 32768 * 30, stageNanos(0xfffff, false), "1 kHz: 2^15 PCI clocks a unit");
        assertEquals(1000L * 32 * 30, stageNanos(1000, true), "1 MHz: 2^5 PCI clocks a unit");
        assertEquals(stageNanos(0xfffff, true), stageNanos(-1, true), "20-bit preload");
        assertEquals(0, stageNanos(0, true));
    }

    @Test
    void configRegistersOnlyAtTheirWidth() {
        esb.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_REBOOT | ESB_WDT_FREQ | 3);
        assertEquals(ESB_WDT_REBOOT | ESB_WDT_FREQ | 1, esb.readConfig(ESB_CONFIG_REG, 2), "QEMU's 0x11 int mask");
        assertEquals(0, esb.readConfig(ESB_CONFIG_REG, 4), "a dword is plain config space");
        esb.writeConfig(ESB_CONFIG_REG, 4, 0xffffffff);
        assertEquals(0xffffffff, esb.readConfig(ESB_CONFIG_REG, 4));
        assertEquals(ESB_WDT_REBOOT | ESB_WDT_FREQ | 1, esb.readConfig(ESB_CONFIG_REG, 2));
        esb.writeConfig(ESB_LOCK_REG, 2, 0xffff);
        assertEquals(0, esb.readConfig(ESB_LOCK_REG, 1));
        assertEquals(0xffff, esb.readConfig(ESB_LOCK_REG, 4));
        esb.reset();
        assertEquals(0, esb.readConfig(ESB_CONFIG_REG, 4));
        assertEquals(0, esb.readConfig(ESB_CONFIG_REG, 2));
    }

    @Test
    void preloadNeedsUnlockSequence() {
        clock.resume();
        esb.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_FREQ);
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK2);
        bar.write(ESB_RELOAD_REG, 2, ESB_UNLOCK1);
        bar.write(ESB_TIMER1_REG, 4, 5);
        unlockedWrite(ESB_TIMER2_REG, 4, 7);
        esb.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE);
        long left = esb.deadline() - clock.nanos();
        assertTrue(left > stageNanos(1000, true), "timer1 kept its 0xfffff preload: " + left);
        // A second write after one unlock is ignored: the sequence is needed before every write.
        unlockedWrite(ESB_TIMER1_REG, 4, 0xabcdef);
        bar.write(ESB_TIMER1_REG, 4, 3);
        unlockedWrite(ESB_RELOAD_REG, 2, ESB_WDT_RELOAD);
        left = esb.deadline() - clock.nanos();
        assertTrue(left <= stageNanos(0xbcdef, true) && left > stageNanos(0xbcdef, true) - 50_000_000L, "" + left);
    }

    @Test
    void twoStagesThenActionAndReset() throws Exception {
        clock.resume();
        esb.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_FREQ);
        unlockedWrite(ESB_TIMER1_REG, 4, 0x2000);   // about 7.9 ms a stage
        unlockedWrite(ESB_TIMER2_REG, 4, 0x2000);
        esb.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE);
        waitFor(() -> expired.get() == 1);
        Thread.sleep(100);
        assertEquals(1, expired.get());
        assertEquals(List.of("i6300esb_timer_expired: I would send APIC 1 INT 10 here if I knew how (XXX)"), notices);
        assertEquals(0, esb.readConfig(ESB_LOCK_REG, 1), "the device reset itself after the action");
        assertEquals(ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_LINUX, bar.read(ESB_RELOAD_REG, 2));
        esb.reset();
        assertEquals(ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_LINUX, bar.read(ESB_RELOAD_REG, 2), "survives reset");
        unlockedWrite(ESB_RELOAD_REG, 2, ESB_WDT_TIMEOUT);
        assertEquals(0, bar.read(ESB_RELOAD_REG, 2), "written 1 clears it");
    }

    @Test
    void rebootDisabledFreeRunningNeverActs() throws Exception {
        clock.resume();
        esb.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_FREQ | ESB_WDT_REBOOT);
        unlockedWrite(ESB_TIMER1_REG, 4, 0x1000);
        unlockedWrite(ESB_TIMER2_REG, 4, 0x1000);
        esb.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE | ESB_WDT_FUNC);
        waitFor(() -> notices.size() >= 3);
        assertEquals(0, expired.get());
        assertEquals(ESB_WDT_ENABLE | ESB_WDT_FUNC, esb.readConfig(ESB_LOCK_REG, 1));
    }

    @Test
    void lockKeepsItEnabledAndPausedClockHoldsIt() throws Exception {
        esb.writeConfig(ESB_CONFIG_REG, 2, ESB_WDT_FREQ);
        unlockedWrite(ESB_TIMER1_REG, 4, 0x100);
        unlockedWrite(ESB_TIMER2_REG, 4, 0x100);
        esb.writeConfig(ESB_LOCK_REG, 1, ESB_WDT_ENABLE | ESB_WDT_LOCK);
        esb.writeConfig(ESB_LOCK_REG, 1, 0);
        assertEquals(ESB_WDT_ENABLE | ESB_WDT_LOCK, esb.readConfig(ESB_LOCK_REG, 1));
        Thread.sleep(100);
        assertEquals(0, expired.get(), "the clock is paused (prelaunch)");
        clock.resume();
        waitFor(() -> expired.get() == 1);
    }

    @Test
    void garbageAccessesAreHarmless() {
        for (int off = -4; off < 24; off++) {
            for (int size : new int[] {1, 2, 4, 8}) {
                bar.write(off, size, 0xdeadbeefL);
                bar.read(off, size);
                esb.writeConfig(Math.max(0, off) + 0x40, size == 8 ? 4 : size, 0x12345678);
                esb.readConfig(off + 0x60, size == 8 ? 4 : size);
            }
        }
        esb.readConfig(300, 4);
        esb.writeConfig(300, 4, 1);
        assertEquals(-1, esb.deadline());
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out");
            Thread.sleep(2);
        }
    }
}
