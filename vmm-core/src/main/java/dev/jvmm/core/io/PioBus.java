package dev.jvmm.core.io;

import java.util.Arrays;

/**
 * The x86 I/O port space (64 KiB of ports). Lookup is a single array index so a port exit costs no
 * search and no allocation. Unassigned ports read as all ones and ignore writes, as on a PC.
 */
public final class PioBus {
    private static final int PORTS = 0x10000;

    private final IoHandler[] handlers = new IoHandler[PORTS];
    private final int[] bases = new int[PORTS];

    /** Assigns [base, base+length) to handler; fails if any port is taken. */
    public synchronized void register(int base, int length, IoHandler handler) {
        if (base < 0 || length <= 0 || base + length > PORTS) {
            throw new IllegalArgumentException(String.format("bad port range 0x%x+%d", base, length));
        }
        for (int p = base; p < base + length; p++) {
            if (handlers[p] != null) {
                throw new IllegalStateException(String.format("I/O port 0x%x is already assigned", p));
            }
        }
        for (int p = base; p < base + length; p++) {
            handlers[p] = handler;
            bases[p] = base;
        }
    }

    /** Releases every port owned by handler in [base, base+length). */
    public synchronized void unregister(int base, int length, IoHandler handler) {
        for (int p = Math.max(0, base); p < Math.min(PORTS, base + length); p++) {
            if (handlers[p] == handler) {
                handlers[p] = null;
            }
        }
    }

    public boolean isAssigned(int port) {
        return handlers[port & 0xffff] != null;
    }

    public long read(int port, int size) {
        int p = port & 0xffff;
        IoHandler h = handlers[p];
        if (h == null) {
            return size >= 8 ? -1L : (1L << (size * 8)) - 1;
        }
        return h.read(p - bases[p], size);
    }

    public void write(int port, int size, long value) {
        int p = port & 0xffff;
        IoHandler h = handlers[p];
        if (h != null) {
            h.write(p - bases[p], size, value);
        }
    }

    /** Number of assigned ports, for diagnostics. */
    public synchronized int assignedCount() {
        return (int) Arrays.stream(handlers).filter(h -> h != null).count();
    }
}
