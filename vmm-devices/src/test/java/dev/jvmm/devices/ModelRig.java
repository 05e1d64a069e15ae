package dev.jvmm.devices;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.qom.Globals;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A pc machine's device model without KVM: pci.0, guest RAM, the block graph and the catalog's classes, for
 * creating devices as the board and -device do and looking at what they became.
 */
public final class ModelRig implements DeviceContext, AutoCloseable {
    public final GuestMemory memory = GuestMemory.allocate(java.util.List.of(new RamRange(0, 4 << 20)));
    public final PioBus pio = new PioBus();
    public final PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, new MmioBus()));
    public final EventBus events = new EventBus();
    public final BlockGraph graph = new BlockGraph(events, Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
    public final Globals globals = new Globals();
    public final DeviceModel model = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), globals,
            "pc-i440fx-7.2-machine");
    private final int cpus;

    public ModelRig(int cpus) {
        this.cpus = cpus;
        model.addBus(model.machineNode().addChild("i440fx", "i440FX-pcihost"), "pci.0", "PCI", pci);
        model.bind(this);
    }

    public ModelRig() {
        this(1);
    }

    /** The board's PIIX3 IDE function at 01.1, as the pc machine makes it. */
    public ModelRig board() {
        model.addUnattached("piix3-ide", Map.of("addr", "01.1"));
        return this;
    }

    /** -drive TEXT, its errors under the option. */
    public Drive drive(String text) {
        try {
            return graph.addDrive(DriveOptions.parse("-drive " + text, text));
        } catch (OptionException e) {
            throw e.option() == null ? new OptionException("-drive " + text, e.getMessage()) : e;
        }
    }

    /** -device TEXT. */
    public DeviceModel.Device device(String text) {
        return model.add(QemuOpts.parse("-device " + text, text, "driver"));
    }

    /** The error -device TEXT gets, as the launcher prints it after "jvmm: ". */
    public static String error(Runnable r) {
        try {
            r.run();
        } catch (OptionException e) {
            return e.formatted();
        }
        throw new AssertionError("no error");
    }

    @Override
    public void close() {
        model.closeAll();
        graph.close();
        memory.close();
    }

    // ---- DeviceContext

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public PioBus pio() {
        return pio;
    }

    @Override
    public PciBus pci() {
        return pci;
    }

    @Override
    public IrqLine isaIrq(int n) {
        return IrqLine.NONE;
    }

    @Override
    public MsiRouter msi() {
        return () -> new MsiRouter.MsiVector() {
            @Override
            public void update(long address, int data) {
            }

            @Override
            public void trigger() {
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public IoEventRegistry ioevents() {
        return IoEventRegistry.NONE;
    }

    @Override
    public EventBus events() {
        return events;
    }

    @Override
    public VirtualClock clock() {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledExecutorService timers() {
        throw new UnsupportedOperationException();
    }

    @Override
    public ChardevFactory chardevs() {
        throw new UnsupportedOperationException();
    }

    @Override
    public BlockGraph block() {
        return graph;
    }

    @Override
    public LifecycleController lifecycle() {
        throw new UnsupportedOperationException();
    }

    @Override
    public PrintStream err() {
        return System.err;
    }

    @Override
    public int cpus() {
        return cpus;
    }

    @Override
    public long ramSize() {
        return memory.totalSize();
    }

    @Override
    public void describeIsa(AcpiIsaDevice d) {
    }
}
