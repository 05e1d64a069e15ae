package dev.jvmm.cli;

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
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.pc.PcFirmwareConfig;
import dev.jvmm.devices.pci.PciBus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * What the pc machine offers the devices it realizes. firmwareSearch finds firmware files as -L and QEMU's
 * system directories say; firmwareFiles collects the fw_cfg files devices add (option ROMs with rombar=0),
 * which the machine puts into fw_cfg after the devices; net is the machine's net clients, where a NIC's
 * netdev= is found and its queues go.
 */
record PcDeviceContext(GuestMemory memory, PioBus pio, PciBus pci, IntFunction<IrqLine> isaLines, MsiRouter msi,
                       IoEventRegistry ioevents, EventBus events, VirtualClock clock,
                       ScheduledExecutorService timers, ChardevFactory chardevs, BlockGraph block,
                       LifecycleController lifecycle, PrintStream err, int cpus, long ramSize,
                       Consumer<AcpiIsaDevice> acpi, long ramBelow4g, long ramAbove4g, RtcOptions rtc,
                       LowMemoryWindows lowMemory, Function<String, Optional<Path>> firmwareSearch,
                       List<PcFirmwareConfig.UserFile> firmwareFiles, NetClients net)
        implements DeviceContext {
    @Override
    public Optional<byte[]> firmwareFile(String name) {
        return firmwareSearch.apply(name).flatMap(p -> {
            try {
                return Optional.of(Files.readAllBytes(p));
            } catch (IOException e) {
                return Optional.empty();
            }
        });
    }

    @Override
    public void addFirmwareFile(String name, byte[] content) {
        firmwareFiles.add(new PcFirmwareConfig.UserFile(name, content));
    }

    @Override
    public IrqLine isaIrq(int n) {
        return isaLines.apply(n);
    }

    @Override
    public void describeIsa(AcpiIsaDevice d) {
        acpi.accept(d);
    }
}
