package dev.jvmm.core.net.slirp;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.os.Poll;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One libslirp instance and the thread that owns it: QEMU's main-loop part for slirp (slirp_pollfds_fill,
 * poll, slirp_pollfds_poll), the timers libslirp asks for, frames from the NIC handed over through a bounded
 * ring and fed to slirp_input, and monitor commands run between polls. Every slirp_* call after creation runs
 * on this thread. The callback objects are fields, so JNA's native stubs stay alive as long as the instance.
 */
final class SlirpThread implements Runnable {
    /** Frames the NIC may hand over before receive answers "queued". */
    static final int HANDOFF_SLOTS = 256;
    /** The largest frame taken from the NIC (QEMU's NET_BUFSIZE). */
    static final int MAX_FRAME = 4096 + 65536;
    /** The longest sleep, so a lost wake-up costs at most this much. */
    private static final int MAX_WAIT_MS = 1000;
    private static final long COMMAND_TIMEOUT_S = 10;

    /** Where frames from libslirp go (the backend's NIC peer). */
    interface Output {
        void frameToGuest(ByteBuffer frame);

        /** The hand-off ring has room again after it was full. */
        void handoffDrained();
    }

    private static final class Timer {
        final Function callback;
        final Pointer cbOpaque;
        long expireMs = -1;

        Timer(Pointer cb, Pointer cbOpaque) {
            this.callback = Function.getFunction(cb);
            this.cbOpaque = cbOpaque;
        }
    }

    private final Output output;
    private final EventFd wake = new EventFd();
    private final Poll poll = new Poll();
    private final Memory timeoutCell = new Memory(4);
    private final Memory callbacks = new Memory((long) LibSlirp.CB_SLOTS * Native.POINTER_SIZE);
    private final Memory input = new Memory(MAX_FRAME);
    private final byte[] outArray = new byte[MAX_FRAME];
    private final ByteBuffer outBuffer = ByteBuffer.wrap(outArray);
    private final Map<Long, Timer> timers = new HashMap<>();
    private long nextTimerId = 1;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final long clockBase = System.nanoTime();

    // The hand-off ring, guarded by itself.
    private final byte[][] slots = new byte[HANDOFF_SLOTS][];
    private final int[] slotLen = new int[HANDOFF_SLOTS];
    private int head;
    private int count;
    private boolean refused;

    private final LibSlirp.SendPacketCb sendPacket = this::onSendPacket;
    private final LibSlirp.GuestErrorCb guestError = (msg, opaque) -> { };
    private final LibSlirp.ClockGetNsCb clockGetNs = opaque -> clockNs();
    private final LibSlirp.TimerNewCb timerNew = this::onTimerNew;
    private final LibSlirp.TimerFreeCb timerFree = (t, opaque) -> timers.remove(Pointer.nativeValue(t));
    private final LibSlirp.TimerModCb timerMod = this::onTimerMod;
    private final LibSlirp.PollFdCb registerPollFd = (fd, opaque) -> { };
    private final LibSlirp.PollFdCb unregisterPollFd = (fd, opaque) -> { };
    private final LibSlirp.NotifyCb notify = opaque -> { };
    private final LibSlirp.AddPollCb addPoll = this::onAddPoll;
    private final LibSlirp.GetREventsCb getRevents = this::onGetRevents;

    private Pointer slirp;
    private Thread thread;
    private volatile boolean stopping;

    SlirpThread(Output output) {
        this.output = output;
        callbacks.clear();
        LibSlirp.putCallback(callbacks, LibSlirp.CB_SEND_PACKET, sendPacket);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_GUEST_ERROR, guestError);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_CLOCK_GET_NS, clockGetNs);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_TIMER_NEW, timerNew);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_TIMER_FREE, timerFree);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_TIMER_MOD, timerMod);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_REGISTER_POLL_FD, registerPollFd);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_UNREGISTER_POLL_FD, unregisterPollFd);
        LibSlirp.putCallback(callbacks, LibSlirp.CB_NOTIFY, notify);
    }

    /** slirp_new on the calling thread, before {@link #start}; false when libslirp refused the config. */
    boolean create(SlirpSettings settings) {
        Memory cfg = new Memory(LibSlirp.CFG_SIZE);
        List<Memory> keep = new ArrayList<>();
        settings.writeConfig(cfg, keep);
        slirp = LibSlirp.slirp_new(cfg, callbacks, null);
        return slirp != null;
    }

    /** The instance, for calls made before {@link #start} or on this thread. */
    Pointer slirp() {
        return slirp;
    }

    void start(String name) {
        thread = new Thread(this, "slirp-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Runs task on the slirp thread (or here, before the thread runs) and returns its result. */
    <T> T call(Callable<T> task) throws Exception {
        Thread t = thread;
        if (stopping || slirp == null) {
            throw new IllegalStateException("the user-mode network stack is closed");
        }
        if (t == null || Thread.currentThread() == t) {
            return task.call();
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        commands.add(() -> {
            try {
                f.complete(task.call());
            } catch (Exception e) {
                f.completeExceptionally(e);
            }
        });
        wake.signal();
        try {
            return f.get(COMMAND_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        } catch (TimeoutException e) {
            throw new IllegalStateException("the user-mode network stack did not answer", e);
        }
    }

    /** Copies a frame from the NIC into the ring; false when the ring is full (the NIC's frame waits). */
    boolean handOff(ByteBuffer frame) {
        int len = frame.remaining();
        if (len > MAX_FRAME) {
            return true; // larger than any Ethernet frame slirp takes: dropped
        }
        synchronized (slots) {
            if (count == HANDOFF_SLOTS) {
                refused = true;
                return false;
            }
            int idx = (head + count) % HANDOFF_SLOTS;
            byte[] slot = slots[idx];
            if (slot == null || slot.length < len) {
                slot = new byte[Math.max(len, 2048)];
                slots[idx] = slot;
            }
            frame.duplicate().get(slot, 0, len);
            slotLen[idx] = len;
            count++;
        }
        wake.signal();
        return true;
    }

    @Override
    public void run() {
        try {
            while (!stopping) {
                poll.clear();
                poll.add(wake.fd(), Poll.POLLIN);
                timeoutCell.setInt(0, -1);
                LibSlirp.slirp_pollfds_fill(slirp, timeoutCell, addPoll, null);
                long wait = Math.min(timeoutCell.getInt(0) & 0xffffffffL, MAX_WAIT_MS);
                wait = Math.min(wait, msUntilNextTimer());
                int n = poll.poll((int) Math.max(0, wait));
                LibSlirp.slirp_pollfds_poll(slirp, n < 0 ? 1 : 0, getRevents, null);
                if (poll.revents(0) != 0) {
                    wake.drain();
                }
                Runnable cmd;
                while ((cmd = commands.poll()) != null) {
                    cmd.run();
                }
                feedInput();
                runTimers();
            }
        } finally {
            LibSlirp.slirp_cleanup(slirp);
            slirp = null;
            timers.clear();
            Runnable cmd;
            while ((cmd = commands.poll()) != null) {
                cmd.run();
            }
        }
    }

    /** Stops the thread (which frees the instance) and waits for it, boundedly. */
    void stop() {
        stopping = true;
        Thread t = thread;
        if (t == null) {
            if (slirp != null) {
                LibSlirp.slirp_cleanup(slirp);
                slirp = null;
            }
        } else {
            wake.signal();
            try {
                t.join(TimeUnit.SECONDS.toMillis(COMMAND_TIMEOUT_S));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (t == null || !t.isAlive()) {
            wake.close();
        }
    }

    private void feedInput() {
        boolean drained = false;
        while (true) {
            int len;
            synchronized (slots) {
                if (count == 0) {
                    drained = refused;
                    refused = false;
                    break;
                }
                len = slotLen[head];
                input.write(0, slots[head], 0, len);
                head = (head + 1) % HANDOFF_SLOTS;
                count--;
            }
            LibSlirp.slirp_input(slirp, input, len);
        }
        if (drained) {
            output.handoffDrained();
        }
    }

    private long clockNs() {
        return System.nanoTime() - clockBase;
    }

    private long onSendPacket(Pointer buf, long len, Pointer opaque) {
        if (len <= 0 || len > outArray.length) {
            return len;
        }
        buf.read(0, outArray, 0, (int) len);
        outBuffer.clear().limit((int) len);
        output.frameToGuest(outBuffer);
        return len;
    }

    private Pointer onTimerNew(Pointer cb, Pointer cbOpaque, Pointer opaque) {
        long id = nextTimerId++;
        timers.put(id, new Timer(cb, cbOpaque));
        return new Pointer(id);
    }

    private void onTimerMod(Pointer timer, long expireMs, Pointer opaque) {
        Timer t = timers.get(Pointer.nativeValue(timer));
        if (t != null) {
            t.expireMs = expireMs;
        }
    }

    private long msUntilNextTimer() {
        long now = clockNs() / 1_000_000;
        long best = Long.MAX_VALUE;
        for (Timer t : timers.values()) {
            if (t.expireMs >= 0) {
                best = Math.min(best, Math.max(0, t.expireMs - now));
            }
        }
        return best;
    }

    private void runTimers() {
        if (timers.isEmpty()) {
            return;
        }
        long now = clockNs() / 1_000_000;
        List<Timer> due = null;
        for (Timer t : timers.values()) {
            if (t.expireMs >= 0 && t.expireMs <= now) {
                if (due == null) {
                    due = new ArrayList<>();
                }
                due.add(t);
            }
        }
        if (due != null) {
            for (Timer t : due) {
                t.expireMs = -1;
                t.callback.invoke(Void.class, new Object[] {t.cbOpaque});
            }
        }
    }

    private int onAddPoll(int fd, int events, Pointer opaque) {
        int ev = 0;
        if ((events & LibSlirp.SLIRP_POLL_IN) != 0) {
            ev |= Poll.POLLIN;
        }
        if ((events & LibSlirp.SLIRP_POLL_OUT) != 0) {
            ev |= Poll.POLLOUT;
        }
        if ((events & LibSlirp.SLIRP_POLL_PRI) != 0) {
            ev |= Poll.POLLPRI;
        }
        return poll.add(fd, ev);
    }

    private int onGetRevents(int idx, Pointer opaque) {
        int r = poll.revents(idx);
        int ev = 0;
        if ((r & Poll.POLLIN) != 0) {
            ev |= LibSlirp.SLIRP_POLL_IN;
        }
        if ((r & Poll.POLLOUT) != 0) {
            ev |= LibSlirp.SLIRP_POLL_OUT;
        }
        if ((r & Poll.POLLPRI) != 0) {
            ev |= LibSlirp.SLIRP_POLL_PRI;
        }
        if ((r & (Poll.POLLERR | Poll.POLLNVAL)) != 0) {
            ev |= LibSlirp.SLIRP_POLL_ERR;
        }
        if ((r & Poll.POLLHUP) != 0) {
            ev |= LibSlirp.SLIRP_POLL_HUP;
        }
        return ev;
    }
}
