package dev.jvmm.devices.timer;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.devices.Qtest;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * One HPET under test with its guest clock and GSI lines recorded as qtest reports them ("IRQ raise n" on a
 * change of level only), and the script language both sides run: "readl ADDR", "writel ADDR VALUE", the
 * same with b, w and q, "sleep MS" in host milliseconds, and "~readl ADDR" for a read whose value depends on
 * time and is not recorded.
 */
final class HpetRig implements AutoCloseable {
    final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    final VirtualClock clock = new VirtualClock(System::nanoTime, executor);
    final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final boolean[] levels = new boolean[32];
    final Hpet hpet;
    final java.util.Map<Long, Integer> memory = new java.util.concurrent.ConcurrentHashMap<>();

    /** Without a PIT behind the HPET's PIT input (QEMU's -machine pit=off). */
    HpetRig() {
        this(false);
    }

    /** With pit, QEMU's user-space PIT after reset: its output is high, and it drives it again when enabled. */
    HpetRig(boolean pit) {
        this(pit, Hpet.MIN_TIMERS, Hpet.PC_INT_ROUTE_CAP, false);
    }

    /** A block with these settings; FSB messages land in {@link #memory}, which reads outside the block see. */
    HpetRig(boolean pit, int timers, int intcap, boolean msi) {
        hpet = new Hpet(clock, this::line, timers, intcap, msi);
        hpet.setFsbDelivery((address, value) -> memory.put(address, value));
        if (pit) {
            attachPit();
        }
    }

    private void attachPit() {
        IrqLine pit = hpet.pitInput();
        hpet.setLegacyRouting(enabled -> {
            if (enabled) {
                pit.setLevel(true);
            }
        });
    }

    private IrqLine line(int n) {
        return high -> {
            synchronized (levels) {
                if (levels[n] != high) {
                    levels[n] = high;
                    events.add("IRQ " + (high ? "raise " : "lower ") + n);
                }
            }
        };
    }

    /** The events of the script on our device, in order. */
    List<String> run(List<String> script) throws InterruptedException {
        for (String cmd : script) {
            String[] f = cmd.split(" ");
            if (f[0].equals("sleep")) {
                Thread.sleep(Long.parseLong(f[1]));
                settle();
                continue;
            }
            boolean hidden = f[0].startsWith("~");
            String op = hidden ? f[0].substring(1) : f[0];
            long off = parse(f[1]) - Hpet.HPET_BASE;
            int size = size(op);
            if (off < 0 || off >= Hpet.HPET_LEN) {
                // Guest RAM, where FSB messages go: dwords only.
                if (!hidden) {
                    events.add(cmd + " = 0x" + Integer.toHexString(memory.getOrDefault(parse(f[1]), 0)));
                }
                continue;
            }
            if (op.startsWith("read")) {
                long v = hpet.read(off, size);
                if (!hidden) {
                    events.add(cmd + " = 0x" + Long.toHexString(size == 8 ? v : v & ((1L << (8 * size)) - 1)));
                }
            } else {
                hpet.write(off, size, parse(f[2]));
            }
        }
        synchronized (events) {
            return new ArrayList<>(events);
        }
    }

    /**
     * Lets expiries that are due run, however loaded the host: a task queued now runs after every one due
     * before it, and the expiries those re-arm a few microseconds on are due before the next round.
     */
    private void settle() throws InterruptedException {
        for (int round = 0; round < 3; round++) {
            try {
                executor.submit(() -> { }).get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException(e);
            }
            Thread.sleep(5);
        }
    }

    /** The events of the script on QEMU, in order. */
    static List<String> run(Qtest qemu, List<String> script) throws IOException, InterruptedException {
        List<String> out = new ArrayList<>();
        for (String cmd : script) {
            if (cmd.startsWith("sleep ")) {
                Thread.sleep(Long.parseLong(cmd.substring(6)));
                continue;
            }
            boolean hidden = cmd.startsWith("~");
            String v = qemu.command(hidden ? cmd.substring(1) : cmd);
            out.addAll(qemu.takeIrqEvents());
            if (cmd.startsWith("read")) {
                out.add(cmd + " = 0x" + Long.toHexString(parse(v)));
            }
        }
        out.addAll(qemu.takeIrqEvents());
        return out;
    }

    static int size(String op) {
        return switch (op.charAt(op.length() - 1)) {
            case 'b' -> 1;
            case 'w' -> 2;
            case 'q' -> 8;
            default -> 4;
        };
    }

    /** A hexadecimal "0x..." (all 64 bits) or decimal number. */
    static long parse(String s) {
        return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    @Override
    public void close() {
        hpet.close();
        executor.shutdownNow();
    }
}
