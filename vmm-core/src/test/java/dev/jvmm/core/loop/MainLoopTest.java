package dev.jvmm.core.loop;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainLoopTest {
    /** Waits (bounded) until the thread has taken the loop, which renames it. */
    private static void awaitName(Thread t, String name) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!t.getName().equals(name) && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        assertEquals(name, t.getName());
    }

    @Test
    void theCallingThreadRunsTheTasksInOrderUntilShutdown() throws Exception {
        MainLoop loop = new MainLoop("test-main");
        List<String> ran = new CopyOnWriteArrayList<>();
        Thread launcher = new Thread(loop::runHere, "launcher");
        launcher.start();
        awaitName(launcher, "test-main");
        loop.execute(() -> ran.add(Thread.currentThread().getName() + ":1"));
        loop.execute(() -> {
            throw new IllegalStateException("a failing task is reported, the loop goes on");
        });
        loop.execute(() -> ran.add(Thread.currentThread().getName() + ":2"));
        loop.shutdown();
        launcher.join(5_000);
        assertFalse(launcher.isAlive());
        assertEquals(List.of("test-main:1", "test-main:2"), ran);
        assertTrue(loop.awaitTermination(1, TimeUnit.SECONDS));
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> { }));
    }

    @Test
    void withoutALauncherTheFirstTaskStartsTheLoopsOwnThread() throws Exception {
        MainLoop loop = new MainLoop("own-main");
        CountDownLatch done = new CountDownLatch(1);
        String[] where = new String[1];
        loop.execute(() -> {
            where[0] = Thread.currentThread().getName();
            done.countDown();
        });
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals("own-main", where[0]);
        loop.runHere(); // returns at once: the loop has its thread
        assertTrue(loop.shutdownNow().isEmpty());
        assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS));
    }

    @Test
    void tasksQueuedAfterAReservationWaitForTheReservingThread() throws Exception {
        MainLoop loop = new MainLoop("reserved-main");
        loop.reserve();
        List<String> ran = new CopyOnWriteArrayList<>();
        loop.execute(() -> ran.add(Thread.currentThread().getName()));
        Thread.sleep(100);
        assertTrue(ran.isEmpty(), "no thread of the loop's own started");
        Thread launcher = new Thread(loop::runHere);
        launcher.start();
        awaitName(launcher, "reserved-main");
        loop.shutdown();
        launcher.join(5_000);
        assertEquals(List.of("reserved-main"), ran);
    }

    @Test
    void shutdownNowEndsALoopWaitingForWork() throws Exception {
        MainLoop loop = new MainLoop("idle-main");
        Thread launcher = new Thread(loop::runHere);
        launcher.start();
        awaitName(launcher, "idle-main");
        loop.shutdownNow();
        launcher.join(5_000);
        assertFalse(launcher.isAlive());
        assertTrue(loop.isTerminated());
    }
}
