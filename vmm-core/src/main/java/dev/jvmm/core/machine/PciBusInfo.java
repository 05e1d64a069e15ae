package dev.jvmm.core.machine;

import java.util.List;

/** One element of QEMU 7.2's query-pci reply (PciInfo): members "bus", then "devices". */
public record PciBusInfo(int bus, List<PciDeviceInfo> devices) {
    public PciBusInfo {
        devices = List.copyOf(devices);
    }
}
