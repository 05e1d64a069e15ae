package dev.jvmm.devices.acpi;

import java.util.List;

/**
 * How the DSDT describes pci.0, following PIIX4_PM's two switches as QEMU 7.2's build_dsdt does: with either
 * acpi-pci-hotplug-with-bridge-support or acpi-root-pci-hotplug on, the hotplug registers (PCST/SEJ/BNMR and
 * their methods), PHPR and \_GPE._E01 are there; with acpi-root-pci-hotplug on, pci.0 has a BSEL and every
 * slot a device (hotplug slots with _SUN/_EJ0); otherwise only the slots whose function 0 is present are
 * described, by _ADR alone.
 *
 * @param registers    the hotplug register block and its AML
 * @param rootHotplug  pci.0 is a hotplug bus (BSEL 0)
 * @param presentSlots the slots with a function 0, for a pci.0 without hotplug
 */
public record PciHotplugLayout(boolean registers, boolean rootHotplug, List<Integer> presentSlots) {
    /** QEMU 7.2's default: both switches on. */
    public static final PciHotplugLayout DEFAULT = new PciHotplugLayout(true, true, List.of());

    public PciHotplugLayout {
        presentSlots = List.copyOf(presentSlots);
    }

    /** The layout for PIIX4_PM's switches and the slots present when the tables are built. */
    public static PciHotplugLayout of(boolean bridgeSupport, boolean rootHotplug, List<Integer> presentSlots) {
        boolean registers = bridgeSupport || rootHotplug;
        return new PciHotplugLayout(registers, registers && rootHotplug, presentSlots);
    }
}
