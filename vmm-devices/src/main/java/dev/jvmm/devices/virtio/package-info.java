/**
 * Virtio 1.x devices over the modern PCI transport, laid out and behaving as QEMU 7.2's
 * {@code virtio-*-pci,disable-legacy=on}.
 *
 * <ul>
 *   <li>{@link dev.jvmm.devices.virtio.VirtioPciTransport}: the PCI function (config space, capabilities,
 *       BAR1 MSI-X, BAR4 virtio structures), feature negotiation, status, queue registers, interrupts
 *       (MSI-X through {@link dev.jvmm.core.irq.MsiRouter}, else INTx with the ISR register), ioeventfd
 *       placement through {@link dev.jvmm.core.io.IoEventRegistry}, and the device thread.</li>
 *   <li>{@link dev.jvmm.devices.virtio.VirtQueue}: a split virtqueue; {@link dev.jvmm.devices.virtio.DescriptorChain}
 *       the chain it pops, already checked against guest RAM.</li>
 *   <li>{@link dev.jvmm.devices.virtio.VirtioDevice}: the device-type half (block now; console and balloon
 *       later), given a {@link dev.jvmm.devices.virtio.VirtioHost} by the transport.</li>
 *   <li>{@link dev.jvmm.devices.virtio.VirtioBlk}: virtio-blk over a {@link dev.jvmm.core.block.BlockBackend}.</li>
 * </ul>
 *
 * <p>Threads: register accesses run on the vCPU thread under the transport's lock; queue kicks only signal
 * an eventfd (KVM does it without an exit once DRIVER_OK registered the ioeventfd). One daemon thread per
 * device ({@code virtio-blk-<id>}) sleeps in poll(2) on those eventfds and runs requests synchronously, in
 * ring order. A reset (status 0, queue reset, machine reset) waits for the request in progress to finish, so
 * nothing touches guest memory once the driver reads status 0. A malformed ring or chain marks the device
 * broken as QEMU's virtio_error does (DEVICE_NEEDS_RESET, configuration interrupt, nothing more until reset).
 *
 * <p>Wiring: the device model creates virtio-blk-pci through {@link dev.jvmm.devices.virtio.VirtioBlkPci#CLASS}
 * ({@code new VirtioPciTransport(mem, new VirtioBlk(drive, options), msi, ioevents, id)} plugged into pci.0);
 * the device's {@code close()} closes the transport at teardown.
 */
package dev.jvmm.devices.virtio;
