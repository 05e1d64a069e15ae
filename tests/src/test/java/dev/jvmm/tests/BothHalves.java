package dev.jvmm.tests;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the QEMU half and the jvmm half of a side-by-side test at the same time, for tests whose guests mostly
 * sit halted (until a watchdog fires, a wake-up that may not come, a QMP trigger's delay): one half's waiting
 * overlaps the other's, so the test takes the longer half's time instead of the sum. Only for halves that
 * share no writable file, socket or port. Not for halves that keep a core busy (a guest polling a device
 * under PVM emulation): there the overlap gains nothing on two cores and squeezes the guests' own deadlines.
 * The QEMU half runs on a thread of its own; its failure is reported first (with the jvmm half's attached),
 * as when the halves ran one after the other.
 */
public final class BothHalves {
    /** Longer than any half's own bound; the test method's timeout (5 minutes) usually ends a test first. */
    private static final long HALF_LIMIT_MINUTES = 10;
    /** How long a cancelled QEMU half gets to end its process after an interrupt. */
    private static final long CANCEL_WAIT_MS = 20_000;

    /** One half: starts its VMM, drives it and returns what the run left. */
    @FunctionalInterface
    public interface Half<T> {
        T run() throws Exception;
    }

    /** What the two halves returned. */
    public record Results<Q, J>(Q qemu, J jvmm) {
    }

    private BothHalves() {
    }

    public static <Q, J> Results<Q, J> run(Half<Q> qemu, Half<J> jvmm) throws Exception {
        FutureTask<Q> q = new FutureTask<>(qemu::run);
        Thread t = new Thread(q, "qemu-half");
        t.setDaemon(true);
        t.start();
        boolean done = false;
        try {
            J j = null;
            Throwable jvmmFailure = null;
            try {
                j = jvmm.run();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception | AssertionError e) {
                jvmmFailure = e;
            }
            Q qr;
            try {
                qr = q.get(HALF_LIMIT_MINUTES, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (jvmmFailure != null) {
                    cause.addSuppressed(jvmmFailure);
                }
                throw rethrow(cause);
            } catch (TimeoutException e) {
                throw new AssertionError("the QEMU half did not end within " + HALF_LIMIT_MINUTES + " minutes");
            }
            done = true;
            if (jvmmFailure != null) {
                throw rethrow(jvmmFailure);
            }
            return new Results<>(qr, j);
        } finally {
            if (!done && !q.isDone()) {
                // The test is ending early (interrupted by its timeout, or the jvmm half threw an Error): the
                // QEMU half's own clean-up ends its process once interrupted.
                q.cancel(true);
                t.join(CANCEL_WAIT_MS);
            }
        }
    }

    private static Exception rethrow(Throwable t) {
        if (t instanceof Exception e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new RuntimeException(t);
    }
}
