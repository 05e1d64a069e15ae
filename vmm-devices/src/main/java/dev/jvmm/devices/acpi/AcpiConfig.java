package dev.jvmm.devices.acpi;

import java.util.List;

/**
 * What the ACPI tables describe about the machine: the vCPUs' local APIC ids, the PIIX PIRQ routing the
 * machine programmed (PIRQA..D to ISA IRQs), the ISA devices present, the PM block and SMI command
 * setting, the S4 SLP_TYP value and the 32-bit PCI memory window.
 *
 * @param apicIds      one local APIC id per vCPU, boot CPU first (QEMU: 0..n-1)
 * @param pirqIrqs     four ISA IRQs for PIRQA..D (SeaBIOS: 10, 10, 11, 11); not in the DSDT, whose link
 *                     devices read PIIX3's routing registers at run time, as QEMU's do
 * @param isaDevices   the ISA devices in the order the board created them (the DSDT describes them under
 *                     \_SB.PCI0.S08, last created first, as QEMU's ISA bus lists its children)
 * @param pmBase       the PM1a/PM timer I/O base programmed into PMBA (QEMU 0x600)
 * @param smiCommand   true to advertise SMI_CMD 0xb2 with ACPI_ENABLE/DISABLE (QEMU pc with SMM); false
 *                     for a PM whose SCI_EN is set at reset
 * @param s4Val        SLP_TYP for S4, 0 to leave \_S4 out
 * @param s3           whether \_S3 is advertised
 * @param pciHoleStart first address of the 32-bit PCI memory window; equal to pciHoleEnd for none
 * @param pciHoleEnd   last address + 1 of the window
 * @param hpet         whether the machine has QEMU's HPET at 0xfed00000: the HPET table and \_SB.HPET
 * @param possibleApicIds the APIC ids of every possible vCPU (-smp maxcpus), the present ones first: the
 *                     DSDT's \_SB.CPUS has one Processor per entry and the MADT one local APIC (enabled
 *                     only for the present ones)
 * @param pciHole64Start first address of the 64-bit PCI memory window (QWordMemory in \_SB.PCI0._CRS)
 * @param pciHole64End last address + 1 of that window; equal to pciHole64Start for none
 * @param pciHotplug   how pci.0's slots and hotplug registers are described (PIIX4_PM's switches)
 * @param memorySlots  -m slots=: the DIMM slots of the memory hotplug AML (\_SB.MHPC), none for 0
 * @param numaNode     whether the machine has NUMA node 0, which QEMU's pc makes by itself with maxmem above
 *                     the RAM size (auto_enable_numa_with_memdev): each Processor gets _PXM
 * @param srat         that node's SRAT (in the fw_cfg tables, after the HPET), or null without one
 */
public record AcpiConfig(List<Integer> apicIds, List<Integer> pirqIrqs, List<AcpiIsaDevice> isaDevices,
                         int pmBase, boolean smiCommand, int s4Val, boolean s3,
                         long pciHoleStart, long pciHoleEnd, boolean hpet, List<Integer> possibleApicIds,
                         long pciHole64Start, long pciHole64End, PciHotplugLayout pciHotplug, int memorySlots,
                         boolean numaNode, Srat srat) {
    /** QEMU's pc: the 64-bit window starts on a 1 GiB boundary after RAM above 4 GiB and is 2 GiB long. */
    public static final long PCI_HOLE64_ALIGN = 1L << 30;
    public static final long PCI_HOLE64_SIZE = 1L << 31;
    public static final long FOUR_GIB = 1L << 32;
    /** SeaBIOS's PIRQA..D routing on QEMU's pc machine. */
    public static final List<Integer> SEABIOS_PIRQ_IRQS = List.of(10, 10, 11, 11);
    /** Where QEMU's pc machine puts the IOAPIC, and the end of its 32-bit PCI window. */
    public static final long IOAPIC_ADDRESS = 0xfec00000L;

    public AcpiConfig {
        apicIds = List.copyOf(apicIds);
        pirqIrqs = List.copyOf(pirqIrqs);
        isaDevices = List.copyOf(isaDevices);
        possibleApicIds = List.copyOf(possibleApicIds);
        if (!possibleApicIds.subList(0, Math.min(apicIds.size(), possibleApicIds.size())).equals(apicIds)) {
            throw new IllegalArgumentException("the possible vCPUs must start with the present ones");
        }
        if (possibleApicIds.size() > 255) {
            throw new IllegalArgumentException("at most 255 possible vCPUs");
        }
        if (pciHole64Start < FOUR_GIB && pciHole64End > pciHole64Start || pciHole64Start > pciHole64End) {
            throw new IllegalArgumentException("bad 64-bit PCI window");
        }
        if (apicIds.isEmpty() || apicIds.size() > 255) {
            throw new IllegalArgumentException("need 1 to 255 vCPUs, got " + apicIds.size());
        }
        for (int id : apicIds) {
            if (id < 0 || id > 254) {
                throw new IllegalArgumentException("APIC id out of xAPIC range: " + id);
            }
        }
        if (pirqIrqs.size() != 4) {
            throw new IllegalArgumentException("need four PIRQ routes, got " + pirqIrqs.size());
        }
        for (int irq : pirqIrqs) {
            if (irq < 0 || irq > 15) {
                throw new IllegalArgumentException("PIRQ routed to a non-ISA IRQ " + irq);
            }
        }
        if ((pmBase & ~0xffc0) != 0) {
            throw new IllegalArgumentException("PM base must be 64-byte aligned below 64 KiB");
        }
        if (pciHoleStart < 0 || pciHoleEnd > 0x100000000L || pciHoleStart > pciHoleEnd) {
            throw new IllegalArgumentException("bad 32-bit PCI window");
        }
    }

    /** QEMU's default PCI hotplug layout (both PIIX4_PM switches on) and no memory hotplug slots. */
    public AcpiConfig(List<Integer> apicIds, List<Integer> pirqIrqs, List<AcpiIsaDevice> isaDevices,
                      int pmBase, boolean smiCommand, int s4Val, boolean s3, long pciHoleStart, long pciHoleEnd,
                      boolean hpet, List<Integer> possibleApicIds, long pciHole64Start, long pciHole64End) {
        this(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart, pciHoleEnd, hpet,
                possibleApicIds, pciHole64Start, pciHole64End, PciHotplugLayout.DEFAULT, 0, false, null);
    }

    /** A machine without an HPET (QEMU's -machine hpet=off). */
    public AcpiConfig(List<Integer> apicIds, List<Integer> pirqIrqs, List<AcpiIsaDevice> isaDevices,
                      int pmBase, boolean smiCommand, int s4Val, boolean s3, long pciHoleStart, long pciHoleEnd) {
        this(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart, pciHoleEnd, false);
    }

    /** Only the present vCPUs are possible, and no 64-bit PCI window. */
    public AcpiConfig(List<Integer> apicIds, List<Integer> pirqIrqs, List<AcpiIsaDevice> isaDevices,
                      int pmBase, boolean smiCommand, int s4Val, boolean s3, long pciHoleStart, long pciHoleEnd,
                      boolean hpet) {
        this(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart, pciHoleEnd, hpet, apicIds,
                0, 0);
    }

    /** The same description with the HPET present or not. */
    public AcpiConfig withHpet(boolean present) {
        return new AcpiConfig(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart,
                pciHoleEnd, present, possibleApicIds, pciHole64Start, pciHole64End, pciHotplug, memorySlots,
                numaNode, srat);
    }

    /** The same description with these possible vCPUs (the present ones first). */
    public AcpiConfig withPossibleApicIds(List<Integer> possible) {
        return new AcpiConfig(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart,
                pciHoleEnd, hpet, possible, pciHole64Start, pciHole64End, pciHotplug, memorySlots, numaNode,
                srat);
    }

    /**
     * The same description with QEMU 7.2 pc's 64-bit PCI window for this much RAM above 4 GiB (no memory
     * hotplug area, no 64-bit BARs placed by the firmware): [4 GiB + ramAbove4g rounded up to 1 GiB, +2 GiB).
     */
    public AcpiConfig withPciHole64For(long ramAbove4g) {
        long start = (FOUR_GIB + ramAbove4g + PCI_HOLE64_ALIGN - 1) & -PCI_HOLE64_ALIGN;
        return new AcpiConfig(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart,
                pciHoleEnd, hpet, possibleApicIds, start, start + PCI_HOLE64_SIZE, pciHotplug, memorySlots,
                numaNode, srat);
    }

    /** The same description with this PCI hotplug layout. */
    public AcpiConfig withPciHotplug(PciHotplugLayout layout) {
        return new AcpiConfig(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart,
                pciHoleEnd, hpet, possibleApicIds, pciHole64Start, pciHole64End, layout, memorySlots, numaNode,
                srat);
    }

    /**
     * The same description with memory devices (QEMU's pc_pci_hole64_start with a device memory region): the
     * 64-bit PCI window after the region's end, aligned to 1 GiB, the memory hotplug AML for the slots, and
     * the NUMA node QEMU makes for a device memory region.
     */
    public AcpiConfig withMemoryHotplug(int slots, Srat numa) {
        long start = numa != null
                ? (numa.deviceMemoryBase() + numa.deviceMemorySize() + PCI_HOLE64_ALIGN - 1) & -PCI_HOLE64_ALIGN
                : pciHole64Start;
        return new AcpiConfig(apicIds, pirqIrqs, isaDevices, pmBase, smiCommand, s4Val, s3, pciHoleStart,
                pciHoleEnd, hpet, possibleApicIds, start, start + PCI_HOLE64_SIZE, pciHotplug, slots, numa != null,
                numa);
    }

    /**
     * QEMU's pc defaults for n vCPUs: APIC ids 0..n-1, SeaBIOS PIRQ routing, PM at 0x600, SMI command port,
     * S3 and S4 (SLP_TYP 2), PCI window from the end of low RAM to the IOAPIC; no HPET until the board maps
     * one ({@link #withHpet}).
     */
    public static AcpiConfig pc(int cpus, long lowRamEnd, List<AcpiIsaDevice> isaDevices) {
        List<Integer> ids = java.util.stream.IntStream.range(0, cpus).boxed().toList();
        return new AcpiConfig(ids, SEABIOS_PIRQ_IRQS, isaDevices, Piix4Pm.DEFAULT_PM_BASE, true,
                Piix4Pm.DEFAULT_S4_VAL, true, Math.min(lowRamEnd, IOAPIC_ADDRESS), IOAPIC_ADDRESS);
    }

    /** The ISA IRQ behind slot's INTx pin (0 = INTA), with PIIX's swizzle (slot + pin - 1) &amp; 3. */
    public int slotPinIrq(int slot, int pin) {
        return pirqIrqs.get((slot + pin - 1) & 3);
    }
}
