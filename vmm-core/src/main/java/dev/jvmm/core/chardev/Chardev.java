package dev.jvmm.core.chardev;

/**
 * A character device backend (QEMU's -chardev): a byte stream between a frontend device (a UART, a
 * virtio-serial port, a monitor) and the host.
 */
public interface Chardev extends AutoCloseable {
    /** Receives host-side input; called on the backend's I/O thread. */
    @FunctionalInterface
    interface Receiver {
        void receive(byte[] data, int offset, int length);
    }

    String id();

    /** Sends bytes to the host side. Never blocks the caller for long; a slow host side may lose data only where QEMU would. */
    void write(byte[] data, int offset, int length);

    default void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /** Attaches the frontend that receives host input; input that arrives with no receiver is dropped. */
    void setReceiver(Receiver receiver);

    /** Whether a host peer is connected (always true for backends without connections). */
    default boolean isConnected() {
        return true;
    }

    /**
     * Output backpressure: false while output already handed to {@link #write} waits for a slow host peer
     * (a socket whose reader lags). A frontend that must lose nothing stops writing until the hook given
     * to {@link #setWritableHook} runs. Backends that never hold output back are always writable.
     */
    default boolean isWritable() {
        return true;
    }

    /** The hook runs (on the backend's thread, any time) when {@link #isWritable()} turns true again. */
    default void setWritableHook(Runnable hook) {
    }

    /**
     * QEMU's CHR_EVENT_OPENED/CLOSED: the listener hears true when a host peer connects and false when it
     * leaves (backend thread). Backends without connections never call it.
     */
    default void setConnectionListener(java.util.function.Consumer<Boolean> listener) {
    }

    /** QEMU's query-chardev "filename" for this backend, e.g. "stdio", "unix:/path,server=on". */
    String describe();

    @Override
    void close();
}
