package dev.jvmm.devices.watchdog;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.PioBus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Ib700Test {
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    private final VirtualClock clock = new VirtualClock(System::nanoTime, exec);
    private final AtomicInteger expired = new AtomicInteger();
    private final Ib700 wdt = new Ib700(clock, expired::incrementAndGet);
    private final PioBus pio = new PioBus();

    @AfterEach
    void stop() {
        exec.shutdownNow();
    }

    @Test
    void timeoutTable() {
        assertEquals(30_000_000_000L, Ib700.timeoutNanos(0));
        assertEquals(2_000_000_000L, Ib700.timeoutNanos(0xe));
        assertEquals(0, Ib700.timeoutNanos(0xf));
        assertEquals(Ib700.timeoutNanos(0x3), Ib700.timeoutNanos(0xf3), "only bits 3:0 count");
    }

    @Test
    void armRefreshDisarm() {
        wdt.attach(pio);
        clock.resume();
        pio.write(Ib700.ENABLE_PORT, 1, 0x0);
        long d = wdt.deadline() - clock.nanos();
        assertTrue(d > 29_000_000_000L && d <= 30_000_000_000L, "" + d);
        pio.write(Ib700.ENABLE_PORT + 1, 1, 0xe);
        d = wdt.deadline() - clock.nanos();
        assertTrue(d > 1_000_000_000L && d <= 2_000_000_000L, "the byte after the port arms too: " + d);
        pio.write(Ib700.DISABLE_PORT + 1, 1, 0);
        assertEquals(-1, wdt.deadline());
        assertEquals(0xff, pio.read(Ib700.DISABLE_PORT, 1));
        assertEquals(0xffff, pio.read(Ib700.ENABLE_PORT, 2));
    }

    @Test
    void wordWriteSplitsIntoBytes() {
        wdt.attach(pio);
        clock.resume();
        pio.write(Ib700.DISABLE_PORT + 1, 2, 0x0000);  // 0x442 disarm, then 0x443 arms 30 s
        assertTrue(wdt.deadline() >= 0);
        pio.write(Ib700.DISABLE_PORT, 2, 0x0000);
        assertEquals(-1, wdt.deadline());
    }

    @Test
    void expiresOnceAfterGuestTimeAndStaysDisarmed() throws Exception {
        wdt.attach(pio);
        pio.write(Ib700.ENABLE_PORT, 1, 0xf);
        Thread.sleep(100);
        assertEquals(0, expired.get(), "no guest time passes before the VM runs");
        clock.resume();
        long end = System.nanoTime() + 5_000_000_000L;
        while (expired.get() == 0 && System.nanoTime() < end) {
            Thread.sleep(2);
        }
        Thread.sleep(50);
        assertEquals(1, expired.get());
        assertEquals(-1, wdt.deadline());
        pio.write(Ib700.ENABLE_PORT, 1, 0);
        wdt.reset();
        assertEquals(-1, wdt.deadline());
    }
}
