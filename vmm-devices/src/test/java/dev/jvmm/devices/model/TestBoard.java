package dev.jvmm.devices.model;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
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
import dev.jvmm.core.net.NetClients;
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
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A pc-like board for device tests without KVM: guest RAM, port and memory buses, pci.0 and isa.0, guest
 * time (running), chardevs, the block graph, a lifecycle policy over no vCPUs, and the device model creating
 * -device arguments against it with every type vmm-devices declares. Events and stderr are recorded.
 * {@link #builder()} changes the vCPU count, RAM size, actions and globals, or leaves out the buses for a
 * board under test that makes them itself.
 */
public final class TestBoard implements DeviceContext, AutoCloseable {
    public static final long RAM = 64L << 20;

    public final GuestMemory memory;
    public final PioBus pio = new PioBus();
    public final MmioBus mmio = new MmioBus();
    public final PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, mmio));
    public final EventBus events = new EventBus();
    public final List<VmEvent> published = new CopyOnWriteArrayList<>();
    public final Vcpus vcpus = new Vcpus();
    /** What the lifecycle policy asked of the (absent) vCPUs: "reset", "nmi", "exit N". */
    public final List<String> vcpuRequests = vcpus.requests;
    public final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-board-timers");
        t.setDaemon(true);
        return t;
    });
    public final VirtualClock clock = new VirtualClock(System::nanoTime, timers);
    public final ChardevFactory chardevs = new ChardevFactory(() -> {
        throw new IllegalStateException("no I/O loop on the test board");
    });
    public final BlockGraph graph = new BlockGraph(events, Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
    public final List<AcpiIsaDevice> acpi = new CopyOnWriteArrayList<>();
    /** The machine's net clients (NICs and netdevs the test adds). */
    public final NetClients net = new NetClients();
    /** fw_cfg files the devices added (option ROMs with rombar=0), by name. */
    public final Map<String, byte[]> firmwareFiles = new java.util.concurrent.ConcurrentHashMap<>();
    public final Globals globals;
    public final LifecycleController lifecycle;
    public final DeviceModel model;
    private final int cpus;
    private final long ram;
    /** The board's RAM split below/above 4 GiB, or -1 for all of {@link #ram} below. */
    private final long below4g;
    private final long above4g;
    private final Consumer<AcpiIsaDevice> describeIsa;
    private final IoEventRegistry ioevents;
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    public TestBoard() {
        this(builder());
    }

    private TestBoard(Builder b) {
        cpus = b.cpus;
        ram = b.ram;
        below4g = b.below4g;
        above4g = b.above4g;
        describeIsa = b.describeIsa;
        ioevents = b.ioevents;
        globals = b.globals;
        memory = GuestMemory.allocate(List.of(new RamRange(0, ram)));
        events.subscribe((e, t) -> published.add(e));
        lifecycle = new LifecycleController(events, vcpus, b.actions);
        clock.resume();
        model = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), globals, "pc-i440fx-7.2-machine");
        if (b.buses) {
            model.addBus(model.machineNode().addChild("i440fx", "i440FX-pcihost"), "pci.0", "PCI", pci);
            model.addBus(model.machineNode(), "isa.0", "ISA", pio);
        }
        model.bind(this);
    }

    @Override
    public NetClients net() {
        return net;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The board's options; each returns the builder. */
    public static final class Builder {
        private int cpus = 1;
        private long ram = RAM;
        private long below4g = -1;
        private long above4g;
        private ActionSettings actions = ActionSettings.defaults();
        private final Globals globals = new Globals();
        private boolean buses = true;
        private Consumer<AcpiIsaDevice> describeIsa = d -> { };
        private IoEventRegistry ioevents = IoEventRegistry.NONE;

        private Builder() {
        }

        public Builder cpus(int n) {
            cpus = n;
            return this;
        }

        /** What the context reports as RAM below and above 4 GiB (the memory itself stays {@link #ram}). */
        public Builder ramSplit(long below, long above) {
            below4g = below;
            above4g = above;
            return this;
        }

        public Builder ram(long bytes) {
            ram = bytes;
            return this;
        }

        public Builder actions(ActionSettings a) {
            actions = a;
            return this;
        }

        /** -global DRIVER.PROP=VALUE. */
        public Builder global(String text) {
            int dot = text.indexOf('.');
            int eq = text.indexOf('=');
            globals.add(text.substring(0, dot), text.substring(dot + 1, eq), text.substring(eq + 1));
            return this;
        }

        /** No pci.0 or isa.0: the board under test creates its host bridge and ISA bridge itself. */
        public Builder withoutBuses() {
            buses = false;
            return this;
        }

        /** Where ISA devices' ACPI descriptions go besides {@link TestBoard#acpi}. */
        public Builder describeIsa(Consumer<AcpiIsaDevice> to) {
            describeIsa = to;
            return this;
        }

        /** Where devices register ioeventfds (none by default: every kick goes through the handlers). */
        public Builder ioevents(IoEventRegistry registry) {
            ioevents = registry;
            return this;
        }

        public TestBoard build() {
            return new TestBoard(this);
        }
    }

    /** vCPUs that are not there: pause and resume do nothing, the rest is recorded in {@link #requests}. */
    public static class Vcpus implements VcpuControl {
        public final List<String> requests = new CopyOnWriteArrayList<>();

        @Override
        public void pauseAll() {
        }

        @Override
        public void resumeAll() {
        }

        @Override
        public void resetAll() {
            requests.add("reset");
        }

        @Override
        public void exitProcess(int status) {
            requests.add("exit " + status);
        }

        @Override
        public void injectNmi() {
            requests.add("nmi");
        }
    }

    /** The board's PIIX3 IDE function at 01.1, as the pc machine makes it. */
    public TestBoard ide() {
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
    public DeviceModel.Device add(String text) {
        return model.add(QemuOpts.parse("-device " + text, text, "driver"));
    }

    /** The message of -device TEXT's refusal (without the option). */
    public String refusal(String text) {
        return assertThrows(OptionException.class, () -> add(text)).getMessage();
    }

    /** The error r gets, as the launcher prints it after "jvmm: " (with the option). */
    public static String error(Runnable r) {
        try {
            r.run();
        } catch (OptionException e) {
            return e.formatted();
        }
        throw new AssertionError("no error");
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
        graph.close();
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
        return ioevents;
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
        return graph;
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
    public void addFirmwareFile(String name, byte[] content) {
        firmwareFiles.put(name, content);
    }

    @Override
    public int cpus() {
        return cpus;
    }

    @Override
    public long ramSize() {
        return ram;
    }

    @Override
    public long ramBelow4g() {
        return below4g < 0 ? ram : below4g;
    }

    @Override
    public long ramAbove4g() {
        return below4g < 0 ? 0 : above4g;
    }

    @Override
    public void describeIsa(AcpiIsaDevice d) {
        acpi.add(d);
        describeIsa.accept(d);
    }
}
