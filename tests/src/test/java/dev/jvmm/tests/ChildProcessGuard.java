package dev.jvmm.tests;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * After every test of this module (registered through META-INF/services and JUnit's extension
 * autodetection): a VMM, QEMU or tool the test started and left running is ended and the test fails naming
 * it. A test that timed out is still blocked on its own thread; ending its processes closes the sockets and
 * ptys it waits on, so that thread ends too and nothing outlives the surefire fork.
 */
public final class ChildProcessGuard implements AfterEachCallback {
    /** How long a child that is already on its way out gets before it counts as left behind. */
    private static final Duration GRACE = Duration.ofSeconds(2);
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    @Override
    public void afterEach(ExtensionContext context) {
        List<ProcessHandle> left = ProcessHandle.current().children().filter(ChildProcessGuard::stillRunning)
                .toList();
        if (left.isEmpty()) {
            return;
        }
        String names = left.stream().map(ChildProcessGuard::describe).collect(Collectors.joining("; "));
        left.forEach(ChildProcessGuard::end);
        throw new AssertionError(context.getDisplayName() + " left " + left.size()
                + " process(es) running, ended now: " + names);
    }

    private static boolean stillRunning(ProcessHandle p) {
        try {
            p.onExit().get(GRACE.toMillis(), TimeUnit.MILLISECONDS);
            return false;
        } catch (TimeoutException e) {
            return p.isAlive();
        } catch (ExecutionException e) {
            return p.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return p.isAlive();
        }
    }

    private static String describe(ProcessHandle p) {
        String cmd = p.info().commandLine().orElse(p.info().command().orElse("?"));
        return "pid " + p.pid() + " " + (cmd.length() > 160 ? cmd.substring(0, 160) + "..." : cmd);
    }

    /** SIGTERM, then SIGKILL for the process and everything it started. */
    private static void end(ProcessHandle p) {
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroy();
        try {
            p.onExit().get(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            p.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        tree.forEach(ProcessHandle::destroyForcibly);
    }
}
