package dev.jvmm.core.net;

/** QEMU's NetClientDriver as far as the net layer cares: a NIC queue, a backend (netdev) queue or a hub port. */
public enum NetClientKind {
    NIC,
    NETDEV,
    HUBPORT
}
