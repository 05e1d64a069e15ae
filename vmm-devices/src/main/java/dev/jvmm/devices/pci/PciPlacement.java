package dev.jvmm.devices.pci;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;

/**
 * Where a PCI function goes on pci.0, as QEMU's bus places it: the addr property (slot &lt;&lt; 3 | function, -1
 * for none) or the first slot whose function 0 is free, with QEMU's refusals.
 */
public record PciPlacement(int slot, int function) {
    /** Slot 0 is the host bridge and 1 the PIIX3, so -device functions start at 2. */
    public static final int FIRST_DEVICE_SLOT = 2;

    /** Finds the place for a function of the given type; throws QEMU's error (nothing is plugged). */
    public static PciPlacement choose(PciBus pci, String type, long devfn) throws PropertyException {
        if (devfn < 0) {
            int slot = FIRST_DEVICE_SLOT;
            while (slot < PciBus.SLOTS && pci.function(slot, 0) != null) {
                slot++;
            }
            if (slot == PciBus.SLOTS) {
                throw new PropertyException("PCI: no slot/function available for " + type
                        + ", all in use or reserved");
            }
            return new PciPlacement(slot, 0);
        }
        int slot = (int) (devfn >> 3);
        int function = (int) (devfn & 7);
        if (pci.function(slot, function) != null) {
            throw new PropertyException(String.format("PCI: slot %d function %d not available for %s,"
                    + " in use by %s", slot, function, type, pci.owner(slot, function)));
        }
        return new PciPlacement(slot, function);
    }

    /** slot &lt;&lt; 3 | function, the value of the addr property. */
    public int devfn() {
        return slot << 3 | function;
    }

    /**
     * Shows the place on a device's node as QEMU does once the device is plugged: addr reads the devfn
     * taken, also when the bus chose it (legacy-addr, "SS.F", reads addr).
     */
    public void describe(QomNode node) {
        long devfn = devfn();
        node.setGetter("addr", () -> devfn);
    }

    /** Chooses a place and plugs f there; a refused place leaves f unplugged for the caller to close. */
    public static PciPlacement plug(PciBus pci, PciFunction f, String type, long devfn) throws PropertyException {
        PciPlacement at = choose(pci, type, devfn);
        pci.add(at.slot(), at.function(), f);
        return at;
    }
}
