package dev.jvmm.kvm;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.LowMemoryWindows;
import dev.jvmm.core.memory.RamRange;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest's memory map when firmware boots it, as QEMU 7.2's pc machine lays it out (hw/i386/x86.c
 * x86_bios_rom_init, hw/pci-host/pam.c): RAM with the legacy windows 0xa0000-0xfffff cut out, the firmware
 * ROM read-only at the top of 4 GiB, and the windows mapped as the host bridge's PAM and SMRAM registers say
 * (a read-only window as RAM that writes reach, as under QEMU with KVM).
 * A window set to PCI shows the ROM's last 128 KiB (QEMU's "isa-bios" alias, ending at 1 MiB) where it
 * overlaps that alias and nothing elsewhere, so reads there return all ones from the MMIO bus. KVM slots
 * change only on register writes, never on the exit path.
 */
public final class FirmwareMemory implements LowMemoryWindows {
    /** The ROM alias below 1 MiB is at most this long (QEMU's isa_bios_size). */
    public static final long ISA_BIOS_MAX = 128 << 10;
    public static final long LEGACY_START = 0xa0000;
    public static final long LEGACY_END = 0x100000;
    public static final long FOUR_GIB = 1L << 32;

    private final KvmVm vm;
    private final long ramHost;
    private final long romHost;
    private final long romSize;
    private final long isaBiosSize;
    /** The slot each window is mapped by now, by the window's base; a window mapped to nothing has none. */
    private final Map<Long, Integer> windowSlots = new HashMap<>();

    /**
     * Registers RAM and the ROM with KVM. rom holds one range, [4 GiB - size, 4 GiB), with the firmware image;
     * the windows start as PCI, the state after reset.
     */
    public FirmwareMemory(KvmVm vm, GuestMemory ram, GuestMemory rom) {
        List<RamRange> romRanges = rom.ranges();
        if (romRanges.size() != 1 || romRanges.get(0).end() != FOUR_GIB) {
            throw new IllegalArgumentException("the firmware ROM must be one range ending at 4 GiB");
        }
        this.vm = vm;
        this.romSize = romRanges.get(0).size();
        this.romHost = rom.hostAddress(0);
        this.isaBiosSize = Math.min(romSize, ISA_BIOS_MAX);
        List<RamRange> ranges = ram.ranges();
        if (ranges.isEmpty() || ranges.get(0).guestAddress() != 0 || ranges.get(0).end() < LEGACY_END) {
            throw new IllegalArgumentException("guest RAM must start at 0 and cover the first MiB");
        }
        this.ramHost = ram.hostAddress(0);
        vm.addSlot(romRanges.get(0).guestAddress(), romSize, romHost, true);
        vm.addSlot(0, LEGACY_START, ramHost, false);
        if (ranges.get(0).end() > LEGACY_END) {
            vm.addSlot(LEGACY_END, ranges.get(0).end() - LEGACY_END, ramHost + LEGACY_END, false);
        }
        for (int i = 1; i < ranges.size(); i++) {
            vm.addSlot(ranges.get(i).guestAddress(), ranges.get(i).size(), ram.hostAddress(i), false);
        }
    }

    @Override
    public synchronized void map(long base, long size, Access access) {
        if (base < LEGACY_START || base + size > LEGACY_END) {
            throw new IllegalArgumentException(String.format("no legacy window at 0x%x", base));
        }
        Integer old = windowSlots.remove(base);
        if (old != null) {
            vm.removeSlot(old);
        }
        switch (access) {
            case RAM -> windowSlots.put(base, vm.addSlot(base, size, ramHost + base, false));
            // Writable, as QEMU 7.2 maps it under KVM: the PAM's read-only alias of RAM is read-only only in its
            // memory section, and kvm_mem_flags looks at the RAM region itself, so KVM gets a writable slot.
            // Firmware relies on it: the -kernel option ROMs (pvh.bin, multiboot_dma.bin) switch to protected
            // mode with a GDT inside their write-protected shadow, and loading CS sets the descriptor's accessed
            // bit; under PVM that write to a KVM_MEM_READONLY slot never returns from KVM_RUN.
            case RAM_READ_ONLY -> windowSlots.put(base, vm.addSlot(base, size, ramHost + base, false));
            case PCI -> {
                long aliasStart = LEGACY_END - isaBiosSize;
                long start = Math.max(base, aliasStart);
                long end = base + size;
                if (start < end) {
                    long romOffset = romSize - isaBiosSize + (start - aliasStart);
                    windowSlots.put(base, vm.addSlot(start, end - start, romHost + romOffset, true));
                }
            }
            default -> throw new IllegalStateException();
        }
    }
}
