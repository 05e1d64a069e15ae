/**
 * ACPI for the firmware-less pc machine: the PIIX4 power-management function ({@link
 * dev.jvmm.devices.acpi.Piix4Pm}, PCI 00:01.3) and the tables SeaBIOS would otherwise load from QEMU's
 * fw_cfg ({@link dev.jvmm.devices.acpi.AcpiTables}, with the AML encoder {@link dev.jvmm.devices.acpi.Aml}).
 *
 * <p>Wiring, as the machine does it: create the PM with the SCI line (ISA IRQ 9) and a {@link
 * dev.jvmm.devices.acpi.SleepRequest}; put it on the PCI bus at 00:01.3; {@code attach(pioBus)};
 * {@code enablePmIo(0x600)} at start and after every reset (SeaBIOS's job on real firmware); then
 * {@code AcpiTables.install(mem, AcpiConfig.pc(...))} and pass the returned RSDP address to the kernel
 * loader. The config's PM base must be the one given to {@code enablePmIo}.
 */
package dev.jvmm.devices.acpi;
