package dev.jvmm.core.machine;

import java.util.List;

/** query-pci's view of the machine's PCI buses. */
@FunctionalInterface
public interface PciControl {
    /** A machine without PCI has no buses. */
    PciControl NONE = List::of;

    List<PciBusInfo> buses();
}
