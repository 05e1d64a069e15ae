package dev.jvmm.devices.acpi;

/**
 * Where {@link AcpiTables#install} put each table in guest RAM. The machine hands {@code rsdp} to the
 * kernel loader (boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr) and reads the waking vector at
 * {@code facs} + {@link AcpiTables#FACS_FIRMWARE_WAKING_VECTOR} on S3 resume.
 *
 * @param end first byte after the last table
 */
public record AcpiLayout(long rsdp, long rsdt, long fadt, long facs, long dsdt, long madt, long end) {
}
