/**
 * Network interface cards: QEMU 7.2's virtio-net-pci ({@link dev.jvmm.devices.net.VirtioNetPci} over the
 * device half {@link dev.jvmm.devices.net.VirtioNet}), whose queue pairs are
 * {@link dev.jvmm.core.net.NicClient}s peered with a netdev's queues.
 */
package dev.jvmm.devices.net;
