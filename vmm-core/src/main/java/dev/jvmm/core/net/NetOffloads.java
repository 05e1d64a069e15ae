package dev.jvmm.core.net;

/**
 * The offloads a NIC asks a vnet-header backend to accept (QEMU's qemu_set_offload, TUNSETOFFLOAD's
 * TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_UFO).
 */
public record NetOffloads(boolean csum, boolean tso4, boolean tso6, boolean ecn, boolean ufo) {
    public static final NetOffloads NONE = new NetOffloads(false, false, false, false, false);
}
