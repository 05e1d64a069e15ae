package dev.jvmm.core.state;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * The VM's run state with QEMU's table of allowed transitions (softmmu/runstate.c). An attempt at a
 * transition QEMU does not allow is a programming error in jvmm and throws.
 */
public final class RunStateMachine {
    private static final Map<RunState, Set<RunState>> ALLOWED = new EnumMap<>(RunState.class);

    private static void allow(RunState from, RunState... to) {
        ALLOWED.computeIfAbsent(from, k -> EnumSet.noneOf(RunState.class)).addAll(Set.of(to));
    }

    static {
        // QEMU 7.2 has no prelaunch -> suspended (that arrived with 8.2's suspended start).
        allow(RunState.PRELAUNCH, RunState.INMIGRATE, RunState.RUNNING, RunState.FINISH_MIGRATE);
        allow(RunState.DEBUG, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH, RunState.SUSPENDED);
        allow(RunState.INMIGRATE, RunState.INTERNAL_ERROR, RunState.IO_ERROR, RunState.PAUSED, RunState.RUNNING,
                RunState.SHUTDOWN, RunState.SUSPENDED, RunState.WATCHDOG, RunState.GUEST_PANICKED,
                RunState.FINISH_MIGRATE, RunState.PRELAUNCH, RunState.POSTMIGRATE, RunState.COLO);
        allow(RunState.INTERNAL_ERROR, RunState.PAUSED, RunState.FINISH_MIGRATE, RunState.PRELAUNCH);
        allow(RunState.IO_ERROR, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH);
        allow(RunState.PAUSED, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.POSTMIGRATE,
                RunState.PRELAUNCH, RunState.COLO);
        allow(RunState.POSTMIGRATE, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH);
        allow(RunState.FINISH_MIGRATE, RunState.RUNNING, RunState.PAUSED, RunState.POSTMIGRATE,
                RunState.PRELAUNCH, RunState.COLO);
        allow(RunState.RESTORE_VM, RunState.RUNNING, RunState.PRELAUNCH);
        allow(RunState.COLO, RunState.RUNNING, RunState.PRELAUNCH, RunState.SHUTDOWN);
        allow(RunState.RUNNING, RunState.DEBUG, RunState.INTERNAL_ERROR, RunState.IO_ERROR, RunState.PAUSED,
                RunState.FINISH_MIGRATE, RunState.RESTORE_VM, RunState.SAVE_VM, RunState.SHUTDOWN,
                RunState.WATCHDOG, RunState.GUEST_PANICKED, RunState.COLO, RunState.SUSPENDED);
        allow(RunState.SAVE_VM, RunState.RUNNING);
        allow(RunState.SHUTDOWN, RunState.PAUSED, RunState.FINISH_MIGRATE, RunState.PRELAUNCH, RunState.COLO);
        allow(RunState.SUSPENDED, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH, RunState.COLO);
        allow(RunState.WATCHDOG, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH, RunState.COLO);
        allow(RunState.GUEST_PANICKED, RunState.RUNNING, RunState.FINISH_MIGRATE, RunState.PRELAUNCH);
    }

    private RunState state;
    private final CopyOnWriteArrayList<BiConsumer<RunState, RunState>> listeners = new CopyOnWriteArrayList<>();

    public RunStateMachine(RunState initial) {
        this.state = initial;
    }

    public static boolean isAllowed(RunState from, RunState to) {
        return from == to || ALLOWED.getOrDefault(from, Set.of()).contains(to);
    }

    public synchronized RunState current() {
        return state;
    }

    /** Moves to next; listeners (old, new) run on the caller's thread after the change. */
    public void transition(RunState next) {
        RunState old;
        synchronized (this) {
            old = state;
            if (!isAllowed(old, next)) {
                throw new IllegalStateException("invalid run state transition: '" + old.qapiName()
                        + "' -> '" + next.qapiName() + "'");
            }
            state = next;
        }
        if (old != next) {
            for (BiConsumer<RunState, RunState> l : listeners) {
                l.accept(old, next);
            }
        }
    }

    public void addListener(BiConsumer<RunState, RunState> listener) {
        listeners.add(listener);
    }
}
