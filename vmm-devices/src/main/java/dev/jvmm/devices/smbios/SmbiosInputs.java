package dev.jvmm.devices.smbios;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * What the machine tells the SMBIOS builder (DMTF SMBIOS 3.x, section 7.1 onwards: the values behind types 1,
 * 4, 16, 17 and 19), the same facts QEMU 7.2's pc machine hands smbios_set_defaults, smbios_set_cpuid and
 * smbios_get_tables.
 *
 * @param manufacturer  type 1/2/3/4/17 manufacturer default ("QEMU")
 * @param product       type 1/2 product default: the machine class description
 * @param version       type 1/2/3/4 version default: the machine type name, e.g. "pc-i440fx-7.2"
 * @param ramSize       guest RAM in bytes (-m): types 16 and 17
 * @param ramAreas      the E820 RAM ranges, one type 19 structure each, in order
 * @param topology      sockets, dies, cores, threads as -smp resolved them: one type 4 per socket
 * @param cpuidVersion  the first vCPU's CPUID leaf 1 EAX (family/model/stepping signature)
 * @param cpuidFeatures the first vCPU's CPUID leaf 1 EDX (feature flags)
 * @param uuid          the machine UUID (-uuid or -smbios type=1,uuid=, whichever came last), if any
 * @param options       the -smbios options
 * @param entryPoint    -machine smbios-entry-point-type
 * @param pciDevices    finds the PCI devices that -smbios type=41,pcidev= names, by their -device id
 */
public record SmbiosInputs(String manufacturer, String product, String version, long ramSize,
                           List<MemoryArea> ramAreas, Topology topology, int cpuidVersion, int cpuidFeatures,
                           Optional<UUID> uuid, SmbiosOptions options, EntryPointType entryPoint,
                           PciDevices pciDevices) {
    /** QEMU's manufacturer for every machine type. */
    public static final String QEMU_MANUFACTURER = "QEMU";
    /** The pc-i440fx-7.2 machine class description. */
    public static final String PC_I440FX_PRODUCT = "Standard PC (i440FX + PIIX, 1996)";
    /** The machine type name "-M pc" resolves to. */
    public static final String PC_I440FX_VERSION = "pc-i440fx-7.2";
    /** Where RAM above the PCI hole starts. */
    public static final long FOUR_GIB = 1L << 32;
    /** pc's default max-ram-below-4g: RAM at least this large is split. */
    public static final long PC_MAX_RAM_BELOW_4G = 0xe000_0000L;
    /** pc-i440fx's gigabyte alignment: a split RAM keeps 3 GiB below 4 GiB. */
    public static final long PC_GIGABYTE_ALIGNED_LOW = 0xc000_0000L;

    public SmbiosInputs {
        ramAreas = List.copyOf(ramAreas);
        if (topology.sockets() < 1) {
            throw new IllegalArgumentException("at least one socket");
        }
    }

    /** The entry point QEMU offers: the 2.1 "_SM_" one (SMBIOS 2.8 tables) or the 3.0 "_SM3_" one. */
    public enum EntryPointType {
        /** smbios-entry-point-type=32, pc's default. */
        BITS_32,
        /** smbios-entry-point-type=64. */
        BITS_64;

        /** The machine property's value, "32" or "64". */
        public static EntryPointType ofProperty(String value) {
            return switch (value) {
                case "32" -> BITS_32;
                case "64" -> BITS_64;
                default -> throw new IllegalArgumentException("smbios-entry-point-type " + value);
            };
        }
    }

    /** Where a PCI device sits, for type 41: its bus number, devfn, and whether that bus is the root bus. */
    public record PciLocation(int bus, int devfn, boolean rootBus) {
    }

    /** The machine's PCI devices by -device id, for type 41's pcidev=. */
    @FunctionalInterface
    public interface PciDevices {
        /** No PCI device has an id. */
        PciDevices NONE = id -> Optional.empty();

        Optional<PciLocation> find(String id);
    }

    /** One RAM range in guest-physical bytes. */
    public record MemoryArea(long address, long length) {
    }

    /** The vCPU topology as -smp resolved it (all counts at least 1). */
    public record Topology(int sockets, int dies, int cores, int threads) {
        /** Cores in one socket, over all its dies. */
        public int coresPerSocket() {
            return dies * cores;
        }

        /** Threads in one socket, over all its dies and cores. */
        public int threadsPerSocket() {
            return dies * cores * threads;
        }
    }

    /**
     * The E820 RAM ranges of QEMU 7.2's pc-i440fx machine with default max-ram-below-4g: RAM below 3.5 GiB stays
     * in one range from 0; a larger RAM keeps 3 GiB below 4 GiB and puts the rest at 4 GiB.
     */
    public static List<MemoryArea> pcRamAreas(long ramSize) {
        return pcRamAreas(ramSize, PC_MAX_RAM_BELOW_4G);
    }

    /**
     * The same for a -machine max-ram-below-4g: RAM of at least that size keeps that much below 4 GiB, at most
     * 3 GiB (pc-i440fx aligns the split to a gigabyte), and the rest goes to 4 GiB.
     */
    public static List<MemoryArea> pcRamAreas(long ramSize, long maxRamBelow4g) {
        long low = maxRamBelow4g;
        if (ramSize >= maxRamBelow4g) {
            low = Math.min(low, PC_GIGABYTE_ALIGNED_LOW);
        }
        long below = Math.min(ramSize, low);
        if (ramSize <= below) {
            return List.of(new MemoryArea(0, ramSize));
        }
        return List.of(new MemoryArea(0, below), new MemoryArea(FOUR_GIB, ramSize - below));
    }

    /** Inputs for pc-i440fx-7.2 ("-M pc") with pc's default RAM layout and entry point, no PCI device ids. */
    public static SmbiosInputs pc(long ramSize, Topology topology, int cpuidVersion, int cpuidFeatures,
                                  Optional<UUID> uuid, SmbiosOptions options) {
        return new SmbiosInputs(QEMU_MANUFACTURER, PC_I440FX_PRODUCT, PC_I440FX_VERSION, ramSize,
                pcRamAreas(ramSize), topology, cpuidVersion, cpuidFeatures, uuid, options, EntryPointType.BITS_32,
                PciDevices.NONE);
    }

    /** The same inputs with another entry point type. */
    public SmbiosInputs withEntryPoint(EntryPointType type) {
        return new SmbiosInputs(manufacturer, product, version, ramSize, ramAreas, topology, cpuidVersion,
                cpuidFeatures, uuid, options, type, pciDevices);
    }

    /** The same inputs with the machine's PCI devices. */
    public SmbiosInputs withPciDevices(PciDevices devices) {
        return new SmbiosInputs(manufacturer, product, version, ramSize, ramAreas, topology, cpuidVersion,
                cpuidFeatures, uuid, options, entryPoint, devices);
    }
}
