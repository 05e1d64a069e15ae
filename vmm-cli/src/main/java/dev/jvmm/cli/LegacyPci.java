package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.virtio.VirtioPciTransport;

/** PCI placement for the device kinds not yet created through the device model. */
final class LegacyPci {
    private LegacyPci() {
    }

    static PciPlacement choose(PciBus pci, String driver, String addr, String option) {
        try {
            long devfn = addr == null ? -1 : (Long) PropType.PCI_DEVFN.parseKeyval(driver, "addr", addr);
            return PciPlacement.choose(pci, driver, devfn);
        } catch (PropertyException e) {
            throw new OptionException(option, e.getMessage());
        }
    }

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
