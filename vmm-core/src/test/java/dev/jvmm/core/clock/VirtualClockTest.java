package dev.jvmm.core.clock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtualClockTest {
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        exec.shutdownNow();
    }

    @Test
    void guestTimeStandsStillWhilePaused() {
        AtomicLong host = new AtomicLong(1_000);
        VirtualClock c = new VirtualClock(host::get, exec);
        host.addAndGet(500);
        assertEquals(0, c.nanos(), "starts paused at 0 (prelaunch)");
        c.resume();
        host.addAndGet(300);
        assertEquals(300, c.nanos());
        c.pause();
        host.addAndGet(10_000);
        assertEquals(300, c.nanos());
        c.resume();
        host.addAndGet(1);
        assertEquals(301, c.nanos());
    }

    @Test
    void timerFiresAfterGuestTimeNotWhilePaused() throws Exception {
        VirtualClock c = new VirtualClock(System::nanoTime, exec);
        c.resume();
        AtomicInteger fired = new AtomicInteger();
        VirtualClock.Timer t = c.newTimer(fired::incrementAndGet);
        t.modIn(TimeUnit.MILLISECONDS.toNanos(100));
        assertTrue(t.pending());
        c.pause();
        Thread.sleep(300);
        assertEquals(0, fired.get(), "paused: no guest time passes");
        c.resume();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (fired.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(1, fired.get());
        assertFalse(t.pending());
        assertTrue(c.nanos() >= TimeUnit.MILLISECONDS.toNanos(100));
    }

    @Test
    void rearmAndCancelDropOlderArmings() throws Exception {
        VirtualClock c = new VirtualClock(System::nanoTime, exec);
        c.resume();
        AtomicInteger fired = new AtomicInteger();
        VirtualClock.Timer t = c.newTimer(fired::incrementAndGet);
        t.modIn(TimeUnit.MILLISECONDS.toNanos(50));
        t.modIn(TimeUnit.MILLISECONDS.toNanos(60));
        t.modIn(TimeUnit.MILLISECONDS.toNanos(70));
        Thread.sleep(400);
        assertEquals(1, fired.get(), "one firing for the last arming");
        t.modIn(TimeUnit.MILLISECONDS.toNanos(50));
        t.cancel();
        Thread.sleep(200);
        assertEquals(1, fired.get(), "cancelled");
        assertEquals(-1, t.deadline());
    }

    @Test
    void callbackMayRearmItself() throws Exception {
        VirtualClock c = new VirtualClock(System::nanoTime, exec);
        c.resume();
        AtomicInteger fired = new AtomicInteger();
        VirtualClock.Timer[] t = new VirtualClock.Timer[1];
        t[0] = c.newTimer(() -> {
            if (fired.incrementAndGet() < 3) {
                t[0].modIn(1_000_000);
            }
        });
        t[0].modIn(1_000_000);
        Thread.sleep(300);
        assertEquals(3, fired.get());
    }

    @Test
    void rearmDuringDeliveryWinsOverTheExpiry() throws Exception {
        VirtualClock c = new VirtualClock(System::nanoTime, exec);
        c.resume();
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.List<Boolean> claims = new java.util.concurrent.CopyOnWriteArrayList<>();
        VirtualClock.Timer[] t = new VirtualClock.Timer[1];
        t[0] = c.newTimer(() -> {
            entered.countDown();
            try {
                go.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            claims.add(t[0].claimExpiry());
        });
        t[0].modIn(1_000_000);
        assertTrue(entered.await(5, TimeUnit.SECONDS));
        t[0].modIn(TimeUnit.SECONDS.toNanos(60)); // the guest pets while the expiry is on its way
        go.countDown();
        Thread.sleep(100);
        assertEquals(java.util.List.of(false), claims);
        assertTrue(t[0].pending(), "the new arming stands");
    }
}
