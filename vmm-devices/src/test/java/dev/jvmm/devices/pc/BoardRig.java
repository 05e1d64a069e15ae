package dev.jvmm.devices.pc;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.event.EventBus;
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
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.IntStream;

/** A pc board over plain buses and a small RAM, without KVM: what vmm-cli's PcMachine builds, minus the vCPUs. */
final class BoardRig implements AutoCloseable {
    static final long RAM = 128L << 20;

    final PioBus pio = new PioBus();
    final EventBus events = new EventBus();
    final GuestMemory memory = GuestMemory.allocate(List.of(new RamRange(0, 2L << 20)));
    final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "board-rig-timers");
        t.setDaemon(true);
        return t;
    });
    final LifecycleController lifecycle = new LifecycleController(events, new VcpuControl() {
        @Override
        public void pauseAll() {
        }

        @Override
        public void resumeAll() {
        }

        @Override
        public void resetAll() {
        }

        @Override
        public void exitProcess(int status) {
        }
    }, ActionSettings.defaults());
    final ChardevFactory chardevs = new ChardevFactory(() -> null);
    final PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(pio, new MmioBus()));
    final DeviceModel model;
    final PcBoard board;

    private final int cpus;

    /** machine: -machine properties ("hpet=off,..."), serials: -serial values, globals: DRIVER.PROP=VALUE each. */
    BoardRig(String machine, boolean nodefaults, int cpus, List<String> serials, String... globals) {
        Globals g = new Globals();
        for (String s : globals) {
            int dot = s.indexOf('.');
            int eq = s.indexOf('=');
            g.add(s.substring(0, dot), s.substring(dot + 1, eq), s.substring(eq + 1));
        }
        model = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), g, PcMachineType.NAME);
        PcProperties pc = PcPropertiesTest.parse(machine);
        this.cpus = cpus;
        List<String> ids = PcBoard.serialChardevs(chardevs, serials);
        board = new PcBoard(model, new PcBoard.Config(pc, pc.acpi(), nodefaults, "qemu64-x86_64-cpu", cpus, cpus,
                1, cpus, 1, IntStream.range(0, cpus).boxed().toList(), RAM, ids));
        model.bind(new Context());
    }

    /** The board as pc_init1 makes it; the IDE function and its drives (drives of them) only take numbers. */
    BoardRig build(int ideDrives) {
        board.createBaseDevices();
        for (int i = 0; i <= ideDrives; i++) {
            model.skipUnattached();
        }
        board.createPowerManagement();
        return this;
    }

    @Override
    public void close() {
        board.close();
        timers.shutdownNow();
        lifecycle.close();
        memory.close();
    }

    private final class Context implements DeviceContext {
        private final VirtualClock clock = new VirtualClock(System::nanoTime, timers);

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
            return null;
        }

        @Override
        public IoEventRegistry ioevents() {
            return null;
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
            return null;
        }

        @Override
        public LifecycleController lifecycle() {
            return lifecycle;
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
            return RAM;
        }

        @Override
        public void describeIsa(AcpiIsaDevice d) {
            board.describeIsa(d);
        }
    }
}
