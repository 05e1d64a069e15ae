/**
 * IDE for QEMU's {@code pc} machine: the PIIX3 IDE function, two ATA channels with bus-master DMA, hard disks
 * ({@link dev.jvmm.devices.ide.AtaDrive}, QEMU's ide-hd) and a DVD-ROM drive with a tray
 * ({@link dev.jvmm.devices.ide.AtapiCdrom}, QEMU's ide-cd).
 *
 * <p>Wiring:
 * <pre>{@code
 * Piix3Ide ide = new Piix3Ide(memory, isaIrq(14), isaIrq(15));
 * ide.attach(pio);                                           // 0x1f0-0x1f7, 0x3f6, 0x170-0x177, 0x376
 * pciBus.add(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION, ide);   // 00:01.1; BAR4 (bus master) placed by the bus
 * ide.bus(0).attach(0, new AtaDrive(hda, IdeDevice.defaultSerial(0, 0), null, writeCache)); // ide0-hd0
 * AtapiCdrom cd = new AtapiCdrom(cdDrive, IdeDevice.defaultSerial(1, 0)); // cdDrive may have no medium
 * ide.bus(1).attach(0, cd);
 * graph.attachAuto(cdDrive, qdev, qomPath, cd);              // the block layer asks the tray through cd
 * }</pre>
 * The CD-ROM is the block layer's {@link dev.jvmm.core.block.RemovableMediaDevice}: QMP's eject and
 * blockdev-*-tray/-medium commands run in the block graph, which swaps the drive's medium and asks the
 * device to move its tray; a guest's START STOP UNIT reports through the drive's guestTrayMoved.
 * Machine reset is {@code PciBus.reset()}, which calls {@link dev.jvmm.devices.ide.Piix3Ide#reset()}.
 *
 * <p>Requests run synchronously on the thread that makes the port access (the vCPU) or, for a request
 * kept by the "stop" error policy, on the thread running the backend's retry handler; each channel's
 * {@link dev.jvmm.devices.ide.IdeBus} is the lock.
 */
package dev.jvmm.devices.ide;
