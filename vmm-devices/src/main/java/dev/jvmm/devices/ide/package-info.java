/**
 * IDE for QEMU's {@code pc} machine: the PIIX3 IDE function, two ATA channels, hard disks and a DVD-ROM
 * drive with a tray.
 *
 * <p>Wiring:
 * <pre>{@code
 * Piix3Ide ide = new Piix3Ide(memory, isaIrq(14), isaIrq(15));
 * ide.attach(pio);                                           // 0x1f0-0x1f7, 0x3f6, 0x170-0x177, 0x376
 * pciBus.add(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION, ide);   // 00:01.1, BAR4 = bus master registers
 * ide.bus(0).attach(0, new AtaDrive(hdaBackend, "QM00001", null, true));   // -hda: ide0-hd0
 * AtapiCdrom cd = new AtapiCdrom(isoBackendOrNull, "QM00003");            // -cdrom: ide1-cd0
 * ide.bus(1).attach(0, cd);
 * cd.setTrayListener(open -> events.publish(trayMoved("ide1-cd0", qdevId, open)));
 * // QMP eject / blockdev-open-tray / -close-tray / -remove-medium / -insert-medium: RemovableMedia on cd
 * }</pre>
 * Machine reset is {@code PciBus.reset()}, which calls {@link dev.jvmm.devices.ide.Piix3Ide#reset()}.
 */
package dev.jvmm.devices.ide;
