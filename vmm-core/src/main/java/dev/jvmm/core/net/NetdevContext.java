package dev.jvmm.core.net;

import dev.jvmm.core.event.EventBus;

/** What a backend may use of the machine while it is made. */
public interface NetdevContext {
    EventBus events();

    /**
     * QEMU's monitor_fd_param: fd= given as a name the monitor holds (getfd; the descriptor is taken from the
     * monitor) or as a number the process inherited. Throws with QEMU's message otherwise.
     */
    int fd(String nameOrNumber) throws NetdevException;

    /** The machine's net clients: a hub port finds its hub and its netdev= peer here. */
    default NetClients net() {
        throw new UnsupportedOperationException("no net clients in this context");
    }
}
