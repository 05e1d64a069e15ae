package dev.jvmm.devices.model;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.qom.Globals;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A pc-like board for device tests without KVM: guest RAM, port and memory buses, pci.0 and isa.0, guest
 * time (running), chardevs, a lifecycle policy over no vCPUs, and the device model creating -device
 * arguments against it with every type vmm-devices declares. Events and stderr are recorded.
 */
public final class TestBoard implements DeviceContext, AutoCloseable {
    public static final long RAM = 64L << 20;

    public final GuestMemory memory = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    public final PioBus pio = new PioBus();
    public final MmioBus mmio = new MmioBus();
    public final PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, mmio));
    public final EventBus events = new EventBus();
    public final List<VmEvent> published = new CopyOnWriteArrayList<>();
    /** What the lifecycle policy asked of the (absent) vCPUs: "reset", "nmi", "exit N". */
    public final List<String> vcpuRequests = new CopyOnWriteArrayList<>();
    public final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    public final VirtualClock clock = new VirtualClock(System::nanoTime, timers);
    public final ChardevFactory chardevs = new ChardevFactory(() -> {
        throw new IllegalStateException("no I/O loop on the test board");
    });
    public final List<AcpiIsaDevice> acpi = new CopyOnWriteArrayList<>();
    public final LifecycleController lifecycle;
    public final DeviceModel model;
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    public TestBoard() {
        this(ActionSettings.defaults(), new Globals());
    }

    public TestBoard(ActionSettings actions, Globals globals) {
        events.subscribe((e, t) -> published.add(e));
        lifecycle = new LifecycleController(events, new VcpuControl() {
            @Override
            public void pauseAll() {
            }

            @Override
            public void resumeAll() {
            }

            @Override
            public void resetAll() {
                vcpuRequests.add("reset");
            }

            @Override
            public void exitProcess(int status) {
                vcpuRequests.add("exit " + status);
            }

            @Override
            public void injectNmi() {
                vcpuRequests.add("nmi");
            }
        }, actions);
        clock.resume();
        model = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), globals, "pc-i440fx-7.2-machine");
        model.addBus(model.machineNode().addChild("i440fx", "i440FX-pcihost"), "pci.0", "PCI", pci);
        model.addBus(model.machineNode(), "isa.0", "ISA", pio);
        model.bind(this);
    }

    /** -device TEXT. */
    public DeviceModel.Device add(String text) {
        return model.add(QemuOpts.parse("-device " + text, text, "driver"));
    }

    /** The message of -device TEXT's refusal (without the option). */
    public String refusal(String text) {
        return assertThrows(OptionException.class, () -> add(text)).getMessage();
    }

    public QomNode node(String path) {
        return model.tree().resolve(path).orElseThrow(() -> new AssertionError("no QOM node " + path));
    }

    /** What devices printed on stderr so far. */
    public String errText() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        model.closeAll();
        lifecycle.close();
        timers.shutdownNow();
        chardevs.closeAll();
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
        return clock;
    }

    @Override
    public ScheduledExecutorService timers() {
        return timers;
    }

    @Override
    public ChardevFactory chardevs() {
        return chardevs;
    }

    @Override
    public BlockGraph block() {
        throw new UnsupportedOperationException("no block graph on the test board");
    }

    @Override
    public LifecycleController lifecycle() {
        return lifecycle;
    }

    @Override
    public PrintStream err() {
        return err;
    }

    @Override
    public int cpus() {
        return 1;
    }

    @Override
    public long ramSize() {
        return RAM;
    }

    @Override
    public void describeIsa(AcpiIsaDevice d) {
        acpi.add(d);
    }
}
