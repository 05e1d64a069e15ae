package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.virtio.VirtioPciTransport;

/**
 * Where a -device PCI function goes on pci.0, as QEMU's bus places it: addr= ("slot[.function]", hex, with or
 * without 0x as libvirt writes it) or the first slot whose function 0 is free, with QEMU's refusals.
 */
record PciPlacement(int slot, int function) {
    /** Slot 0 is the host bridge and 1 the PIIX3, so -device functions start at 2. */
    static final int FIRST_DEVICE_SLOT = 2;

    /** Finds the place for driver's function; throws QEMU's error for the option (nothing is plugged). */
    static PciPlacement choose(PciBus pci, String driver, String addr, String option) {
        if (addr == null) {
            int slot = FIRST_DEVICE_SLOT;
            while (slot < PciBus.SLOTS && pci.function(slot, 0) != null) {
                slot++;
            }
            if (slot == PciBus.SLOTS) {
                throw new OptionException(option, "PCI: no slot/function available for " + driver
                        + ", all in use or reserved");
            }
            return new PciPlacement(slot, 0);
        }
        int slot;
        int function = 0;
        try {
            String[] parts = addr.split("\\.", 2);
            String s = parts[0].startsWith("0x") || parts[0].startsWith("0X") ? parts[0].substring(2) : parts[0];
            slot = Integer.parseInt(s, 16);
            function = parts.length > 1 ? Integer.parseInt(parts[1], 16) : 0;
        } catch (NumberFormatException e) {
            slot = -1;
        }
        if (slot < 0 || slot >= PciBus.SLOTS || function < 0 || function >= PciBus.FUNCTIONS) {
            throw new OptionException(option, "Property '" + driver + ".addr' doesn't take value '" + addr + "'");
        }
        if (pci.function(slot, function) != null) {
            throw new OptionException(option, String.format("PCI: slot %d function %d not available for %s,"
                    + " in use by another device", slot, function, driver));
        }
        return new PciPlacement(slot, function);
    }

    /**
     * Plugs a virtio function at its place. A refused place closes f first (its device thread and eventfds)
     * and throws QEMU's error.
     */
    static PciPlacement plug(PciBus pci, VirtioPciTransport f, String driver, String addr, String option) {
        PciPlacement at;
        try {
            at = choose(pci, driver, addr, option);
        } catch (OptionException e) {
            f.close();
            throw e;
        }
        pci.add(at.slot(), at.function(), f);
        return at;
    }
}
