package dev.jvmm.core.io;

/**
 * A device's view of one port or MMIO range. Called on a vCPU thread, synchronously, for every access,
 * so implementations must not block on I/O and should not allocate.
 * Offsets are relative to the start of the registered range; sizes are 1, 2, 4 or 8 bytes.
 */
public interface IoHandler {
    /** Returns the value read, zero-extended; only the low {@code size} bytes are used. */
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
