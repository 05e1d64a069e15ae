package dev.jvmm.qmp;

import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.state.ShutdownCause;

import java.util.Arrays;
import java.util.List;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * The run-state commands (query-status, stop, cont, system_reset, system_powerdown, system_wakeup, quit,
 * set-action, watchdog-set-action) over the shared {@link LifecycleController}, and the events it sends.
 */
final class QmpRunState {
    private QmpRunState() {
    }

    static void declare(Schema s, LifecycleController lc) {
        QType.Enum runState = new QType.Enum("RunState",
                Arrays.stream(RunState.values()).map(RunState::qapiName).toList());
        QType.Enum shutdownCause = new QType.Enum("ShutdownCause",
                Arrays.stream(ShutdownCause.values()).map(ShutdownCause::qapiName).toList());

        s.command("query-status", QmpCommands.NO_ARGS, QType.struct("StatusInfo", req("running", QType.BOOL),
                req("singlestep", QType.BOOL), req("status", runState)), a -> {
                    RunState st = lc.runState().current();
                    return QmpCommands.obj("status", st.qapiName(), "singlestep", false, "running", st.isRunning());
                });
        s.action("stop", QmpCommands.NO_ARGS, a -> lc.stop());
        s.action("cont", QmpCommands.NO_ARGS, a -> lc.cont());
        s.action("system_reset", QmpCommands.NO_ARGS, a -> lc.systemReset());
        s.action("system_powerdown", QmpCommands.NO_ARGS, a -> lc.systemPowerdown());
        s.action("system_wakeup", QmpCommands.NO_ARGS, a -> lc.systemWakeup());
        s.action("quit", QmpCommands.NO_ARGS, a -> lc.quit());

        QType.Enum rebootAction = new QType.Enum("RebootAction",
                ActionSettings.names(ActionSettings.RebootAction.class));
        QType.Enum shutdownAction = new QType.Enum("ShutdownAction",
                ActionSettings.names(ActionSettings.ShutdownAction.class));
        QType.Enum panicAction = new QType.Enum("PanicAction", ActionSettings.names(ActionSettings.PanicAction.class));
        QType.Enum watchdogAction = new QType.Enum("WatchdogAction",
                ActionSettings.names(ActionSettings.WatchdogAction.class));
        s.action("set-action", QType.struct("q_obj_set-action-arg", opt("reboot", rebootAction),
                opt("shutdown", shutdownAction), opt("panic", panicAction), opt("watchdog", watchdogAction)), a -> {
                    ActionSettings cur = lc.actions();
                    if (a.get("reboot") instanceof String v) {
                        cur = cur.withReboot(ActionSettings.parse(ActionSettings.RebootAction.class, v));
                    }
                    if (a.get("shutdown") instanceof String v) {
                        cur = cur.withShutdown(ActionSettings.parse(ActionSettings.ShutdownAction.class, v));
                    }
                    if (a.get("panic") instanceof String v) {
                        cur = cur.withPanic(ActionSettings.parse(ActionSettings.PanicAction.class, v));
                    }
                    if (a.get("watchdog") instanceof String v) {
                        cur = cur.withWatchdog(ActionSettings.parse(ActionSettings.WatchdogAction.class, v));
                    }
                    lc.setActions(cur);
                });
        s.action("watchdog-set-action", QType.struct("q_obj_watchdog-set-action-arg",
                req("action", watchdogAction)), a -> lc.setActions(lc.actions().withWatchdog(
                        ActionSettings.parse(ActionSettings.WatchdogAction.class, (String) a.get("action")))));

        s.event("SHUTDOWN", QType.struct("q_obj_SHUTDOWN-arg", req("guest", QType.BOOL),
                req("reason", shutdownCause)));
        s.event("POWERDOWN", QmpCommands.NO_ARGS);
        s.event("RESET", QType.struct("q_obj_RESET-arg", req("guest", QType.BOOL), req("reason", shutdownCause)));
        s.event("STOP", QmpCommands.NO_ARGS);
        s.event("RESUME", QmpCommands.NO_ARGS);
        QType.Enum guestPanicAction = new QType.Enum("GuestPanicAction", List.of("pause", "poweroff", "run"));
        s.event("GUEST_PANICKED", QType.struct("q_obj_GUEST_PANICKED-arg", req("action", guestPanicAction)));
        s.event("WATCHDOG", QType.struct("q_obj_WATCHDOG-arg", req("action", watchdogAction)));
        s.event("GUEST_CRASHLOADED", QType.struct("q_obj_GUEST_CRASHLOADED-arg", req("action", guestPanicAction)));
        s.event("SUSPEND", QmpCommands.NO_ARGS);
        s.event("SUSPEND_DISK", QmpCommands.NO_ARGS);
        s.event("WAKEUP", QmpCommands.NO_ARGS);
    }
}
