package dev.jvmm.core.machine;

import java.util.List;

/**
 * One PCI function as QEMU 7.2's query-pci reports it (PciDeviceInfo). QEMU's reply lists the members in
 * the order irq_pin, bus, qdev_id, irq, slot, class_info {class, desc}, id {device, subsystem-vendor,
 * vendor, subsystem}, function, regions; "irq" is present only when irq_pin is not 0.
 *
 * @param bus             bus number
 * @param slot            device number 0-31
 * @param function        function number 0-7
 * @param classCode       base class and subclass (config bytes 0x0b:0x0a), e.g. 0x0600
 * @param classDesc       QEMU's class description, e.g. "Host bridge"
 * @param vendor          vendor id
 * @param device          device id
 * @param subsystemVendor subsystem vendor id
 * @param subsystem       subsystem id
 * @param irq             interrupt line register (reported only when irqPin != 0)
 * @param irqPin          interrupt pin register (0 none, 1-4 INTA-INTD)
 * @param qdevId          -device id=, or ""
 * @param regions         BARs in index order
 */
public record PciDeviceInfo(int bus, int slot, int function, int classCode, String classDesc, int vendor, int device,
        int subsystemVendor, int subsystem, int irq, int irqPin, String qdevId, List<PciRegionInfo> regions) {
    public PciDeviceInfo {
        regions = List.copyOf(regions);
    }

    /** Whether query-pci carries the "irq" member. */
    public boolean hasIrq() {
        return irqPin != 0;
    }
}
