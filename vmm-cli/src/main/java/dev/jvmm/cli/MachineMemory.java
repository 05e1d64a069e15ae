package dev.jvmm.cli;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.machine.MemoryControl;
import dev.jvmm.core.memory.MemorySlots;
import dev.jvmm.core.objects.UserObjects;
import dev.jvmm.devices.acpi.MemoryHotplugRegisters;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.acpi.Srat;
import dev.jvmm.devices.memory.PcDimm;
import dev.jvmm.devices.memory.PcDimmHotplug;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pc.PcBoard;
import dev.jvmm.kvm.boot.MemoryLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * The pc machine's memory devices (QEMU 7.2's pc_memory_init device-memory part and its DIMM hotplug): the
 * device memory region after RAM above 4 GiB, the ACPI memory hotplug interface at 0x0a00 on the PIIX4 PM
 * (with -m slots= and ACPI), pc-dimm routed to {@link PcDimmHotplug}, and what QMP reports.
 */
final class MachineMemory implements MemoryControl {
    private final long ramSize;
    private final PcDimmHotplug dimms;
    private final MemoryHotplugRegisters registers;

    private MachineMemory(long ramSize, PcDimmHotplug dimms, MemoryHotplugRegisters registers) {
        this.ramSize = ramSize;
        this.dimms = dimms;
        this.registers = registers;
    }

    /**
     * QEMU's checks of maxmem and slots when the machine is built (after the vCPUs, so after their
     * warnings), in QEMU's words.
     */
    static void check(MachineConfig config) {
        MemoryHotplugSize m = config.memoryHotplug();
        if (!m.hasDeviceMemory(config.ramBytes())) {
            return;
        }
        if (Long.compareUnsigned(m.slots(), MemoryHotplugSize.MAX_SLOTS) > 0) {
            throw new LaunchException("unsupported amount of memory slots: " + Long.toUnsignedString(m.slots()));
        }
        if (m.maxRamBytes() % 4096 != 0) {
            throw new LaunchException("maximum memory size must by aligned to multiple of 4096 bytes");
        }
    }

    /**
     * Sets up memory hotplug once the PIIX4 PM exists (before any -device, so -device pc-dimm finds it).
     *
     * @param pm the PIIX4 PM, absent without ACPI
     */
    static MachineMemory install(MachineConfig config, MemoryLayout layout, DeviceModel devices, PcBoard board,
                                 UserObjects objects, MemorySlots slots, PioBus pio, EventBus events, Executor main) {
        Optional<Piix4Pm> pm = board.pm();
        MemoryHotplugSize m = config.memoryHotplug();
        long highRamEnd = MemoryLayout.HIGH_RAM_START + layout.highRamSize();
        PcDimmHotplug.Layout l = PcDimmHotplug.Layout.pc(config.ramBytes(), m.maxRamBytes(), m.slots(), highRamEnd,
                config.acpi() && pm.isPresent(), config.host().memoryBackend().orElse(UserObjects.DEFAULT_RAM_ID));
        board.setMemoryHotplug(pm.isPresent() ? (int) m.slots() : 0, l.regionSize() > 0
                ? new Srat(config.ramBytes(), layout.lowRamEnd(), l.base(), l.regionSize()) : null);
        MemoryHotplugRegisters registers = null;
        if (pm.isPresent() && m.slots() > 0) {
            Piix4Pm p = pm.get();
            registers = new MemoryHotplugRegisters((int) m.slots(), events, main,
                    () -> p.raiseGpe(MemoryHotplugRegisters.GPE_BIT)).attach(pio);
        }
        PcDimmHotplug dimms = new PcDimmHotplug(l, objects::memoryBackend, slots, devices, registers, main,
                objects::markInUse, objects::release);
        devices.setTypeHotplugHandler(PcDimm.TYPE.name(), dimms);
        return new MachineMemory(config.ramBytes(), dimms, registers);
    }

    /** The DIMM slots' last _OST reports (query-acpi-ospm-status lists them before the CPU slots). */
    List<AcpiOstInfo> ospmStatus() {
        return registers != null ? registers.ospmStatus() : List.of();
    }

    @Override
    public long baseMemory() {
        return ramSize;
    }

    @Override
    public long pluggedMemory() {
        return dimms.pluggedSize();
    }

    @Override
    public List<DimmInfo> memoryDevices() {
        List<DimmInfo> out = new ArrayList<>();
        for (DeviceModel.Device d : dimms.dimms()) {
            PcDimm dimm = PcDimmHotplug.dimm(d);
            out.add(new DimmInfo(d.id(), dimm.addr(), dimm.size(), dimm.slot(), 0, "/objects/" + dimm.memdev(),
                    d.hotplugged(), true));
        }
        return out;
    }
}
