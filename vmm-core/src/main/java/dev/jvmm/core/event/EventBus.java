package dev.jvmm.core.event;

import java.time.Instant;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Carries {@link VmEvent}s from devices and the machine to subscribers (the QMP server). Each event is
 * stamped with the host clock when published, as QEMU stamps events when they are emitted.
 */
public final class EventBus {
    /** Receives events on the publishing thread; must return quickly and never block. */
    @FunctionalInterface
    public interface Subscriber {
        void onEvent(VmEvent event, long epochMicros);
    }

    private final CopyOnWriteArrayList<Subscriber> subscribers = new CopyOnWriteArrayList<>();

    public void subscribe(Subscriber s) {
        subscribers.add(s);
    }

    public void unsubscribe(Subscriber s) {
        subscribers.remove(s);
    }

    public void publish(VmEvent event) {
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
        for (Subscriber s : subscribers) {
            s.onEvent(event, micros);
        }
    }
}
