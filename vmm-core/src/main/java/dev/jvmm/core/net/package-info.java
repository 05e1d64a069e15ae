/**
 * The network between NICs and backends, as QEMU's net/net.c and net/queue.c arrange it: every NIC queue,
 * backend queue and hub port is a {@link dev.jvmm.core.net.NetClient}; two clients are peers, and a frame one
 * sends is delivered to its peer or waits, bounded, in the peer's {@link dev.jvmm.core.net.NetQueue} until the
 * peer can take it. {@link dev.jvmm.core.net.NetClients} is the machine's list of them (netdev ids, NIC names,
 * hubs), which the command line, netdev_add/netdev_del, set_link, query-rx-filter and "info network" use.
 */
package dev.jvmm.core.net;
