/**
 * -netdev tap: QEMU's net/tap.c and tap-linux.c on /dev/net/tun, one {@link dev.jvmm.core.net.tap.TapNetdev}
 * per queue with its reader thread; vnet-header negotiation for virtio-net; ifname=/script= and fd=/fds=.
 */
package dev.jvmm.core.net.tap;
