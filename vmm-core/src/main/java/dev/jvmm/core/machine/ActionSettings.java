package dev.jvmm.core.machine;

import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's -action / set-action settings (qapi/run-state.json). Defaults are QEMU 7.2's: reboot=reset,
 * shutdown=poweroff, panic=shutdown, watchdog=reset. -no-reboot is reboot=shutdown; -no-shutdown is
 * shutdown=pause.
 */
public record ActionSettings(RebootAction reboot, ShutdownAction shutdown, PanicAction panic,
        WatchdogAction watchdog) {

    /** What a guest reset request does. */
    public enum RebootAction implements QapiEnum {
        RESET("reset"), SHUTDOWN("shutdown");

        private final String qapiName;

        RebootAction(String n) {
            qapiName = n;
        }

        public String qapiName() {
            return qapiName;
        }
    }

    /** What a shutdown request does. */
    public enum ShutdownAction implements QapiEnum {
        POWEROFF("poweroff"), PAUSE("pause");

        private final String qapiName;

        ShutdownAction(String n) {
            qapiName = n;
        }

        public String qapiName() {
            return qapiName;
        }
    }

    /** What a guest panic does. */
    public enum PanicAction implements QapiEnum {
        PAUSE("pause"), SHUTDOWN("shutdown"), EXIT_FAILURE("exit-failure"), NONE("none");

        private final String qapiName;

        PanicAction(String n) {
            qapiName = n;
        }

        public String qapiName() {
            return qapiName;
        }
    }

    /** What a watchdog expiry does (QEMU's WatchdogAction). */
    public enum WatchdogAction implements QapiEnum {
        RESET("reset"), SHUTDOWN("shutdown"), POWEROFF("poweroff"), PAUSE("pause"), DEBUG("debug"), NONE("none"),
        INJECT_NMI("inject-nmi");

        private final String qapiName;

        WatchdogAction(String n) {
            qapiName = n;
        }

        public String qapiName() {
            return qapiName;
        }
    }

    /** An enum spelled on the wire by its QAPI name. */
    public interface QapiEnum {
        String qapiName();
    }

    public static ActionSettings defaults() {
        return new ActionSettings(RebootAction.RESET, ShutdownAction.POWEROFF, PanicAction.SHUTDOWN,
                WatchdogAction.RESET);
    }

    public ActionSettings withReboot(RebootAction a) {
        return new ActionSettings(a, shutdown, panic, watchdog);
    }

    public ActionSettings withShutdown(ShutdownAction a) {
        return new ActionSettings(reboot, a, panic, watchdog);
    }

    public ActionSettings withPanic(PanicAction a) {
        return new ActionSettings(reboot, shutdown, a, watchdog);
    }

    public ActionSettings withWatchdog(WatchdogAction a) {
        return new ActionSettings(reboot, shutdown, panic, a);
    }

    /** The wire names of an enum's values, in declaration order (for schemas). */
    public static List<String> names(Class<? extends Enum<? extends QapiEnum>> type) {
        List<String> out = new ArrayList<>();
        for (Enum<? extends QapiEnum> e : type.getEnumConstants()) {
            out.add(((QapiEnum) e).qapiName());
        }
        return out;
    }

    /** Looks a value up by wire name; null when unknown. */
    public static <E extends Enum<E> & QapiEnum> E parse(Class<E> type, String name) {
        for (E e : type.getEnumConstants()) {
            if (e.qapiName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /**
     * Applies one -action option value ("reboot=shutdown,panic=pause"), as QEMU's -action does.
     *
     * @throws IllegalArgumentException with QEMU-like text for an unknown key or value
     */
    public ActionSettings applyOption(String value) {
        ActionSettings s = this;
        for (String part : value.split(",")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("Invalid parameter '" + part + "'");
            }
            String key = part.substring(0, eq);
            String v = part.substring(eq + 1);
            s = switch (key) {
                case "reboot" -> s.withReboot(require(RebootAction.class, key, v));
                case "shutdown" -> s.withShutdown(require(ShutdownAction.class, key, v));
                case "panic" -> s.withPanic(require(PanicAction.class, key, v));
                case "watchdog" -> s.withWatchdog(require(WatchdogAction.class, key, v));
                default -> throw new IllegalArgumentException("Invalid parameter '" + key + "'");
            };
        }
        return s;
    }

    private static <E extends Enum<E> & QapiEnum> E require(Class<E> type, String key, String v) {
        E e = parse(type, v);
        if (e == null) {
            throw new IllegalArgumentException("Parameter '" + key + "' does not accept value '" + v + "'");
        }
        return e;
    }
}
