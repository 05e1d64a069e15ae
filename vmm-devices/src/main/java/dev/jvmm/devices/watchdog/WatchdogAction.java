package dev.jvmm.devices.watchdog;

import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.devices.model.DeviceContext;

/** What a watchdog's expiry and notices do on the machine (QEMU's watchdog_perform_action, error_report). */
final class WatchdogAction {
    private WatchdogAction() {
    }

    /** WATCHDOG and the -watchdog-action, through the lifecycle policy; "debug" also prints QEMU's line. */
    static void expired(DeviceContext ctx) {
        ctx.lifecycle().requestWatchdogExpiry();
        if (ctx.lifecycle().actions().watchdog() == ActionSettings.WatchdogAction.DEBUG) {
            notice(ctx, "watchdog: timer fired");
        }
    }

    static void notice(DeviceContext ctx, String line) {
        ctx.err().println(line);
        ctx.err().flush();
    }
}
