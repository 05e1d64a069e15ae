package dev.jvmm.core.clock;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Guest time as QEMU's QEMU_CLOCK_VIRTUAL under KVM: host monotonic time that stands still while the VM is not
 * running (prelaunch, stop, watchdog pause...), and one-shot timers against it. A timer armed for guest time T
 * fires once the guest has run until T, however long the VM was paused in between.
 *
 * <p>Deliberately small: the machine calls {@link #pause()} and {@link #resume()} on run-state changes; timers
 * run their callbacks on the given executor, never while holding this clock's lock, so a callback may take
 * its device's lock and re-arm itself.
 */
public final class VirtualClock {
    private final LongSupplier hostNanos;
    private final ScheduledExecutorService executor;
    /** Host nanos at which guest time was 0, plus all time spent paused. */
    private long offset;
    /** Host nanos when the clock stopped; -1 while running. */
    private long pausedAt;
    /** Every timer made here, so that resume can schedule the armed ones (a machine has a handful). */
    private final java.util.List<Timer> timers = new java.util.ArrayList<>();

    /** A clock that starts paused at guest time 0 (the VM is in prelaunch until it first runs). */
    public VirtualClock(LongSupplier hostNanos, ScheduledExecutorService executor) {
        this.hostNanos = hostNanos;
        this.executor = executor;
        long now = hostNanos.getAsLong();
        this.offset = now;
        this.pausedAt = now;
    }

    /** Guest nanoseconds: how long the VM has run so far. */
    public synchronized long nanos() {
        return (pausedAt >= 0 ? pausedAt : hostNanos.getAsLong()) - offset;
    }

    public synchronized boolean running() {
        return pausedAt < 0;
    }

    /** The VM stopped: guest time stands still and no timer fires until {@link #resume()}. */
    public void pause() {
        synchronized (this) {
            if (pausedAt >= 0) {
                return;
            }
            pausedAt = hostNanos.getAsLong();
        }
    }

    /** The VM runs again: guest time goes on from where it stopped; timers due in the meantime fire. */
    public void resume() {
        synchronized (this) {
            if (pausedAt < 0) {
                return;
            }
            offset += hostNanos.getAsLong() - pausedAt;
            pausedAt = -1;
            for (Timer t : timers) {
                if (t.deadline >= 0) {
                    t.scheduleLocked(t.generation);
                }
            }
        }
    }

    /** A new, unarmed timer that calls callback (on the executor) when it expires. */
    public synchronized Timer newTimer(Runnable callback) {
        Timer t = new Timer(callback);
        timers.add(t);
        return t;
    }

    /**
     * A one-shot timer (QEMU's timer_mod/timer_del). While the VM is paused no host task is scheduled;
     * resume schedules it for the guest time left. A generation number drops tasks of an older arming.
     */
    public final class Timer {
        private final Runnable callback;
        private long deadline = -1;
        private long generation;
        /** The generation whose expiry is being delivered; -1 when none. */
        private long firing = -1;
        private ScheduledFuture<?> pending;

        private Timer(Runnable callback) {
            this.callback = callback;
        }

        /** Arms (or re-arms) the timer to fire at guest time deadlineNanos. */
        public void modNanos(long deadlineNanos) {
            synchronized (VirtualClock.this) {
                cancelLocked();
                deadline = deadlineNanos;
                scheduleLocked(++generation);
            }
        }

        /** Arms the timer delayNanos of guest time from now. */
        public void modIn(long delayNanos) {
            synchronized (VirtualClock.this) {
                modNanos(nanos() + Math.max(0, delayNanos));
            }
        }

        /** Disarms the timer (timer_del). */
        public void cancel() {
            synchronized (VirtualClock.this) {
                cancelLocked();
                deadline = -1;
                generation++;
            }
        }

        /**
         * For a callback, under its device's lock: true (once) if no mod or cancel came between this expiry
         * and now. A guest re-arming or disarming the timer while the expiry was on its way then wins, as
         * under QEMU's big lock, where the timer callback and the guest's access cannot interleave.
         */
        public boolean claimExpiry() {
            synchronized (VirtualClock.this) {
                boolean current = firing == generation;
                firing = -1;
                return current;
            }
        }

        /** Whether the timer is armed and has not fired yet. */
        public boolean pending() {
            synchronized (VirtualClock.this) {
                return deadline >= 0;
            }
        }

        /** The guest time it fires at; -1 when unarmed. */
        public long deadline() {
            synchronized (VirtualClock.this) {
                return deadline;
            }
        }

        private void cancelLocked() {
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }

        /** A host task for the guest time left; none while paused (resume schedules it). */
        private void scheduleLocked(long gen) {
            cancelLocked();
            if (!running()) {
                return;
            }
            long delay = Math.max(0, deadline - nanos());
            try {
                pending = executor.schedule(() -> expire(gen), delay, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // The machine is shutting down; nothing will fire any more.
                pending = null;
            }
        }

        private void expire(long gen) {
            synchronized (VirtualClock.this) {
                if (gen != generation || deadline < 0) {
                    return;
                }
                if (!running() || nanos() < deadline) {
                    scheduleLocked(gen);
                    return;
                }
                deadline = -1;
                pending = null;
                firing = gen;
            }
            callback.run();
        }
    }
}
