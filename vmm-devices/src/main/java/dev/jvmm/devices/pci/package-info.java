/**
 * QEMU's i440FX/PIIX3 PCI bus for the {@code pc} machine, set up firmware-less the way SeaBIOS leaves it.
 *
 * <p>Wiring, in this order:
 * <pre>{@code
 * PciInterruptRouter router = new PciInterruptRouter(irqController::line);   // ISA IRQ n = GSI n
 * PciBus bus = new PciBus(router, BarMapper.of(pio, mmio));
 * new PciHostBridge(bus).attach(pio);                                         // 0xcf8, 0xcfa-0xcfb, 0xcfc-0xcff
 * I440fxHostBridge i440fx = new I440fxHostBridge(ramBytes);
 * Piix3IsaBridge piix3 = new Piix3IsaBridge(router, resetRequest);
 * piix3.attach(pio);                                                          // RCR at 0xcf9
 * bus.add(0, 0, i440fx);
 * bus.add(1, 0, piix3);
 * bus.add(1, 3, piix4Pm);                                                     // other functions likewise
 * // firmware-less boot (and again after every system reset, after bus.reset()):
 * i440fx.applyFirmwareState();
 * piix3.programFirmwareRoutes();                                              // PIRQA-D -> 10, 10, 11, 11
 * bus.assignResources();                                                      // BARs, COMMAND, INTERRUPT_LINE
 * }</pre>
 *
 * <p>A device is a {@link dev.jvmm.devices.pci.PciFunction} over a {@link dev.jvmm.devices.pci.PciConfigSpace}:
 * it declares BARs with {@code PciConfigSpace.addBar(PciBar)} and returns them from {@code bars()}; the bus
 * registers each BAR's handler on the port or MMIO bus whenever COMMAND and the BAR register decode it.
 * Functions with a non-zero interrupt pin get an {@link dev.jvmm.devices.pci.IntxLine} through
 * {@code connectIntx} and drive it with {@code setLevel}.
 */
package dev.jvmm.devices.pci;
