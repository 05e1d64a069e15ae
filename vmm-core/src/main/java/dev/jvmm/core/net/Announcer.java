package dev.jvmm.core.net;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * announce-self's timers (QEMU's net/announce.c): each round every NIC (or those named) announces itself,
 * the first round at once, the next after initial ms, each later one step ms longer, at most max ms apart.
 * A new request with the same id replaces the running one, as QEMU's named timers do.
 */
public final class Announcer {
    /**
     * QAPI's AnnounceParameters.
     *
     * @param interfaces the NIC names to announce, or null for all
     * @param id         the timer's name, or null for the unnamed one
     */
    public record Parameters(long initial, long max, long rounds, long step, List<String> interfaces, String id) {
    }

    private final NetClients net;
    private final ScheduledExecutorService timers;
    /** Per timer name, the request now running (a replaced request's late round sees it is not its own). */
    private final Map<String, Object> current = new HashMap<>();
    private final Map<String, ScheduledFuture<?>> running = new HashMap<>();

    public Announcer(NetClients net, ScheduledExecutorService timers) {
        this.net = net;
        this.timers = timers;
    }

    /** qemu_announce_self: resets the timer named p.id() and runs the first round now. */
    public void announce(Parameters p) {
        String key = p.id() == null ? "" : p.id();
        Object token = new Object();
        synchronized (running) {
            current.put(key, token);
            ScheduledFuture<?> old = running.remove(key);
            if (old != null) {
                old.cancel(false);
            }
        }
        if (p.rounds() > 0) {
            round(p, key, token, p.rounds());
        }
    }

    /** qemu_announce_self_once: one round, then the next one's timer while rounds remain. */
    private void round(Parameters p, String key, Object token, long remaining) {
        synchronized (running) {
            if (current.get(key) != token) {
                return;
            }
        }
        announceNics(net, p.interfaces());
        long left = remaining - 1;
        synchronized (running) {
            if (current.get(key) != token) {
                return;
            }
            if (left <= 0) {
                running.remove(key);
                current.remove(key);
                return;
            }
            running.put(key, timers.schedule(() -> round(p, key, token, left), delay(p, left),
                    TimeUnit.MILLISECONDS));
        }
    }

    /** qemu_announce_timer_step: initial + (rounds - round - 1) * step, max when that is negative or above it. */
    static long delay(Parameters p, long round) {
        long d = p.initial() + (p.rounds() - round - 1) * p.step();
        if (d < 0 || d > p.max()) {
            d = p.max();
        }
        return Math.max(0, d);
    }

    /** qemu_announce_self_iter over every NIC (queue 0), or only the NICs named in interfaces. */
    public static void announceNics(NetClients net, List<String> interfaces) {
        for (NetClient c : net.all()) {
            if (c instanceof NicClient nic && c.queueIndex() == 0
                    && (interfaces == null || interfaces.contains(c.name()))) {
                nic.announce();
            }
        }
    }

    /** Stops every timer (the machine exits). */
    public void close() {
        synchronized (running) {
            running.values().forEach(f -> f.cancel(false));
            running.clear();
            current.clear();
        }
    }
}
