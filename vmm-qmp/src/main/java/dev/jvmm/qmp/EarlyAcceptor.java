package dev.jvmm.qmp;

import java.util.List;

/**
 * How {@link EarlyQmpListener}'s thread opens the QMP sockets, accepts and greets: with the JDK's own UNIX
 * sockets ({@link JdkEarlyAcceptor}, which needs nothing loaded but the JDK) or with libc through JNA
 * ({@link NativeEarlyAcceptor}, which also serves an inherited fd=N socket).
 */
interface EarlyAcceptor {
    /** Opens every endpoint (on the early thread); false when one cannot be opened, with nothing left open. */
    boolean open();

    /** Accepts and greets until {@link #stop}. */
    void acceptLoop();

    /** Ends {@link #acceptLoop} soon; from another thread. */
    void stop();

    /** After the loop: the listening sockets and greeted clients, as descriptors the caller now owns. */
    List<EarlyQmpListener.Listener> takeOver();

    /** After the loop, instead of {@link #takeOver}: clients and listeners closed, socket files removed. */
    void closeAll();
}
