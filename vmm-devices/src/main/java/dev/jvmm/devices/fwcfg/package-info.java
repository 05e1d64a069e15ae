/**
 * QEMU's firmware configuration interface for the pc machine (QEMU docs/specs/fw_cfg.rst): the content
 * ({@link dev.jvmm.devices.fwcfg.FwCfgItems}), the I/O-port device with DMA ({@link
 * dev.jvmm.devices.fwcfg.FwCfgIo}) and the "etc/table-loader" command encoder ({@link
 * dev.jvmm.devices.fwcfg.BiosLinkerLoader}).
 *
 * <p>Wiring, as a machine does it: {@code FwCfgItems items = FwCfgItems.pc(settings)} (or {@code new
 * FwCfgItems()} and {@code add}/{@code addFile}), the ACPI files from {@code
 * AcpiTables.firmwareFiles(cfg)} added under their names, then {@code new FwCfgIo(items,
 * guestMemory).attach(pioBus)}, and {@code reset()} on every machine reset.
 */
package dev.jvmm.devices.fwcfg;
