package dev.jvmm.devices.model;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.LowMemoryWindows;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.isa.RtcOptions;
import dev.jvmm.devices.pci.PciBus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/** What the board offers a device being realized: its buses, lines, clocks and backends. */
public interface DeviceContext {
    GuestMemory memory();

    PioBus pio();

    PciBus pci();

    /** The board's ISA interrupt line n (0-15). */
    IrqLine isaIrq(int n);

    MsiRouter msi();

    IoEventRegistry ioevents();

    EventBus events();

    /** Guest time, standing still while the VM does not run. */
    VirtualClock clock();

    /** The machine's device timer thread. */
    ScheduledExecutorService timers();

    ChardevFactory chardevs();

    BlockGraph block();

    LifecycleController lifecycle();

    /** Where device notices go (QEMU's stderr). */
    PrintStream err();

    int cpus();

    long ramSize();

    /** Adds an ISA device to the ACPI description (DSDT) the board writes. */
    void describeIsa(AcpiIsaDevice d);

    /** Guest RAM below 4 GiB, as the board splits it (what the CMOS and the PCI hole start from). */
    default long ramBelow4g() {
        return ramSize();
    }

    /** Guest RAM mapped from 4 GiB up. */
    default long ramAbove4g() {
        return 0;
    }

    /** What the host bridge's PAM and SMRAM registers switch; fixed RAM when a kernel boots directly. */
    /** The machine's net clients: NICs find their netdev here and add their queues (-device ...,netdev=). */
    default NetClients net() {
        throw new UnsupportedOperationException("this machine has no network");
    }

    default LowMemoryWindows lowMemory() {
        return LowMemoryWindows.FIXED_RAM;
    }

    /** -rtc: where the RTC's clock starts, which host clock drives it, and whether it slews lost ticks. */
    default RtcOptions rtc() {
        return RtcOptions.DEFAULT;
    }

    /**
     * A firmware file (an option ROM's romfile) by the machine's firmware search rules; here the name as a
     * path only, boards with firmware directories (-L, the system's QEMU directories) look there too.
     */
    default Optional<byte[]> firmwareFile(String name) {
        try {
            Path p = Path.of(name);
            return Files.isRegularFile(p) ? Optional.of(Files.readAllBytes(p)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Adds a file for the firmware to fw_cfg (an option ROM with rombar=0, "genroms/NAME"). A board without
     * fw_cfg has nowhere to put it, as QEMU's rom_add_file then only keeps the ROM in its own list.
     */
    default void addFirmwareFile(String name, byte[] content) {
    }
}
