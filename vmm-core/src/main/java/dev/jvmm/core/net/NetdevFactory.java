package dev.jvmm.core.net;

/** Makes one backend type from its options (QEMU's net_client_init_fun table). */
@FunctionalInterface
public interface NetdevFactory {
    /**
     * Builds the backend named opts.id(); throws with QEMU's message when the options are wrong or the host
     * refuses (no such interface, address in use...). Nothing is left open on failure.
     */
    Netdev create(NetdevOptions opts, NetdevContext ctx) throws NetdevException;
}
