package dev.jvmm.qmp;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * QEMU's monitor event throttling: for a rate-limited event (per key), the first goes out at once; later
 * ones within the period replace each other and the last is sent when the period ends, which starts a new
 * period. Runs on the I/O loop only (not thread-safe by design).
 */
public final class EventRateLimiter {
    /** Events QEMU throttles to one per second. */
    public static final Set<String> THROTTLED = Set.of("RTC_CHANGE", "WATCHDOG", "BALLOON_CHANGE",
            "QUORUM_REPORT_BAD", "QUORUM_FAILURE", "VSERPORT_CHANGE", "MEMORY_DEVICE_SIZE_CHANGE");

    private static final class Slot {
        Map<String, Object> pending;
        boolean timerArmed;
    }

    private final ScheduledExecutorService loop;
    private final long periodNanos;
    private final Consumer<Map<String, Object>> out;
    private final Map<String, Slot> slots = new HashMap<>();

    public EventRateLimiter(ScheduledExecutorService loop, long periodNanos, Consumer<Map<String, Object>> out) {
        this.loop = loop;
        this.periodNanos = periodNanos;
        this.out = out;
    }

    /** The throttling key: name, plus "id" for VSERPORT_CHANGE and "qom-path" for MEMORY_DEVICE_SIZE_CHANGE. */
    static String key(String name, Map<String, Object> data) {
        if (data != null && name.equals("VSERPORT_CHANGE")) {
            return name + "\0" + data.get("id");
        }
        if (data != null && name.equals("MEMORY_DEVICE_SIZE_CHANGE")) {
            return name + "\0" + data.get("qom-path");
        }
        return name;
    }

    /** Emits or holds one complete event message; call on the loop. */
    public void offer(String name, Map<String, Object> data, Map<String, Object> message) {
        if (!THROTTLED.contains(name)) {
            out.accept(message);
            return;
        }
        String k = key(name, data);
        Slot s = slots.computeIfAbsent(k, x -> new Slot());
        if (s.timerArmed) {
            s.pending = message;
            return;
        }
        out.accept(message);
        arm(k, s);
    }

    private void arm(String k, Slot s) {
        s.timerArmed = true;
        loop.schedule(() -> {
            if (s.pending != null) {
                Map<String, Object> m = s.pending;
                s.pending = null;
                out.accept(m);
                arm(k, s);
            } else {
                s.timerArmed = false;
                slots.remove(k);
            }
        }, periodNanos, TimeUnit.NANOSECONDS);
    }
}
