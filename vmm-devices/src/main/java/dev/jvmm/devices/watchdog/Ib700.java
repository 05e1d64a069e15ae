package dev.jvmm.devices.watchdog;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

/**
 * IB700 single-board-computer watchdog (register description: Linux ib700wdt.c header; the board manual is not
 * public) as QEMU 7.2's ib700 models it: a write to {@link #ENABLE_PORT} (or the byte after it) arms the timer with the period its low
 * four bits select from {@link #TIMEOUT_SECONDS}; a write to {@link #DISABLE_PORT} (or the byte after it)
 * disarms it. Reads return all ones, as from an empty port. On expiry the machine's watchdog action runs
 * once and the timer stays disarmed. Guest time only: the timer does not run while the VM is paused.
 */
public final class Ib700 implements IoHandler, Saveable {
    /** QEMU's ib700: an ISA device with no properties of its own. */
    public static final TypeInfo TYPE = TypeInfo.type("ib700", "isa-device").category("Watchdog").description("iBASE 700").build();

    /**
     * Expiry goes to the machine's watchdog action; the machine's reset disarms it. QEMU accepts a second
     * ib700 on the same ports, where only the first decodes; so here.
     */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        boolean first = where.model().devices().stream().noneMatch(d -> d.type().equals(TYPE.name()));
        Ib700 dev = new Ib700(ctx.clock(), () -> WatchdogAction.expired(ctx));
        if (first) {
            dev.attach(ctx.pio());
        }
        return new Realized<>(dev, dev::reset, () -> { });
    });

    /** Write: disarm (the driver's WDT_STOP port). */
    public static final int DISABLE_PORT = 0x441;
    /** Write: arm or re-arm with the period selected by bits 3:0 (the driver's WDT_START port: arm or refresh). */
    public static final int ENABLE_PORT = 0x443;
    /** Each port answers at its address and the next, as in QEMU's port list. */
    public static final int PORT_WIDTH = 2;
    /** Seconds for each value of bits 3:0 written to the enable port (the board's timeout table). */
    static final int[] TIMEOUT_SECONDS = {30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0};
    static final int TIMEOUT_MASK = 0xf;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final VirtualClock clock;
    private final VirtualClock.Timer timer;
    private final Runnable expired;

    /** expired runs (on the clock's executor) each time the armed period of guest time passes unrefreshed. */
    public Ib700(VirtualClock clock, Runnable expired) {
        this.clock = clock;
        this.timer = clock.newTimer(this::timerExpired);
        this.expired = expired;
    }

    /** QEMU: the action, then the timer stays disarmed. A refresh or disarm racing with it wins. */
    private void timerExpired() {
        synchronized (this) {
            if (!timer.claimExpiry()) {
                return;
            }
        }
        expired.run();
    }

    public void attach(PioBus bus) {
        bus.register(DISABLE_PORT, ENABLE_PORT + PORT_WIDTH - DISABLE_PORT, this);
    }

    /** The guest time the watchdog fires at, or -1 when disarmed. */
    public long deadline() {
        return timer.deadline();
    }

    public static long timeoutNanos(int value) {
        return TIMEOUT_SECONDS[value & TIMEOUT_MASK] * NANOS_PER_SECOND;
    }

    @Override
    public long read(long offset, int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    /** A wider access is split into byte accesses, lowest address first, as QEMU's byte-wide ports are. */
    @Override
    public synchronized void write(long offset, int size, long value) {
        for (int i = 0; i < size && offset + i < ENABLE_PORT + PORT_WIDTH - DISABLE_PORT; i++) {
            int port = (int) (DISABLE_PORT + offset + i);
            if (port >= ENABLE_PORT) {
                timer.modIn(timeoutNanos((int) (value >>> (8 * i))));
            } else {
                timer.cancel();
            }
        }
    }

    /** Machine reset: disarmed. */
    public synchronized void reset() {
        timer.cancel();
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** The countdown, as guest time left: it goes on from there against the restoring machine's clock. */
    @Override
    public synchronized void saveState(StateWriter w) {
        long deadline = timer.deadline();
        w.bool("armed", deadline >= 0);
        w.u64("remaining-ns", deadline >= 0 ? Math.max(0, deadline - clock.nanos()) : 0);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        boolean armed = r.bool("armed");
        long remaining = r.u64("remaining-ns", 0, armed ? timeoutNanos(0) : 0);
        if (armed) {
            timer.modIn(remaining);
        } else {
            timer.cancel();
        }
    }
}
