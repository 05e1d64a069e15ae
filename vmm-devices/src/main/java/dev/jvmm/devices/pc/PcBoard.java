package dev.jvmm.devices.pc;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.acpi.AcpiConfig;
import dev.jvmm.devices.acpi.AcpiFirmwareFiles;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.acpi.CpuHotplugRegisters;
import dev.jvmm.devices.acpi.AcpiLayout;
import dev.jvmm.devices.acpi.AcpiTables;
import dev.jvmm.devices.acpi.PciHotplugLayout;
import dev.jvmm.devices.acpi.Piix4PciHotplug;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.acpi.Srat;
import dev.jvmm.devices.isa.CmosRtc;
import dev.jvmm.devices.isa.PostCodePort;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.I440fxHostBridge;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.Piix3IsaBridge;
import dev.jvmm.devices.timer.Hpet;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * QEMU 7.2's pc board (hw/i386/pc_piix.c pc_init1, with pc_basic_device_init and pc_superio_init) built
 * through the device model, in QEMU's creation order, so that every device keeps QEMU's
 * /machine/unattached/device[N]: the devices QEMU makes and jvmm does not model (kvmvapic, kvmclock, the
 * i8257s, the speaker, the floppy controller, vmport and vmmouse, the SMBus EEPROMs, and without -nodefaults
 * VGA, the parallel port, the floppy drive and the NIC) take their numbers and have no node. When a kernel
 * boots without firmware it also plays SeaBIOS's part on every reset ({@link #firmwareSetup}); it describes
 * the board to ACPI and to the firmware's fw_cfg.
 *
 * <p>The board is made in two steps because QEMU makes the IDE function and its drives in between:
 * {@link #createBaseDevices()}, then the IDE devices, then {@link #createPowerManagement()}.
 */
public final class PcBoard {
    /**
     * What the board is built from.
     *
     * @param machine    the -machine properties
     * @param acpi       ACPI present (-machine acpi and -no-acpi together): the PIIX4 PM function
     * @param nodefaults -nodefaults, which leaves out QEMU's default VGA, parallel port, floppy drive and NIC
     * @param cpuType    the vCPUs' QOM type ("qemu64-x86_64-cpu")
     * @param cpus       -smp cpus, and the topology qom-get /machine smp shows
     * @param apicIds    the local APIC ids of the possible vCPUs (maxcpus; at least the cpus present, which
     *                   come first), for the MADT and the DSDT's CPU hotplug description
     * @param ramSize    guest RAM in bytes
     * @param serials    per COM index, the id of the chardev -serial made for it, or null where -serial none
     *                   left the index without a port
     */
    public record Config(PcProperties machine, boolean acpi, boolean nodefaults, String cpuType, int cpus,
                         int maxCpus, int sockets, int cores, int threads, List<Integer> apicIds, long ramSize,
                         List<String> serials) {
        public Config {
            apicIds = List.copyOf(apicIds);
            if (apicIds.size() < cpus) {
                throw new IllegalArgumentException("need an APIC id for each of the " + cpus + " vCPUs");
            }
            serials = Collections.unmodifiableList(new ArrayList<>(serials));
        }
    }

    /** QEMU 7.2's max-ram-below-4g when none is given (pc_init1). */
    private static final long DEFAULT_MAX_RAM_BELOW_4G = 0xe000_0000L;
    /** QEMU's MAX_ISA_SERIAL_PORTS. */
    private static final int MAX_SERIAL_PORTS = 4;
    /** The SMBus EEPROMs (SPD) QEMU puts behind the PIIX4 PM function. */
    private static final int SMBUS_EEPROMS = 8;

    private final DeviceModel model;
    private final Config config;
    private final List<AcpiIsaDevice> acpiDevices = new ArrayList<>();
    private static final String SYSBUS = "main-system-bus";
    private static final String ISA = "isa.0";
    private static final String PCI = "pci.0";

    private final List<QomNode> cpuNodes = new ArrayList<>();
    private DeviceModel.Device i440fx;
    private DeviceModel.Device piix3;
    private DeviceModel.Device rtc;
    private DeviceModel.Device pm;
    private DeviceModel.Device hpet;
    /** Fixed at the first boot, when every device (and so every ISA description) is there. */
    private AcpiConfig acpiConfig;
    private int memorySlots;
    private Srat deviceMemory;
    private CpuHotplugRegisters cpuHotplug;
    /** PIIX4 PM's ACPI PCI hotplug; null without ACPI or with both of its switches off. */
    private Piix4PciHotplug pciHotplug;
    private AcpiLayout acpiLayout;

    /** Gives /machine the machine type's properties; nothing is created yet. */
    public PcBoard(DeviceModel model, Config config) {
        this.model = model;
        this.config = config;
        describeMachine(model.machineNode());
    }

    /**
     * The chardevs of the -serial options, one per COM index (null where -serial none leaves the index
     * without a port), at most QEMU's four ISA serial ports.
     */
    public static List<String> serialChardevs(ChardevFactory chardevs, List<String> serials) {
        if (serials.size() > MAX_SERIAL_PORTS) {
            throw new OptionException("-serial", "too many serial ports (at most " + MAX_SERIAL_PORTS + ")");
        }
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < serials.size(); i++) {
            ids.add(chardevs.fromSerialOption(serials.get(i), i).map(Chardev::id).orElse(null));
        }
        return ids;
    }

    /** Adds an ISA device to the DSDT (the devices' factories call this through their context). */
    public void describeIsa(AcpiIsaDevice d) {
        acpiDevices.add(d);
    }

    /** pc_init1 up to the IDE function, keeping the default NIC's place without making it. */
    public void createBaseDevices() {
        createBaseDevices(null);
    }

    /**
     * pc_init1 up to the IDE function: the vCPUs' nodes, the host bridge, PIIX3, the ISA devices and then the
     * NICs of -nic and -net (pc_nic_init), which nics makes; with nics null, the default NIC (QEMU's e1000
     * without -nodefaults) only takes its place in the numbering.
     */
    public void createBaseDevices(Runnable nics) {
        PcProperties m = config.machine();
        boolean defaults = !config.nodefaults();
        for (int i = 0; i < config.cpus(); i++) {
            cpuNodes.add(model.addUnattachedNode(config.cpuType()));
            if (i == 0) {
                skip(1, SYSBUS); // kvmvapic: the first vCPU's APIC makes it
            }
        }
        skip(1, SYSBUS); // kvmclock
        model.skipBusChild(SYSBUS); // fw_cfg, at /machine/fw_cfg
        model.addChild(model.machineNode(), "i440fx", "i440FX-pcihost", Map.of());
        model.skipBusChild(SYSBUS); // the in-kernel IOAPIC's node, /machine/i440fx/ioapic
        i440fx = model.addUnattached("i440FX", Map.of("addr", "00.0"));
        piix3 = model.addUnattached("PIIX3", Map.of("addr", "01.0", "multifunction", "on"));
        skip(2, ISA); // i8257 DMA controllers
        model.addUnattached("kvm-i8259", Map.of("master", "on", "iobase", "0x20", "elcr_addr", "0x4d0",
                "elcr_mask", "0xf8"));
        model.addUnattached("kvm-i8259", Map.of("iobase", "0xa0", "elcr_addr", "0x4d1", "elcr_mask", "0xde"));
        skip(defaults ? 1 : 0, PCI); // VGA
        if (m.hpet()) {
            hpet = model.addUnattached("hpet", Map.of(), SYSBUS);
        }
        rtc = model.addUnattached("mc146818rtc", Map.of("base_year", "2000"));
        model.machineNode().addLink("rtc_state", "isa-device", rtc::path);
        CmosRtc clock = Realized.device(rtc.instance(), CmosRtc.class);
        model.machineNode().addProperty("rtc-time", "struct tm", clock::dateTm, null);
        if (m.pit()) {
            model.addUnattached("kvm-pit", Map.of("iobase", "0x40"));
            skip(1, ISA); // isa-pcspk
        }
        for (int i = 0; i < config.serials().size(); i++) {
            if (config.serials().get(i) != null) {
                model.addUnattached("isa-serial", Map.of("index", Integer.toString(i),
                        "chardev", config.serials().get(i)));
            }
        }
        skip(defaults ? 1 : 0, ISA); // isa-parallel
        skip(1, ISA); // isa-fdc
        // not modelled, but QEMU's DSDT describes it, so the guest reads QEMU's bytes (DESIGN.md, ACPI)
        describeIsa(AcpiIsaDevice.floppyController());
        skip(defaults ? 1 : 0, null); // the floppy drive of the default if=floppy drive
        if (m.i8042()) {
            model.addUnattached("i8042", Map.of());
            skip(m.vmport() ? 2 : 0, ISA); // vmport, vmmouse
            model.addUnattached("port92", Map.of());
        }
        if (nics != null) {
            nics.run();
        } else {
            skip(defaults ? 1 : 0, PCI); // the default e1000
        }
        // QEMU's ioport80 is a memory region of the machine, not a device
        new PostCodePort().attach(model.context().pio());
    }

    /** pc_init1 after the IDE function: the PIIX4 PM function with ACPI, and the SMBus EEPROMs behind it. */
    public void createPowerManagement() {
        if (!config.acpi()) {
            return;
        }
        pm = model.addUnattached("PIIX4_PM", Map.of("addr", "01.3", "smb_io_base", "0xb100"));
        model.machineNode().addLink("acpi-device", "hotplug-handler", pm::path);
        // PIIX4 PM's CPU hotplug block, which the DSDT's \_SB.CPUS reads for each possible vCPU's presence
        cpuHotplug = new CpuHotplugRegisters(config.apicIds(), config.cpus()).attach(model.context().pio());
        // and its PCI hotplug block, which the DSDT's slot devices and PCNT read, as QEMU 7.2's piix4 sets it
        // up: with bridge support or root-bus hotplug; without root-bus hotplug pci.0 has no handler
        PropertyValues p = pm.props();
        boolean bridges = p.bool("acpi-pci-hotplug-with-bridge-support");
        boolean root = p.bool("acpi-root-pci-hotplug");
        if (bridges || root) {
            DeviceContext ctx = model.context();
            pciHotplug = new Piix4PciHotplug(model, ctx.pci(), Realized.device(pm.instance(), Piix4Pm.class),
                    ctx.clock(), ctx.lifecycle().mainLoop(), bridges, root);
            pciHotplug.registers().attach(ctx.pio());
            if (root) {
                model.setBusHotplugHandler(PCI, pciHotplug, pm.path());
            }
        }
        skip(SMBUS_EEPROMS, null);
    }

    /** Devices QEMU makes here that jvmm does not model: their unattached numbers, and their bus's child[N]. */
    private void skip(int devices, String bus) {
        for (int i = 0; i < devices; i++) {
            model.skipUnattached();
            if (bus != null) {
                model.skipBusChild(bus);
            }
        }
    }

    /** The node of vCPU i (/machine/unattached/device[0], then [2], [3], ... after kvmvapic). */
    public QomNode cpuNode(int i) {
        return cpuNodes.get(i);
    }

    /** Machine reset: every device back to power-on state (the PCI functions through their bus). */
    public void reset() {
        model.resetAll();
        model.context().pci().reset();
        if (pciHotplug != null) {
            pciHotplug.reset();
        }
    }

    /** What SeaBIOS leaves before it starts a kernel: PAM/SMRAM, PIRQ routes, BARs, the PM I/O block. */
    public void firmwareSetup() {
        Realized.device(i440fx.instance(), I440fxHostBridge.class).applyFirmwareState();
        Realized.device(piix3.instance(), Piix3IsaBridge.class).programFirmwareRoutes();
        model.context().pci().assignResources();
    }

    /** The HPET; empty with hpet=off. */
    public Optional<Hpet> hpet() {
        return Optional.ofNullable(hpet).map(d -> Realized.device(d.instance(), Hpet.class));
    }

    /** The ACPI blobs the firmware installs (etc/acpi/tables, rsdp, table-loader); empty without ACPI. */
    public Optional<AcpiFirmwareFiles> acpiFirmwareFiles() {
        if (pm == null) {
            return Optional.empty();
        }
        if (acpiConfig == null) {
            acpiConfig = acpiConfig();
        }
        return Optional.of(AcpiTables.firmwareFiles(acpiConfig));
    }

    /** etc/system-states from PIIX4_PM's disable_s3, disable_s4 and s4_val; empty without ACPI. */
    public Optional<byte[]> systemStates() {
        if (pm == null) {
            return Optional.empty();
        }
        PropertyValues p = pm.props();
        return Optional.of(PcFirmwareConfig.systemStates(p.number("disable_s3") == 0, p.number("disable_s4") == 0,
                p.int32("s4_val")));
    }

    /** PIIX4 PM's CPU hotplug block; empty without ACPI. */
    public Optional<CpuHotplugRegisters> cpuHotplug() {
        return Optional.ofNullable(cpuHotplug);
    }

    /** The PIIX4 PM function; empty without ACPI. */
    public Optional<Piix4Pm> pm() {
        return Optional.ofNullable(pm).map(d -> Realized.device(d.instance(), Piix4Pm.class));
    }

    public CmosRtc rtc() {
        return Realized.device(rtc.instance(), CmosRtc.class);
    }

    /** Resume from S3 records why, after the devices' reset, as QEMU's wake-up notifier does. */
    public void wakeup(WakeupReason reason) {
        pm().ifPresent(p -> p.wakeup(reason));
    }

    /**
     * Writes the ACPI tables into RAM (on every boot: a kernel may have overwritten them) and returns the
     * RSDP's address; empty without ACPI.
     */
    public OptionalLong installAcpi(GuestMemory memory) {
        if (pm == null) {
            return OptionalLong.empty();
        }
        if (acpiConfig == null) {
            acpiConfig = acpiConfig();
        }
        acpiLayout = AcpiTables.install(memory, acpiConfig);
        return OptionalLong.of(acpiLayout.rsdp());
    }

    /** The FACS firmware waking vector the guest left for resume from S3; 0 for none. */
    public long wakingVector(GuestMemory memory) {
        return acpiLayout == null ? 0
                : memory.readInt(acpiLayout.facs() + AcpiTables.FACS_FIRMWARE_WAKING_VECTOR) & 0xffffffffL;
    }

    /**
     * QEMU's pc ACPI description of this board: its APIC ids, its ISA devices, no SMI command port (no SMM
     * under KVM here), and the sleep states PIIX4_PM's disable_s3, disable_s4 and s4_val allow.
     */
    AcpiConfig acpiConfig() {
        List<Integer> possible = config.apicIds();
        List<Integer> present = possible.subList(0, config.cpus());
        AcpiConfig pc = AcpiConfig.pc(present.size(), model.context().ramBelow4g(), acpiDevices);
        PropertyValues p = pm.props();
        int s4Val = p.number("disable_s4") != 0 ? 0 : p.int32("s4_val");
        return new AcpiConfig(present, pc.pirqIrqs(), pc.isaDevices(), pc.pmBase(), false, s4Val,
                p.number("disable_s3") == 0, pc.pciHoleStart(), pc.pciHoleEnd()).withHpet(hpet != null)
                .withPossibleApicIds(possible).withPciHole64For(model.context().ramAbove4g())
                .withPciHotplug(PciHotplugLayout.of(p.bool("acpi-pci-hotplug-with-bridge-support"),
                        p.bool("acpi-root-pci-hotplug"), presentSlots()))
                .withMemoryHotplug(memorySlots, deviceMemory);
    }

    /** The slots of pci.0 with a function 0. */
    private List<Integer> presentSlots() {
        List<Integer> out = new ArrayList<>();
        for (int slot = 0; slot < PciBus.SLOTS; slot++) {
            if (model.context().pci().function(slot, 0) != null) {
                out.add(slot);
            }
        }
        return out;
    }

    /**
     * Memory devices for the ACPI tables (call before they are built): the DIMM slots the DSDT describes and
     * the device memory region with the NUMA node QEMU makes for it (null for none), after which the 64-bit
     * PCI window starts.
     */
    public void setMemoryHotplug(int slots, Srat region) {
        memorySlots = slots;
        deviceMemory = region;
    }

    /** Closes every device (threads, timers). */
    public void close() {
        model.closeAll();
    }

    /**
     * /machine's properties as qom-list and qom-get show them: every property of the machine type but the
     * flash ones QEMU drops when no firmware flash is used, read from -machine or the declared default,
     * with QEMU's resolved values where it resolves them (vmport, max-ram-below-4g, memory, smp).
     */
    private void describeMachine(QomNode node) {
        PcProperties m = config.machine();
        for (TypeInfo t : PcMachineType.all()) {
            for (Property p : t.properties()) {
                String name = p.name();
                if (node.has(name) || PcMachineType.FLASH_ONLY.contains(name)) {
                    continue;
                }
                String type = p.type().qapiType();
                if (type.startsWith("link<")) {
                    node.addLink(name, type.substring(5, type.length() - 1), () -> null);
                    continue;
                }
                Object value = switch (name) {
                    case "boot" -> struct(m, "boot", Map.of("order", "cad"));
                    case "memory" -> Map.of("size", config.ramSize());
                    case "smp" -> smp();
                    case "sgx-epc", "cxl-fmw" -> List.of();
                    case "device-memory-region-size" -> 0L;
                    case "vmport" -> m.vmport() ? "on" : "off";
                    case "max-ram-below-4g" -> m.maxRamBelow4g() == 0 ? DEFAULT_MAX_RAM_BELOW_4G : m.maxRamBelow4g();
                    default -> m.value(name).map(p.type()::toJson).orElse(null);
                };
                // QEMU checks a value's type before anything else; jvmm's machine then stays as built
                node.addProperty(name, type, () -> value, v -> {
                    p.type().fromJson(PcMachineType.NAME, name, v);
                    throw new PropertyException("jvmm cannot change machine property '" + name
                            + "' once the machine is built");
                });
            }
        }
    }

    private Map<String, Object> smp() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("cpus", (long) config.cpus());
        s.put("maxcpus", (long) config.maxCpus());
        s.put("threads", (long) config.threads());
        s.put("cores", (long) config.cores());
        s.put("dies", 1L);
        s.put("sockets", (long) config.sockets());
        s.put("clusters", 1L);
        return s;
    }

    /** A struct's defaults with the members -machine gave (boot.order=...). */
    private static Map<String, Object> struct(PcProperties m, String name, Map<String, Object> defaults) {
        Map<String, Object> s = new LinkedHashMap<>(defaults);
        m.values().forEach((k, v) -> {
            if (k.startsWith(name + ".")) {
                s.put(k.substring(name.length() + 1), v);
            }
        });
        return s;
    }
}
