package dev.jvmm.core.chardev;

/**
 * Delivers bytes read by a dedicated reader thread to the frontend, waiting (not dropping) while a
 * flow-controlled frontend has no room. Used by the stdio and pty backends.
 */
final class BlockingInput {
    /** Upper bound on one wait, so a lost wake-up can only delay input, never stall it. */
    private static final long MAX_WAIT_MS = 50;

    private final Object lock = new Object();
    private boolean ready;

    /** Called from the frontend's hook: room is available again. */
    void signal() {
        synchronized (lock) {
            ready = true;
            lock.notifyAll();
        }
    }

    /**
     * Hands data to the receiver supplied by the backend, blocking while it can't take any. Input
     * arriving while no frontend is attached is dropped, as the Chardev contract says.
     */
    void deliver(AbstractChardev dev, byte[] data, int offset, int length) throws InterruptedException {
        while (length > 0) {
            Chardev.Receiver r = dev.receiver();
            if (r == null) {
                return;
            }
            if (!(r instanceof FlowControlledReceiver f)) {
                r.receive(data, offset, length);
                return;
            }
            synchronized (lock) {
                ready = false;
            }
            int n = f.canReceive();
            if (n <= 0) {
                synchronized (lock) {
                    if (!ready) {
                        lock.wait(MAX_WAIT_MS);
                    }
                }
                continue;
            }
            n = Math.min(n, length);
            f.receive(data, offset, n);
            offset += n;
            length -= n;
        }
    }
}
