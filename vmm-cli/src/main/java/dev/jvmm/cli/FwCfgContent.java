package dev.jvmm.cli;

import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.devices.fwcfg.FwCfgItems;
import dev.jvmm.devices.memory.PcDimmHotplug;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pc.BootOrder;
import dev.jvmm.devices.pc.PcBoard;
import dev.jvmm.devices.pc.PcFirmwareConfig;
import dev.jvmm.devices.pc.PcProperties;
import dev.jvmm.devices.smbios.SmbiosInputs;
import dev.jvmm.devices.smbios.SmbiosTables;
import dev.jvmm.devices.timer.Hpet;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.kvm.CpuTopology;
import dev.jvmm.kvm.KvmVm;
import dev.jvmm.kvm.boot.MemoryLayout;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * What the machine puts in fw_cfg, gathered from the command line, the memory layout, the vCPU model and the
 * board, as QEMU 7.2's pc machine gathers it (hw/i386/pc.c, hw/i386/fw_cfg.c, hw/i386/x86.c); the bytes
 * themselves are {@link PcFirmwareConfig}'s.
 */
final class FwCfgContent {
    private final MachineConfig config;
    private final MemoryLayout layout;
    private final CpuModel model;
    private final CpuTopology topology;
    private final PcBoard board;
    private final DeviceModel devices;
    /** fw_cfg files the devices add (option ROMs with rombar=0), in the order they were realized. */
    private final List<PcFirmwareConfig.UserFile> deviceFiles;
    private final PrintStream err;

    FwCfgContent(MachineConfig config, MemoryLayout layout, CpuModel model, CpuTopology topology, PcBoard board,
                 DeviceModel devices, List<PcFirmwareConfig.UserFile> deviceFiles, PrintStream err) {
        this.config = config;
        this.layout = layout;
        this.model = model;
        this.topology = topology;
        this.board = board;
        this.devices = devices;
        this.deviceFiles = List.copyOf(deviceFiles);
        this.err = err;
    }

    /** fw_cfg's content for this machine, as QEMU 7.2's pc machine fills it, with -kernel's items if any. */
    FwCfgItems build(Optional<PcFirmwareConfig.KernelItems> kernel) {
        PcProperties pc = config.pc();
        SmpTopology smp = config.smp();
        List<PcFirmwareConfig.E820Entry> e820 = new ArrayList<>();
        // QEMU's KVM set-up reserves the identity-map and TSS pages it hands KVM, on every host
        e820.add(new PcFirmwareConfig.E820Entry(KvmVm.IDENTITY_MAP_ADDR, IDENTITY_AND_TSS_SIZE,
                PcFirmwareConfig.E820_RESERVED));
        if (model.identity().vendor().equals("AuthenticAMD") && model.identity().physBits() >= AMD_HT_MIN_PHYS_BITS) {
            // pc_memory_init: AMD's HyperTransport range below 1 TiB
            e820.add(new PcFirmwareConfig.E820Entry(AMD_HT_START, AMD_HT_SIZE, PcFirmwareConfig.E820_RESERVED));
        }
        e820.add(new PcFirmwareConfig.E820Entry(0, layout.lowRamEnd(), PcFirmwareConfig.E820_RAM));
        if (layout.highRamSize() > 0) {
            e820.add(new PcFirmwareConfig.E820Entry(MemoryLayout.HIGH_RAM_START, layout.highRamSize(),
                    PcFirmwareConfig.E820_RAM));
        }
        List<SmbiosInputs.MemoryArea> ramAreas = e820.stream().filter(e -> e.type() == PcFirmwareConfig.E820_RAM)
                .map(e -> new SmbiosInputs.MemoryArea(e.address(), e.length())).toList();
        // QEMU's smbios_set_cpuid takes the CPU's version and its 1_EDX feature word, not the CPUID leaf that
        // KVM completes (HTT and APIC bits set per vCPU)
        int edxWord = IntStream.range(0, model.cpuTable().words().size())
                .filter(i -> model.cpuTable().words().get(i).name().equals("1_EDX")).findFirst().orElseThrow();
        SmbiosTables smbios = SmbiosTables.build(new SmbiosInputs(SmbiosInputs.QEMU_MANUFACTURER,
                SmbiosInputs.PC_I440FX_PRODUCT, SmbiosInputs.PC_I440FX_VERSION, config.ramBytes(), ramAreas,
                new SmbiosInputs.Topology(smp.sockets(), 1, smp.cores(), smp.threads()), model.identity().version(),
                (int) model.identity().features()[edxWord],
                config.uuid(), config.smbios(), SmbiosInputs.EntryPointType.ofProperty(
                        pc.value("smbios-entry-point-type").map(Object::toString).orElse("32")),
                SmbiosInputs.PciDevices.NONE));
        Map<String, String> boot = config.host().boot();
        PcFirmwareConfig.BootSettings bootSettings = new PcFirmwareConfig.BootSettings(
                isOn(boot.get("menu")), intOr(boot.get("splash-time"), -1),
                intOr(boot.get("reboot-timeout"), -1), isOn(boot.get("strict")));
        List<PcFirmwareConfig.UserFile> userFiles = new ArrayList<>(deviceFiles);
        reservedMemoryEnd().ifPresent(userFiles::add);
        for (FwCfgArg f : config.fwCfgFiles()) {
            f.warning().ifPresent(err::println);
            try {
                userFiles.add(new PcFirmwareConfig.UserFile(f.name(), f.content()));
            } catch (IOException e) {
                throw new LaunchException(f.option() + ": can't load " + f.file().orElse("") + ": "
                        + e.getMessage());
            }
        }
        Optional<PcFirmwareConfig.HpetInfo> hpet = board.hpet().map(h ->
                new PcFirmwareConfig.HpetInfo(h.eventTimerBlockId(), Hpet.HPET_BASE));
        try {
            int apicIdLimit = topology.apicId(smp.maxcpus() - 1) + 1;
            FwCfgItems items = PcFirmwareConfig.build(new PcFirmwareConfig.Settings(config.uuid(),
                    !Boolean.FALSE.equals(pc.value("graphics").orElse(true)), bootSettings, smp.cpus(),
                    apicIdLimit, config.ramBytes(), e820, hpet,
                    board.acpiFirmwareFiles(), smbios, board.systemStates(), BootOrder.paths(devices),
                    PcFirmwareConfig.featureControl(model.has("vmx"), model.has("sgx"), model.has("sgxlc")),
                    optionRoms(), userFiles, kernel));
            if (config.memoryHotplug().hasDeviceMemory(config.ramBytes())) {
                items.replace(FwCfgItems.FW_CFG_NUMA, numaNode(apicIdLimit));
            }
            return items;
        } catch (IllegalArgumentException e) {
            throw new LaunchException(e.getMessage());
        }
    }

    /**
     * FW_CFG_NUMA with the one node QEMU's pc makes for a device memory region (auto_enable_numa_with_memdev):
     * the node count, each APIC id's node (0), the node's memory (all RAM), little-endian 64-bit words.
     */
    private byte[] numaNode(int apicIdLimit) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 * (2 + apicIdLimit))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(1);
        b.position(8 * (1 + apicIdLimit));
        b.putLong(config.ramBytes());
        return b.array();
    }

    /**
     * pc_memory_init's etc/reserved-memory-end with maxmem above the RAM size: the end of the device memory
     * region rounded up to 1 GiB, where SeaBIOS may start placing 64-bit BARs.
     */
    private Optional<PcFirmwareConfig.UserFile> reservedMemoryEnd() {
        MemoryHotplugSize m = config.memoryHotplug();
        if (!m.hasDeviceMemory(config.ramBytes())) {
            return Optional.empty();
        }
        PcDimmHotplug.Layout l = PcDimmHotplug.Layout.pc(config.ramBytes(), m.maxRamBytes(), m.slots(),
                MemoryLayout.HIGH_RAM_START + layout.highRamSize(), config.acpi(), null);
        long end = (l.base() + l.regionSize() + MemoryLayout.GIB - 1) & -MemoryLayout.GIB;
        return Optional.of(new PcFirmwareConfig.UserFile("etc/reserved-memory-end",
                java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(end).array()));
    }

    /**
     * The option ROMs QEMU's pc machine hands SeaBIOS without being asked: kvmvapic.bin, the ROM of the
     * vCPU's kvmvapic (hw/i386/kvmvapic.c), which QEMU adds with KVM's in-kernel APIC. jvmm does not model the
     * TPR patching behind its port 0x7e, so the ROM finds nothing there and returns; SeaBIOS still counts it as
     * a legacy ROM and boots the hard disk before the floppy, as under QEMU. Where the file is not installed
     * QEMU's build had none either, so nothing is added.
     */
    private List<PcFirmwareConfig.UserFile> optionRoms() {
        List<PcFirmwareConfig.UserFile> roms = new ArrayList<>();
        config.firmware().find(KVMVAPIC_ROM).ifPresent(path -> {
            try {
                roms.add(new PcFirmwareConfig.UserFile(KVMVAPIC_ROM, Files.readAllBytes(path)));
            } catch (IOException e) {
                throw new LaunchException("could not load option rom '" + KVMVAPIC_ROM + "'");
            }
        });
        return roms;
    }

    private static final String KVMVAPIC_ROM = "kvmvapic.bin";

    /** kvm_arch_init: the identity-map page and the three TSS pages after it. */
    private static final long IDENTITY_AND_TSS_SIZE = 0x4000;
    /** QEMU's AMD_HT_START..AMD_ABOVE_1TB_START: 1 TiB - 12 GiB, 12 GiB long. */
    private static final long AMD_HT_START = 0xfd00000000L;
    private static final long AMD_HT_SIZE = 0x300000000L;
    /** QEMU advertises the HyperTransport range when the guest can address it. */
    private static final int AMD_HT_MIN_PHYS_BITS = 40;

    private static int intOr(String value, int fallback) {
        return value == null ? fallback : (int) QemuOpts.parseNumber(value);
    }

    /** QEMU's boolean option values that mean on. */
    private static boolean isOn(String value) {
        return value != null && (value.equals("on") || value.equals("yes") || value.equals("true"));
    }

}
