package dev.jvmm.core.machine;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.loop.MainLoop;
import dev.jvmm.core.machine.ActionSettings.PanicAction;
import dev.jvmm.core.machine.ActionSettings.RebootAction;
import dev.jvmm.core.machine.ActionSettings.ShutdownAction;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.state.RunStateMachine;
import dev.jvmm.core.state.ShutdownCause;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * QEMU 7.2's run-state policy (softmmu/runstate.c, cpus.c), the same for every machine: which events are
 * emitted in which order and which run-state transitions happen on stop, cont, reset, shutdown, panic and
 * watchdog expiry, given -no-reboot/-no-shutdown/-action.
 *
 * <p>All state changes happen on one "main loop" thread, as QEMU handles them under its big lock in the
 * main loop. Monitor commands run there (the QMP server submits them to {@link #mainLoop()}); requests from
 * vCPU threads ({@code requestGuest*}) are queued there, because pausing all vCPUs from a vCPU thread would
 * wait for itself. The {@code do*} methods must be called on the main loop.
 */
public final class LifecycleController implements SystemWakeup, AutoCloseable {
    /** QEMU's initial wake-up mask: every reason; the PM block's reset then clears RTC and PMTIMER. */
    private static final int ALL_WAKEUP_REASONS = WakeupReason.RTC.bit() | WakeupReason.PMTIMER.bit()
            | WakeupReason.OTHER.bit();

    private final RunStateMachine runState;
    private final EventBus events;
    private final VcpuControl vcpus;
    private final MainLoop mainLoop;
    private final CopyOnWriteArrayList<Runnable> exitHooks = new CopyOnWriteArrayList<>();
    private volatile ActionSettings actions;
    private volatile boolean exiting;
    private final AtomicInteger wakeupMask = new AtomicInteger(ALL_WAKEUP_REASONS);
    /** The fd sets: their lifetime rule depends on whether the machine runs, which this class decides. */
    private final dev.jvmm.core.fd.FdSets fdSets =
            new dev.jvmm.core.fd.FdSets(() -> runState().current() == dev.jvmm.core.state.RunState.RUNNING);

    public LifecycleController(EventBus events, VcpuControl vcpus, ActionSettings actions) {
        this.runState = new RunStateMachine(RunState.PRELAUNCH);
        this.events = events;
        this.vcpus = vcpus;
        this.actions = actions;
        this.mainLoop = new MainLoop("jvmm-main");
    }

    public RunStateMachine runState() {
        return runState;
    }

    /** The machine's fd sets (add-fd, -add-fd, /dev/fdset/N). */
    public dev.jvmm.core.fd.FdSets fdSets() {
        return fdSets;
    }

    public EventBus events() {
        return events;
    }

    public ExecutorService mainLoop() {
        return mainLoop;
    }

    /**
     * The calling thread (the launcher's) will run the main loop once the machine is set up and started: tasks
     * queued meanwhile (a command from a client that connected early) wait for {@link #runMainLoopHere}.
     */
    public void reserveMainLoop() {
        mainLoop.reserve();
    }

    /**
     * Runs the main loop on the calling thread (the launcher's, which has nothing else to do) for the
     * machine's life; returns at once if the loop already has a thread of its own.
     */
    public void runMainLoopHere() {
        mainLoop.runHere();
    }

    public ActionSettings actions() {
        return actions;
    }

    /** set-action / -action: takes effect for the next request. */
    public void setActions(ActionSettings a) {
        actions = a;
    }

    /** Runs before the process exits (the QMP server flushes its clients here). */
    public void addExitHook(Runnable hook) {
        exitHooks.add(hook);
    }

    public boolean isExiting() {
        return exiting;
    }

    /** Start-up after the machine is built: without -S the VM starts running (RESUME, unseen by anyone). */
    public void start(boolean autostart) {
        if (autostart) {
            runOnMainLoop(this::vmStart);
        }
    }

    // ---- monitor commands (call on the main loop) ----

    /** QMP stop: only a running VM stops (STOP event); otherwise nothing happens. */
    public void stop() {
        vmStop(RunState.PAUSED);
    }

    /** QMP cont, with qmp_cont's refusals. */
    public void cont() throws MachineCommandException {
        RunState s = runState.current();
        if (s == RunState.INTERNAL_ERROR || s == RunState.SHUTDOWN) {
            throw MachineCommandException.generic("Resetting the Virtual Machine is required");
        }
        if (s == RunState.SUSPENDED) {
            return;
        }
        if (s == RunState.FINISH_MIGRATE) {
            throw MachineCommandException.generic("Migration is not finalized yet");
        }
        vmStart();
    }

    /** QMP system_reset. */
    public void systemReset() {
        resetRequest(ShutdownCause.HOST_QMP_SYSTEM_RESET);
    }

    /** QMP system_powerdown: POWERDOWN then the ACPI power button. */
    public void systemPowerdown() {
        events.publish(new VmEvent.Powerdown());
        vcpus.powerButton();
    }

    /**
     * QMP quit: SHUTDOWN {guest:false, reason:host-qmp-quit}; the process exits with status 0 once the
     * current command's reply has been queued (the exit runs as the main loop's next task).
     */
    public void quit() {
        actions = actions.withShutdown(ShutdownAction.POWEROFF);
        shutdown(ShutdownCause.HOST_QMP_QUIT);
    }

    /**
     * QMP system_wakeup, with qmp_system_wakeup's refusals: a wake-up for {@link WakeupReason#OTHER}, which
     * no mask refuses.
     */
    public void systemWakeup() throws MachineCommandException {
        if (!vcpus.wakeupSupported()) {
            throw MachineCommandException.generic("wake-up from suspend is not supported by this guest");
        }
        if (!wakeup(WakeupReason.OTHER)) {
            throw MachineCommandException.generic("Unable to wake up: guest is not in suspended state");
        }
    }

    // ---- requests from vCPU threads and devices (any thread) ----

    /**
     * A device asked the process to exit (isa-debug-exit). It happens on the main loop, after whatever the
     * loop was doing (an event it is about to send, say), as QEMU's device can only run once the main loop
     * has released the big lock; clients get everything sent so far.
     */
    public void requestExit(int status) {
        runOnMainLoop(() -> exit(status));
    }

    /** The guest entered ACPI S3: vCPUs stop, state suspended, SUSPEND (QEMU sends no STOP here). */
    public void requestGuestSuspend() {
        runOnMainLoop(() -> {
            if (runState.current() != RunState.RUNNING) {
                return;
            }
            vcpus.pauseAll();
            runState.transition(RunState.SUSPENDED);
            events.publish(new VmEvent.Suspend());
        });
    }

    /**
     * A wake source fired (the RTC alarm, from the timer thread): on the main loop, a suspended guest whose
     * wake-up mask allows this reason is woken, as by QEMU's qemu_system_wakeup_request; otherwise nothing
     * happens. The state test first keeps a source that fires while the guest runs from queuing work.
     */
    @Override
    public void request(WakeupReason reason) {
        if (runState.current() == RunState.SUSPENDED) {
            runOnMainLoop(() -> wakeup(reason));
        }
    }

    /** QEMU's qemu_system_wakeup_enable; lock-free, so the PM block may call it from a PM1_EN write. */
    @Override
    public void enable(WakeupReason reason, boolean enabled) {
        int bit = reason.bit();
        int m;
        do {
            m = wakeupMask.get();
        } while (!wakeupMask.compareAndSet(m, enabled ? m | bit : m & ~bit));
    }

    /** Whether the wake-up mask lets this reason wake the guest. */
    public boolean wakeupEnabled(WakeupReason reason) {
        return (wakeupMask.get() & reason.bit()) != 0;
    }

    /** The guest asked for ACPI S4: SUSPEND_DISK, then a guest shutdown. */
    public void requestGuestSuspendToDisk() {
        runOnMainLoop(() -> {
            events.publish(new VmEvent.SuspendDisk());
            shutdown(ShutdownCause.GUEST_SHUTDOWN);
        });
    }

    /** The guest powered off (ACPI S5, ...). */
    public void requestGuestShutdown() {
        runOnMainLoop(() -> shutdown(ShutdownCause.GUEST_SHUTDOWN));
    }

    /** The guest asked for a reset (i8042, port 0xcf9, triple fault). */
    public void requestGuestReset() {
        runOnMainLoop(() -> resetRequest(ShutdownCause.GUEST_RESET));
    }

    /** The guest reported a panic (pvpanic). */
    public void requestGuestPanic() {
        runOnMainLoop(this::doGuestPanic);
    }

    /** A watchdog expired. */
    public void requestWatchdogExpiry() {
        runOnMainLoop(this::doWatchdogExpiry);
    }

    /** KVM_EXIT_INTERNAL_ERROR and the like: internal-error state, STOP. */
    public void requestInternalError() {
        runOnMainLoop(() -> vmStop(RunState.INTERNAL_ERROR));
    }

    /** Block I/O error with werror/rerror=stop: io-error state, STOP (after the caller's BLOCK_IO_ERROR). */
    public void requestIoErrorStop() {
        runOnMainLoop(() -> vmStop(RunState.IO_ERROR));
    }

    /** A host signal (SIGTERM/SIGINT): SHUTDOWN {guest:false, reason:host-signal} and exit. */
    public void requestHostSignalShutdown() {
        runOnMainLoop(() -> {
            actions = actions.withShutdown(ShutdownAction.POWEROFF);
            shutdown(ShutdownCause.HOST_SIGNAL);
        });
    }

    // ---- the policy ----

    private void runOnMainLoop(Runnable r) {
        if (!mainLoop.isShutdown()) {
            mainLoop.execute(r);
        }
    }

    /**
     * qemu_system_wakeup_request and the main loop's wake-up, in one go: only a suspended guest wakes, and
     * only for an enabled reason; the state becomes running, the vCPUs stop, the machine resets for resume
     * (the PM block records the reason), the vCPUs run, and WAKEUP goes out (no RESET: QEMU resets with no
     * shutdown cause). QEMU 7.2 gets to its main loop before it answers system_wakeup, so WAKEUP precedes the
     * reply there (checked), as here. Returns false when the guest was not suspended. Call on the main loop.
     */
    private boolean wakeup(WakeupReason reason) {
        if (runState.current() != RunState.SUSPENDED) {
            return false;
        }
        if (!wakeupEnabled(reason)) {
            return true;
        }
        runState.transition(RunState.RUNNING);
        vcpus.pauseAll();
        vcpus.resetForWakeup(reason);
        vcpus.resumeAll();
        events.publish(new VmEvent.Wakeup());
        return true;
    }

    /** vm_start: RESUME is emitted before the state changes, then the vCPUs run. */
    private void vmStart() {
        if (runState.current() == RunState.RUNNING) {
            return;
        }
        events.publish(new VmEvent.Resume());
        runState.transition(RunState.RUNNING);
        vcpus.resumeAll();
    }

    /** do_vm_stop: only a running VM stops; state first, then the vCPUs, then STOP. */
    private void vmStop(RunState target) {
        if (runState.current() != RunState.RUNNING) {
            return;
        }
        runState.transition(target);
        vcpus.pauseAll();
        events.publish(new VmEvent.Stop());
    }

    /** qemu_system_reset_request + the main loop's reset handling. */
    private void resetRequest(ShutdownCause cause) {
        if (actions.reboot() == RebootAction.SHUTDOWN && cause != ShutdownCause.SUBSYSTEM_RESET) {
            shutdown(cause);
            return;
        }
        vcpus.pauseAll();
        vcpus.resetAll();
        if (cause != ShutdownCause.NONE && cause != ShutdownCause.SUBSYSTEM_RESET) {
            events.publish(new VmEvent.Reset(cause.isGuest(), cause));
        }
        RunState s = runState.current();
        if (s == RunState.RUNNING) {
            vcpus.resumeAll();
        } else if (s != RunState.INMIGRATE && s != RunState.FINISH_MIGRATE) {
            // A reset VM that was not running starts over in prelaunch (QEMU: "paused" -> "prelaunch").
            runState.transition(RunState.PRELAUNCH);
        }
    }

    /** The main loop's shutdown handling: SHUTDOWN, then pause (STOP) or exit. */
    private void shutdown(ShutdownCause cause) {
        shutdown(cause, 0);
    }

    private void shutdown(ShutdownCause cause, int status) {
        events.publish(new VmEvent.Shutdown(cause.isGuest(), cause));
        if (actions.shutdown() == ShutdownAction.PAUSE) {
            vmStop(RunState.SHUTDOWN);
            return;
        }
        exiting = true;
        vcpus.pauseAll();
        // Exit as the main loop's next task, so the reply to the command running now is queued first.
        mainLoop.execute(() -> exit(status));
    }

    private void doGuestPanic() {
        ActionSettings a = actions;
        if (a.panic() == PanicAction.PAUSE
                || (a.panic() == PanicAction.SHUTDOWN && a.shutdown() == ShutdownAction.PAUSE)) {
            events.publish(new VmEvent.GuestPanicked("pause"));
            vmStop(RunState.GUEST_PANICKED);
        } else if (a.panic() == PanicAction.SHUTDOWN || a.panic() == PanicAction.EXIT_FAILURE) {
            // QEMU 7.2 (checked): GUEST_PANICKED, SHUTDOWN, exit; the vmstop request it also makes is never
            // acted on, because the main loop handles the shutdown request first, so no STOP is sent.
            events.publish(new VmEvent.GuestPanicked("poweroff"));
            actions = a.withShutdown(ShutdownAction.POWEROFF);
            shutdown(ShutdownCause.GUEST_PANIC, a.panic() == PanicAction.EXIT_FAILURE ? 1 : 0);
        } else {
            events.publish(new VmEvent.GuestPanicked("run"));
        }
    }

    private void doWatchdogExpiry() {
        ActionSettings.WatchdogAction w = actions.watchdog();
        events.publish(new VmEvent.Watchdog(w.qapiName()));
        switch (w) {
            case RESET -> resetRequest(ShutdownCause.GUEST_RESET);
            case SHUTDOWN -> systemPowerdown();
            case POWEROFF -> {
                // QEMU 7.2 (checked) calls exit(0) here: no SHUTDOWN event, and -no-shutdown does not apply.
                exiting = true;
                vcpus.pauseAll();
                mainLoop.execute(() -> exit(0));
            }
            case PAUSE -> vmStop(RunState.WATCHDOG);
            case INJECT_NMI -> vcpus.injectNmi();
            case DEBUG, NONE -> {
            }
        }
    }

    /** Runs the exit hooks (QMP flush) then ends the process through the machine. */
    public void exit(int status) {
        exiting = true;
        for (Runnable h : List.copyOf(exitHooks)) {
            try {
                h.run();
            } catch (RuntimeException e) {
                // An exit hook failing must not keep the process alive.
            }
        }
        vcpus.exitProcess(status);
    }

    /** Waits until every task queued on the main loop so far has run (for tests and orderly shutdown). */
    public void drainMainLoop() throws InterruptedException {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        runOnMainLoop(done::countDown);
        done.await(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        mainLoop.shutdownNow();
    }
}
