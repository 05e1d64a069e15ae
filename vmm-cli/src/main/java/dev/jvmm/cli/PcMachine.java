package dev.jvmm.cli;

import dev.jvmm.core.block.BlockControl;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ObjectControl;
import dev.jvmm.core.machine.CommandLineOption;
import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.HotplugControl;
import dev.jvmm.core.machine.MemoryControl;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.PciControl;
import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.RtcControl;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.LowMemoryWindows;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.objects.MemoryBackend;
import dev.jvmm.core.objects.UserObjects;
import dev.jvmm.core.os.LibC;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.vmstate.MachineState;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.isa.RtcOptions;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.pc.PcBoard;
import dev.jvmm.devices.pc.PcCpuHotplug;
import dev.jvmm.devices.pc.PcMachineType;
import dev.jvmm.devices.pc.PcProperties;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;
import dev.jvmm.devices.virtio.BalloonHandle;
import dev.jvmm.devices.fwcfg.FwCfgIo;
import dev.jvmm.devices.pc.PcFirmwareConfig;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.kvm.CpuModelCatalog;
import dev.jvmm.kvm.CpuTopology;
import dev.jvmm.kvm.CpuTypes;
import dev.jvmm.kvm.FirmwareMemory;
import dev.jvmm.kvm.Kvm;
import dev.jvmm.kvm.KvmVm;
import dev.jvmm.kvm.LifecycleExits;
import dev.jvmm.kvm.Vcpu;
import dev.jvmm.kvm.VcpuQom;
import dev.jvmm.kvm.VcpuSet;
import dev.jvmm.kvm.boot.BootEntry;
import dev.jvmm.kvm.boot.FirmwareKernel;
import dev.jvmm.kvm.boot.KernelLoader;
import dev.jvmm.kvm.boot.MemoryLayout;
import dev.jvmm.qmp.QmpEndpoint;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * QEMU's "pc" machine as jvmm builds it: guest RAM, a KVM VM with in-kernel irqchip and PIT, one thread per
 * vCPU, the legacy ISA devices, and the kernel loaded the way -kernel asks. It is the machine control API
 * that QMP drives and the vCPU control the shared lifecycle policy drives.
 */
final class PcMachine implements LaunchedMachine, VcpuControl, AutoCloseable {
    private final MachineConfig config;
    private final KernelLoader.Request kernel;
    /** -kernel as QEMU hands it to the firmware through fw_cfg; null without -kernel. */
    private final FirmwareKernel firmwareKernel;
    private final PrintStream err;
    private final MemoryLayout layout;
    private final GuestMemory memory;
    private final Kvm kvm;
    private final KvmVm vm;
    private final VcpuSet vcpus;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final EventBus events = new EventBus();
    private final LifecycleController lifecycle;
    private final ChardevFactory chardevs;
    /** Device timers (RTC interrupts, PM timer overflow): one daemon thread for the machine. */
    private final ScheduledExecutorService timers;
    /** Guest time (QEMU's virtual clock): stands still while the VM does not run; watchdogs and balloon polling. */
    private final VirtualClock clock;
    private final PciBus pci;
    /** The board's devices, made through the device model, and SeaBIOS's part on reset. */
    private final PcBoard board;
    private FwCfgIo fwCfg;
    /** -boot order=, which a reset restores after once=. */
    private String bootOrder;
    /** QEMU's pc boot order without -boot: disk, floppy, CD-ROM. */
    private static final String DEFAULT_BOOT_ORDER = "cad";
    /** The firmware image mapped at the top of 4 GiB; null when jvmm enters a -kernel directly. */
    private final GuestMemory rom;
    /** fw_cfg files the devices add (option ROMs with rombar=0), in the order they were realized. */
    private final List<PcFirmwareConfig.UserFile> deviceFirmwareFiles = new ArrayList<>();
    /** The block graph; the disks over it are the device model's. */
    private final BlockBackends drives;
    /** Every device's type, properties and QOM node; -device and the legacy options create through it. */
    private final DeviceModel devices;
    private final CpuTopology topology;
    /** The vCPUs by slot, which CPU hotplug changes. */
    private final MachineVcpus slots;
    /** device_add and device_del of CPUs, through the PM's CPU hotplug block. */
    private final PcCpuHotplug cpuHotplug;
    private IoLoop ioLoop;
    private final Supplier<IoLoop> ioLoops;
    /** The machine's network: backends, NIC queues and hubs; delivery follows the run state. */
    private final MachineNetwork network;
    /** Memory devices: DIMMs, their hotplug interface and what QMP reports of them. */
    private MachineMemory memoryDevices;

    PcMachine(MachineConfig config, KernelLoader.Request kernel, Kvm kvm, ActionSettings actions, PrintStream err) {
        this(config, kernel, kvm, actions, err, Launcher.Startup.PLAIN);
    }

    PcMachine(MachineConfig config, KernelLoader.Request kernel, Kvm kvm, ActionSettings actions, PrintStream err,
            Launcher.Startup startup) {
        StartupTrace trace = startup.trace();
        this.ioLoops = startup.ioLoop();
        this.config = config;
        this.kernel = kernel;
        this.err = err;
        this.kvm = kvm;
        PcProperties pc = config.pc();
        kvm.checkVcpuCounts(config.smp().cpus(), config.smp().maxcpus(),
                w -> err.println(Main.PROGRAM + ": warning: " + w));
        this.layout = MemoryLayout.pc(config.ramBytes(), pc.maxRamBelow4g());
        this.firmwareKernel = FirmwareKernels.of(config, kernel, layout.lowRamEnd());
        if (MemoryLayout.splitNotGigabyteAligned(config.ramBytes(), pc.maxRamBelow4g())) {
            err.println(Main.PROGRAM + ": warning: Large machine and max_ram_below_4g (" + pc.maxRamBelow4g()
                    + ") not a multiple of 1G; possible bad performance.");
        }
        HostOptions host = config.host();
        boolean userBackend = host.memoryBackend().isPresent();
        MemoryBackend backend = userBackend
                ? host.objects().memoryBackend(host.memoryBackend().get()).orElseThrow()
                : host.objects().addDefaultRam(config.ramBytes(), pc.memMerge(), pc.dumpGuestCore());
        host.objects().markInUse(backend.id());
        try {
            this.memory = backend.map(layout.ramRanges());
        } catch (IllegalStateException e) {
            throw new LaunchException(userBackend ? e.getMessage()
                    : "cannot set up guest memory 'pc.ram': Cannot allocate memory");
        }
        // A backend's merge= and dump= win over the machine's, which are only their defaults (as in QEMU).
        memory.adviseHost(backend.merge() != null ? backend.merge() : pc.memMerge(),
                backend.dump() != null ? backend.dump() : pc.dumpGuestCore());
        if (host.memLock()) {
            memory.populate(LibC.MADV_POPULATE_WRITE);
        }
        host.objects().start();
        trace.mark("guest memory");
        this.vm = kvm.createVm(pc.pit());
        LowMemoryWindows lowMemory = LowMemoryWindows.FIXED_RAM;
        if (config.firmwareBoot()) {
            byte[] bios = config.firmware().readBios();
            rom = GuestMemory.allocate(List.of(new RamRange(FirmwareMemory.FOUR_GIB - bios.length, bios.length)));
            rom.write(FirmwareMemory.FOUR_GIB - bios.length, bios, 0, bios.length);
            lowMemory = new FirmwareMemory(vm, memory, rom);
        } else {
            rom = null;
            vm.registerMemory(memory);
        }
        SmpTopology smp = config.smp();
        this.topology = new CpuTopology(smp.sockets(), smp.cores(), smp.threads());
        CpuModel model;
        try {
            model = CpuModel.parse(config.cpu(), kvm.hostCpu(), topology);
        } catch (CpuModel.CpuError e) {
            e.warnings().forEach(w -> err.println(Main.PROGRAM + ": warning: " + w));
            throw new LaunchException(e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new LaunchException(e.getMessage());
        }
        List<Vcpu> cpus = new ArrayList<>();
        for (int i = 0; i < smp.cpus(); i++) {
            // QEMU realizes, and so filters and warns, each vCPU on its own: -smp 2 prints every line twice.
            model.warnings().forEach(w -> err.println(Main.PROGRAM + ": warning: " + w));
            Vcpu cpu = vm.createVcpu(i, model);
            // The first vCPU tells which feature MSRs KVM really takes; the others get the same model.
            model = cpu.model();
            cpus.add(cpu);
        }
        this.vcpus = new VcpuSet(cpus);
        trace.mark("vm and vcpus");
        MachineMemory.check(config);
        vcpus.nameThreads(host::vcpuThreadName);
        this.lifecycle = new LifecycleController(events, this, actions);
        this.chardevs = new ChardevFactory(this::ioLoop);
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jvmm-timers");
            t.setDaemon(true);
            return t;
        });
        this.clock = new VirtualClock(System::nanoTime, timers);
        lifecycle.runState().addListener((from, to) -> {
            if (to == RunState.RUNNING) {
                clock.resume();
            } else if (from == RunState.RUNNING) {
                clock.pause();
            }
        });
        this.network = new MachineNetwork(lifecycle, timers);
        NetClients net = network.clients();

        List<Integer> apicIds = IntStream.range(0, smp.maxcpus()).map(topology::apicId).boxed().toList();
        this.slots = new MachineVcpus(vm, vcpus, model, topology, smp.maxcpus(), err);
        this.cpuHotplug = new PcCpuHotplug(model.typeName(), smp.cores(), smp.threads(), apicIds,
                smp.cpus(), slots);
        List<DeviceClass> classes = new ArrayList<>(DeviceCatalog.classes());
        classes.addAll(cpuHotplug.deviceClasses(CpuTypes.all()));
        devices = new DeviceModel(registry(), classes, config.globals(), PcMachineType.NAME);
        trace.mark("device types");
        cpuHotplug.register(devices);
        host.objects().describe(devices.tree().root().child("objects").orElseThrow());
        pci = new PciBus(new PciInterruptRouter(vm::line), BarMapper.of(pio, mmio));
        RtcOptions rtc = config.rtc() == null ? RtcOptions.DEFAULT : RtcOptions.parse(config.rtc());
        AddFdOptions.apply(config.addFds(), lifecycle.fdSets());
        chardevs.useFdSets(lifecycle.fdSets());
        openChardevs();
        board = new PcBoard(devices, new PcBoard.Config(pc, config.acpi(), config.nodefaults(),
                model.typeName(), smp.cpus(), smp.maxcpus(), smp.sockets(), smp.cores(),
                smp.threads(), apicIds,
                config.ramBytes(), PcBoard.serialChardevs(chardevs, config.serials())));
        drives = new BlockBackends(config, events, lifecycle.mainLoop(), lifecycle::requestIoErrorStop,
                lifecycle.fdSets());
        devices.bind(new PcDeviceContext(memory, pio, pci, vm::line, vm, vm, events, clock, timers, chardevs,
                drives.graph(), lifecycle, err, smp.cpus(), config.ramBytes(), board::describeIsa, layout.lowRamEnd(),
                layout.highRamSize(), rtc, lowMemory, config.firmware()::find, deviceFirmwareFiles, net));
        try {
            // QEMU's net_init_clients runs before any device is made
            boolean hasDefault = network.hasDefault();
            List<NetOptions.Nic> nics = network.build(config.net(), hasDefault);
            boolean keepDefaultSlot = config.net().defaultNet() && !hasDefault;
            board.createBaseDevices(keepDefaultSlot ? null : () -> MachineNetwork.createNics(devices, nics));
            for (int i = 0; i < smp.cpus(); i++) {
                VcpuQom.describe(board.cpuNode(i), vcpus.get(i).model(), i, topology);
                slots.bootCpu(i, board.cpuNode(i));
            }
            // QEMU's pc_init1 makes the IDE function and the devices of the if=ide drives before any -device.
            devices.addUnattached("piix3-ide", Map.of("addr", "01.1"));
            drives.addIdeDriveDevices(devices);
            board.createPowerManagement();
            board.cpuHotplug().ifPresent(r -> cpuHotplug.connect(r, board.pm().orElseThrow()));
            cpuHotplug.bootCpuNodes(board::cpuNode);
            cpuHotplug.onCpuCount(n -> board.rtc().setCmosByte(PcCpuHotplug.CMOS_SMP_COUNT, n - 1));
            memoryDevices = MachineMemory.install(config, layout, devices, board, host.objects(), vm, pio,
                    events, lifecycle.mainLoop());
            config.devices().forEach(devices::add);
            drives.addDefaultDevices(devices);
            drives.checkOrphans();
            devices.machineReady();
            trace.mark("devices");
            devices.globals().warnings(devices.types())
                    .forEach(w -> err.println(Main.PROGRAM + ": warning: " + w));
            network.warn(err);
        } catch (RuntimeException e) {
            // A refused option must not leave images open and locked (a process that goes on, like a test).
            board.close();
            drives.close();
            network.close();
            throw e;
        }
        if (devices.machineNode().has("memory-backend")) {
            // the machine's link to the backend its RAM comes from, the default one included (as in QEMU)
            String backendPath = "/objects/" + backend.id();
            devices.machineNode().setGetter("memory-backend", () -> backendPath);
        }
        board.hpet().ifPresent(h -> {
            h.attach(mmio);
            h.setLegacyRouting(pitEnabled -> vm.setPitHpetLegacy(!pitEnabled));
        });
        fwCfg = new FwCfgIo(new FwCfgContent(config, layout, model, topology, board, devices, deviceFirmwareFiles,
                err).build(FirmwareKernels.items(firmwareKernel, config, err)), memory);
        fwCfg.attach(pio);
        // -boot order= and once= reach SeaBIOS through the CMOS boot bytes, as QEMU's pc_cmos_init writes
        // them; once= holds for the first boot only (QEMU's restore_boot_order on the first reset).
        Map<String, String> boot = config.host().boot();
        bootOrder = boot.getOrDefault("order", DEFAULT_BOOT_ORDER);
        board.rtc().setBootOrder(boot.getOrDefault("once", bootOrder), true);
        if (rom == null) {
            board.firmwareSetup();
        }
        loadKernel();
        trace.mark("firmware tables and kernel");
    }

    /** Every type this machine knows: the devices' declarations and the CPU models'. */
    static TypeRegistry registry() {
        return DeviceCatalog.registry().registerAll(CpuTypes.all()).registerAll(UserObjects.types());
    }

    /** The -chardev backends (monitors excepted). */
    private void openChardevs() {
        for (String c : config.chardevs()) {
            if (!QmpEndpoint.isMonitorChardev(c, config.monitors())) {
                chardevs.fromChardevOption(c);
            }
        }
    }

    /** Writes the kernel (and initrd, command line, boot structures) into RAM; also on every reset. */
    private void loadKernel() {
        if (rom != null) {
            if (firmwareKernel != null) {
                // a PVH kernel's segments, which QEMU writes into RAM as ROM blobs at every reset
                firmwareKernel.loadIntoRam(memory);
            }
            vcpus.get(0).resetToPowerOn();
            return;
        }
        BootEntry entry = KernelLoader.load(memory, layout, kernel);
        board.installAcpi(memory).ifPresent(rsdp -> KernelLoader.setRsdp(memory, entry, rsdp));
        vcpus.get(0).resetToEntry(entry);
    }

    /** Every device back to power-on state, then the firmware's set-up again. */
    private void resetDevices() {
        board.reset();
        vm.resetInterruptState();
        fwCfg.reset();
        board.rtc().setBootOrder(bootOrder, true);
        if (rom == null) {
            board.firmwareSetup();
        }
    }

    /**
     * Every device's state, the board's included, as vmstate sections keyed by QOM path, taken with the
     * vCPUs out of KVM_RUN. The vCPUs' registers and KVM's own devices (irqchip, PIT, clock) are not in it.
     */
    MachineState saveDeviceState() {
        return vcpus.whilePaused(() -> MachineState.save(stateParts()));
    }

    /** Restores saveDeviceState's sections into this machine, built from the same command line. */
    void restoreDeviceState(MachineState saved) throws StateException {
        StateException[] failed = new StateException[1];
        vcpus.whilePaused(() -> {
            try {
                saved.restore(stateParts());
            } catch (StateException e) {
                failed[0] = e;
            }
            return null;
        });
        if (failed[0] != null) {
            throw failed[0];
        }
    }

    /** The devices' sections and the PCI bus's (its INTx levels, and BAR mappings redone after a load). */
    private List<MachineState.Part> stateParts() {
        List<MachineState.Part> parts = new ArrayList<>(devices.stateParts());
        parts.add(new MachineState.Part(devices.bus("pci.0").orElseThrow().node().path(), "PCI", pci));
        return parts;
    }

    @Override
    public synchronized IoLoop ioLoop() {
        if (ioLoop == null) {
            ioLoop = ioLoops.get();
        }
        return ioLoop;
    }

    /** Starts the vCPU threads; without -S the guest runs at once. */
    @Override
    public void start() {
        vcpus.start(pio, mmio, new LifecycleExits(lifecycle, memory, err), true);
        lifecycle.start(!config.startPaused());
    }

    // ---- VcpuControl: what the lifecycle policy asks of the vCPUs ----

    @Override
    public void pauseAll() {
        vcpus.pauseAll();
    }

    @Override
    public void resumeAll() {
        vcpus.resumeAll();
    }

    @Override
    public void resetAll() {
        resetDevices();
        loadKernel();
        for (int i = 1; i < vcpus.vcpus().size(); i++) {
            vcpus.get(i).resetAsAp();
        }
    }

    /**
     * Resume from S3 as firmware does it: devices reset, RAM kept, WAK_STS set, and the boot processor in
     * real mode at the FACS waking vector (ACPI 6.4 section 16.3.2). Without a vector the guest boots anew.
     * The PM block records why (WAK_STS with RTC_STS or PWRBTN_STS), after its reset, as QEMU's notifier.
     */
    @Override
    public void resetForWakeup(WakeupReason reason) {
        resetDevices();
        board.wakeup(reason);
        // With firmware, SeaBIOS finds CMOS 0x0f = 0xfe on the reset and resumes the guest itself; without it
        // jvmm plays that part, clearing the byte as SeaBIOS does.
        long vector = rom != null ? 0 : board.wakingVector(memory);
        if (rom == null) {
            board.rtc().clearShutdownStatus();
        }
        if (vector == 0 || vector >= 0x100000) {
            loadKernel();
        } else {
            vcpus.get(0).resetToRealMode((int) (vector >>> 4), (int) (vector & 0xf));
        }
        for (int i = 1; i < vcpus.vcpus().size(); i++) {
            vcpus.get(i).resetAsAp();
        }
    }

    /** QEMU's NMI to every CPU (watchdog inject-nmi): KVM_NMI on each vCPU, taken out of KVM_RUN for it. */
    @Override
    public void injectNmi() {
        try {
            vcpus.whilePaused(() -> {
                vcpus.vcpus().forEach(Vcpu::injectNmi);
                return null;
            });
        } catch (RuntimeException e) {
            err.println(Main.PROGRAM + ": warning: NMI injection failed: " + e.getMessage());
        }
    }

    @Override
    public boolean wakeupSupported() {
        return board.pm().isPresent();
    }

    @Override
    public void powerButton() {
        board.pm().ifPresent(Piix4Pm::powerButton);
    }

    /**
     * Ends the process at once, as QEMU's exit() does: nothing else runs in the guest. Chardevs are flushed
     * first so the guest's last output is not lost.
     */
    @Override
    public void exitProcess(int status) {
        // The vCPUs leave KVM_RUN first, so the guest touches no device while the devices close.
        vcpus.pauseAll();
        // QEMU flushes and closes every image on exit; qcow2 metadata and snapshot overlays depend on it.
        devices.closeAll();
        drives.close();
        network.close();
        chardevs.closeAll();
        err.flush();
        System.out.flush();
        ProcessExit.now(status);
    }

    // ---- MachineControl: what QMP asks ----

    @Override
    public LifecycleController lifecycle() {
        return lifecycle;
    }

    @Override
    public MachineInfo info() {
        return info;
    }

    @Override
    public BlockControl block() {
        return drives.graph();
    }

    @Override
    public ChardevControl chardevs() {
        return chardevs;
    }

    @Override
    public HotplugControl hotplug() {
        return new MachineHotplug(devices, clock, memoryDevices::ospmStatus, cpuHotplug::ospmStatus,
                board.pm().isPresent());
    }

    @Override
    public MemoryControl memory() {
        return memoryDevices;
    }

    @Override
    public PciControl pci() {
        return pci::describe;
    }

    @Override
    public NetControl net() {
        return network.control();
    }

    @Override
    public BalloonControl balloon() {
        return BalloonHandle.control(devices);
    }

    @Override
    public QomControl qom() {
        return devices.qom();
    }

    @Override
    public ObjectControl objects() {
        return config.host().objects();
    }

    @Override
    public CpuModelControl cpuModels() {
        return new CpuModelCatalog(kvm.hostCpu());
    }

    @Override
    public List<CommandLineOption> commandLineOptions() {
        return CommandLineOptions.ALL;
    }

    @Override
    public RtcControl rtc() {
        return () -> board.rtc().resetReinjection();
    }

    /** The descriptive queries; it reads the machine's state when asked, so it exists before the devices. */
    private final MachineInfo info = new PcMachineInfo(this::machineConfig, this::vcpuSlots, this::vcpuSet,
            this::guestMemory);

    private MachineConfig machineConfig() {
        return config;
    }

    private MachineVcpus vcpuSlots() {
        return slots;
    }

    private VcpuSet vcpuSet() {
        return vcpus;
    }

    private GuestMemory guestMemory() {
        return memory;
    }

    @Override
    public void close() {
        vcpus.close();
        config.host().objects().close();
        devices.closeAll();
        drives.close();
        network.close();
        timers.shutdownNow();
        board.close();
        chardevs.closeAll();
        if (ioLoop != null) {
            ioLoop.close();
        }
        vm.close();
        memory.close();
        if (rom != null) {
            rom.close();
        }
        kvm.close();
    }
}
