package dev.jvmm.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The harness against the two ways a test used to be able to take a CI run down: a process left running, and
 * a wait that never ends. Each case runs a small test class through JUnit with this module's settings (the
 * guard autodetected, a preemptive timeout on the test's own thread) and checks what became of it.
 */
class ChildProcessGuardTest {
    /** A test that starts a process and returns without ending it. */
    static final class LeavesAProcess {
        static volatile long pid;

        @Test
        void startsSleep() throws Exception {
            pid = new ProcessBuilder("sleep", "600").start().pid();
        }
    }

    /** A test blocked in accept() on a socket no one connects to, its peer process never coming. */
    static final class BlocksInAccept {
        static volatile Thread thread;
        static volatile long pid;

        @Test
        void waitsForAPeer() throws Exception {
            thread = Thread.currentThread();
            pid = new ProcessBuilder("sleep", "600").start().pid();
            Path sock = Files.createTempDirectory("guard").resolve("s.sock");
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(sock));
                try (SocketChannel never = server.accept()) {
                    never.close();
                }
            }
        }
    }

    private static Events run(Class<?> testClass, String timeout) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                .configurationParameter("junit.jupiter.execution.timeout.default", timeout)
                .configurationParameter("junit.jupiter.execution.timeout.thread.mode.default", "SEPARATE_THREAD")
                .selectors(selectClass(testClass)).execute().testEvents();
    }

    private static String failure(Events events) {
        Event e = events.failed().stream().findFirst().orElseThrow();
        return e.getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow().getThrowable()
                .map(Throwable::toString).orElse("");
    }

    @Test
    @Timeout(60)
    void aProcessLeftRunningIsEndedAndFailsItsTest() throws Exception {
        Events events = run(LeavesAProcess.class, "30 s");
        assertEquals(1, events.failed().count(), "the leaking test must fail");
        assertTrue(failure(events).contains("left 1 process(es) running"), failure(events));
        ProcessHandle p = ProcessHandle.of(LeavesAProcess.pid).orElse(null);
        assertTrue(p == null || p.onExit().get(10, TimeUnit.SECONDS) != null);
        assertFalse(p != null && p.isAlive(), "sleep is still running");
    }

    @Test
    @Timeout(60)
    void aStuckWaitTimesOutAndItsThreadEnds() throws Exception {
        long t0 = System.nanoTime();
        Events events = run(BlocksInAccept.class, "2 s");
        assertEquals(1, events.failed().count(), "the stuck test must fail");
        assertTrue(failure(events).contains("timed out"), failure(events));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), "the timeout did not cut the wait");
        assertFalse(ProcessHandle.of(BlocksInAccept.pid).map(ProcessHandle::isAlive).orElse(false),
                "the stuck test's process was not ended");
        BlocksInAccept.thread.join(10_000);
        assertFalse(BlocksInAccept.thread.isAlive(), "the timed-out test's thread is still blocked");
    }
}
