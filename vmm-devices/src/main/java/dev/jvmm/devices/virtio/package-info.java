/**
 * Virtio 1.x devices over the modern PCI transport: {@link dev.jvmm.devices.virtio.VirtioPciTransport} (the PCI
 * function, registers, MSI-X/INTx, ioeventfd placement and the device thread), the split
 * {@link dev.jvmm.devices.virtio.VirtQueue}, and the device halves behind
 * {@link dev.jvmm.devices.virtio.VirtioDevice}: {@link dev.jvmm.devices.virtio.VirtioBlk} so far.
 */
package dev.jvmm.devices.virtio;
