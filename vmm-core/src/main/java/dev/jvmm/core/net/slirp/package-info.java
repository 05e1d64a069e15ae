/**
 * -netdev user: QEMU's user-mode networking (net/slirp.c) on libslirp 4.7 through JNA. One thread per backend
 * owns its Slirp instance; {@link dev.jvmm.core.net.slirp.UserNetdev#FACTORY} makes the backend, which also
 * serves HMP hostfwd_add and hostfwd_remove ({@link dev.jvmm.core.net.HostForwards}).
 */
package dev.jvmm.core.net.slirp;
