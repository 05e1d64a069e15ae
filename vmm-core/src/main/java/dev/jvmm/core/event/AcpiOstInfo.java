package dev.jvmm.core.event;

/**
 * QEMU's ACPIOSTInfo: one hotplug slot's last _OST report, as ACPI_DEVICE_OST and query-acpi-ospm-status carry
 * it (ACPI 6.x section 6.3.5, _OST source event and status codes).
 *
 * @param device   the id of the device in the slot, or null when it has none or the slot is empty
 * @param slot     the slot number as a string ("0", "1", ...)
 * @param slotType "DIMM" or "CPU"
 * @param source   the _OST source event (1 insert, 3 eject, 0x100+ for the OS's own)
 * @param status   the _OST status code
 */
public record AcpiOstInfo(String device, String slot, String slotType, long source, long status) {
}
