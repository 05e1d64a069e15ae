package dev.jvmm.cli;

import dev.jvmm.core.block.BlockDeviceInfo;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockInfo;
import dev.jvmm.core.block.BlockStatsInfo;
import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.VcpuControl;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.state.RunState;
import dev.jvmm.devices.acpi.AcpiConfig;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.acpi.AcpiLayout;
import dev.jvmm.devices.acpi.AcpiTables;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.acpi.SleepRequest;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.isa.CmosRtc;
import dev.jvmm.devices.isa.I8042;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.isa.Port92;
import dev.jvmm.devices.isa.PostCodePort;
import dev.jvmm.devices.isa.RtcOptions;
import dev.jvmm.devices.isa.Uart16550;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.I440fxHostBridge;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciHostBridge;
import dev.jvmm.devices.pci.PciInterruptRouter;
import dev.jvmm.devices.pci.Piix3IsaBridge;
import dev.jvmm.devices.virtio.BalloonControl;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.kvm.CpuTopology;
import dev.jvmm.kvm.Kvm;
import dev.jvmm.kvm.KvmVm;
import dev.jvmm.kvm.Vcpu;
import dev.jvmm.kvm.VcpuExitHandler;
import dev.jvmm.kvm.VcpuSet;
import dev.jvmm.kvm.boot.BootEntry;
import dev.jvmm.kvm.boot.KernelLoader;
import dev.jvmm.kvm.boot.MemoryLayout;
import dev.jvmm.qmp.QmpEndpoint;

import java.io.PrintStream;
import java.time.Clock;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's "pc" machine as jvmm builds it: guest RAM, a KVM VM with in-kernel irqchip and PIT, one thread per
 * vCPU, the legacy ISA devices, and the kernel loaded the way -kernel asks. It is the machine control API
 * that QMP drives and the vCPU control the shared lifecycle policy drives.
 */
final class PcMachine implements MachineControl, VcpuControl, VcpuExitHandler, AutoCloseable {
    /** COM1-COM4 as on a PC: base port and ISA IRQ. */
    private static final int[] COM_BASES = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
    private static final int[] COM_IRQS = {4, 3, 4, 3};
    private static final int RTC_IRQ = 8;
    /** PCI slot 1 holds the PIIX3 functions: ISA bridge (function 0) and the PIIX4 PM (function 3). */
    private static final int PIIX_SLOT = 1;
    private static final int PIIX_PM_FUNCTION = 3;

    private final MachineConfig config;
    private final KernelLoader.Request kernel;
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
    private final List<Uart16550> uarts = new ArrayList<>();
    /** The keyboard controller and port 0x92, both absent with -machine i8042=off as in QEMU 7.2. */
    private final Optional<I8042> i8042;
    private final Optional<Port92> port92;
    private final CmosRtc rtc;
    /** Device timers (RTC interrupts, PM timer overflow): one daemon thread for the machine. */
    private final ScheduledExecutorService timers;
    /** Guest time (QEMU's virtual clock): stands still while the VM does not run; watchdogs and balloon polling. */
    private final VirtualClock clock;
    private final PciBus pci;
    private final I440fxHostBridge i440fx;
    private final Piix3IsaBridge piix3;
    /** The ACPI PM function and tables; null under -no-acpi / -machine acpi=off. */
    private final Piix4Pm pm;
    private final AcpiConfig acpiConfig;
    private AcpiLayout acpiLayout;
    private final List<AcpiIsaDevice> isaDevices = new ArrayList<>();
    /** The block graph and the virtio-blk functions over it. */
    private final BlockDevices disks;
    /** The PIIX3 IDE function and its disks and CD-ROMs, over the same graph. */
    private final IdeDevices ide;
    /** Every device's type, properties and QOM node; -device and the legacy options create through it. */
    private final DeviceModel devices;
    private final CpuTopology topology;
    /** Never released: the process ends through {@link #exitProcess}, which halts the JVM. */
    private final CountDownLatch halted = new CountDownLatch(1);
    private IoLoop ioLoop;

    PcMachine(MachineConfig config, KernelLoader.Request kernel, Kvm kvm, ActionSettings actions, PrintStream err) {
        this.config = config;
        this.kernel = kernel;
        this.err = err;
        this.kvm = kvm;
        PcProperties pc = config.pc();
        kvm.checkVcpuCounts(config.smp().cpus(), config.smp().maxcpus(),
                w -> err.println(Main.PROGRAM + ": warning: " + w));
        this.layout = MemoryLayout.pc(config.ramBytes(), pc.maxRamBelow4g());
        if (MemoryLayout.splitNotGigabyteAligned(config.ramBytes(), pc.maxRamBelow4g())) {
            err.println(Main.PROGRAM + ": warning: Large machine and max_ram_below_4g (" + pc.maxRamBelow4g()
                    + ") not a multiple of 1G; possible bad performance.");
        }
        try {
            this.memory = GuestMemory.allocate(layout.ramRanges());
        } catch (IllegalStateException e) {
            throw new LaunchException("cannot set up guest memory 'pc.ram': Cannot allocate memory");
        }
        memory.adviseHost(pc.memMerge(), pc.dumpGuestCore());
        this.vm = kvm.createVm(pc.pit());
        vm.registerMemory(memory);
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

        devices = new DeviceModel(DeviceCatalog.registry(), DeviceCatalog.classes(), config.globals(),
                "pc-i440fx-7.2-machine");
        PciInterruptRouter router = new PciInterruptRouter(vm::line);
        pci = new PciBus(router, BarMapper.of(pio, mmio));
        new PciHostBridge(pci).attach(pio);
        i440fx = new I440fxHostBridge(config.ramBytes());
        piix3 = new Piix3IsaBridge(router, lifecycle::requestGuestReset);
        piix3.attach(pio);
        pci.add(0, 0, i440fx);
        pci.add(PIIX_SLOT, 0, piix3);
        devices.addBus(devices.machineNode().addChild("i440fx", "i440FX-pcihost"), "pci.0", "PCI", pci);
        devices.addBus(devices.machineNode(), "isa.0", "ISA", pio);
        pm = config.acpi() ? newPowerManagement() : null;

        attachSerialPorts();
        i8042 = pc.i8042() ? Optional.of(new I8042(lifecycle::requestGuestReset)) : Optional.empty();
        i8042.ifPresent(k -> k.attach(pio));
        port92 = pc.i8042() ? Optional.of(new Port92(lifecycle::requestGuestReset)) : Optional.empty();
        port92.ifPresent(p -> p.attach(pio));
        new PostCodePort().attach(pio);
        rtc = newRtc(smp.cpus());
        isaDevices.add(AcpiIsaDevice.rtc());
        if (pc.i8042()) {
            isaDevices.add(AcpiIsaDevice.keyboard());
            isaDevices.add(AcpiIsaDevice.mouse());
        }
        disks = new BlockDevices(config, events, lifecycle.mainLoop(), lifecycle::requestIoErrorStop, memory, pci,
                vm, vm);
        devices.bind(new PcDeviceContext(memory, pio, pci, vm::line, vm, vm, events, clock, timers, chardevs,
                disks.graph(), lifecycle, err, smp.cpus(), config.ramBytes(), isaDevices::add));
        try {
            // QEMU's pc_init1 makes the IDE function and the devices of the if=ide drives before any -device.
            ide = new IdeDevices(disks.graph(), memory, pio, pci, vm.line(Piix3Ide.PRIMARY_IRQ),
                    vm.line(Piix3Ide.SECONDARY_IRQ), disks::driveSerial);
            ide.addDriveDevices(IdeDevices.firstUnattached(config, smp.cpus()));
            for (QemuOpts d : config.devices()) {
                addDevice(d);
            }
            disks.addDefaultDevices(this::nextAnonymousPath);
            disks.checkOrphans();
        } catch (RuntimeException e) {
            // A refused option must not leave images open and locked (a process that goes on, like a test).
            disks.close();
            devices.closeAll();
            throw e;
        }
        acpiConfig = pm == null ? null : acpiConfig(smp.cpus());
        firmwareSetup();
        loadKernel();
    }

    /**
     * The PIIX4 PM function at 00:01.3. There is no SMM under KVM here, so, as QEMU then does, ACPI starts
     * enabled and the FADT names no SMI command port.
     */
    private Piix4Pm newPowerManagement() {
        Piix4Pm p = new Piix4Pm(vm.line(Piix4Pm.SCI_IRQ), new SleepRequest() {
            @Override
            public void shutdown() {
                lifecycle.requestGuestShutdown();
            }

            @Override
            public void suspend() {
                lifecycle.requestGuestSuspend();
            }

            @Override
            public void hibernate() {
                lifecycle.requestGuestSuspendToDisk();
            }
        }, System::nanoTime, timers, true, Piix4Pm.DEFAULT_S4_VAL, lifecycle);
        p.attach(pio);
        pci.add(PIIX_SLOT, PIIX_PM_FUNCTION, p);
        return p;
    }

    /** -chardev backends (monitors excepted) and COM1-COM4 for the -serial options. */
    private void attachSerialPorts() {
        for (String c : config.chardevs()) {
            if (!QmpEndpoint.isMonitorChardev(c, config.monitors())) {
                chardevs.fromChardevOption(c);
            }
        }
        List<String> serials = config.serials();
        if (serials.size() > COM_BASES.length) {
            throw new OptionException("-serial", "too many serial ports (at most " + COM_BASES.length + ")");
        }
        for (int i = 0; i < serials.size(); i++) {
            Optional<Chardev> backend = chardevs.fromSerialOption(serials.get(i), i);
            if (backend.isPresent()) {
                Uart16550 uart = new Uart16550(COM_BASES[i], vm.line(COM_IRQS[i]), backend.get());
                uart.attach(pio);
                uarts.add(uart);
                isaDevices.add(AcpiIsaDevice.serial(i, COM_BASES[i], COM_IRQS[i]));
            }
        }
    }

    /**
     * The MC146818 with -rtc's options; it reports RTC_CHANGE, asks the machine for S3 wake-ups and, with
     * clock=vm, runs only with the VM.
     */
    private CmosRtc newRtc(int cpus) {
        RtcOptions options = config.rtc() == null ? RtcOptions.DEFAULT : RtcOptions.parse(config.rtc());
        CmosRtc r = new CmosRtc(layout.lowRamEnd(), layout.highRamSize(), cpus, vm.line(RTC_IRQ),
                Clock.systemUTC(), ZoneId.systemDefault(), options, timers);
        r.attach(pio);
        // QEMU 7.2 names the RTC by its creation order among the machine's unattached devices: the CPUs,
        // then nine (ten without -nodefaults) others under KVM.
        String qomPath = "/machine/unattached/device[" + (cpus + (config.nodefaults() ? 9 : 10)) + "]";
        r.setTimeChangeListener(offset -> events.publish(new VmEvent.RtcChange(offset, qomPath)));
        r.setWakeup(lifecycle);
        // S3 pauses the vCPUs but not the VM: with clock=vm time goes on while the timers wait (QEMU).
        lifecycle.runState().addListener((from, to) -> {
            if (to == RunState.RUNNING) {
                r.releaseTimers();
                r.resume();
            } else if (to == RunState.SUSPENDED) {
                r.holdTimers();
            } else if (from == RunState.RUNNING || from == RunState.SUSPENDED) {
                r.releaseTimers();
                r.pause();
            }
        });
        return r;
    }

    /** QEMU's pc ACPI description of this machine: its APIC ids, its ISA devices, no SMI command port. */
    private AcpiConfig acpiConfig(int cpus) {
        AcpiConfig pc = AcpiConfig.pc(cpus, layout.lowRamEnd(), isaDevices);
        List<Integer> apicIds = new ArrayList<>();
        for (int i = 0; i < cpus; i++) {
            apicIds.add(topology.apicId(i));
        }
        return new AcpiConfig(apicIds, pc.pirqIrqs(), pc.isaDevices(), pc.pmBase(), false, pc.s4Val(), pc.s3(),
                pc.pciHoleStart(), pc.pciHoleEnd());
    }

    private String nextAnonymousPath() {
        return devices.nextAnonymousPath();
    }

    private void addDevice(QemuOpts d) {
        String driver = d.get("driver").orElse("");
        if (devices.deviceClass(driver).isPresent()) {
            devices.add(d);
            return;
        }
        String qomPath = d.get("id").map(id -> "/machine/peripheral/" + id).orElseGet(this::nextAnonymousPath);
        switch (driver) {
            case "virtio-blk-pci" -> disks.addVirtioBlkPci(d, qomPath);
            case "ide-hd", "ide-cd" -> ide.addDevice(d, qomPath);
            default -> throw new OptionException(d.option(), "'" + driver + "' is not a valid device model name");
        }
    }

    /** Writes the kernel (and initrd, command line, boot structures) into RAM; also on every reset. */
    private void loadKernel() {
        BootEntry entry = KernelLoader.load(memory, layout, kernel);
        if (acpiConfig != null) {
            acpiLayout = AcpiTables.install(memory, acpiConfig);
            KernelLoader.setRsdp(memory, entry, acpiLayout.rsdp());
        }
        vcpus.get(0).resetToEntry(entry);
    }

    /** What SeaBIOS leaves before it starts a kernel: PAM/SMRAM, PIRQ routes, BARs, the PM I/O block. */
    private void firmwareSetup() {
        i440fx.applyFirmwareState();
        piix3.programFirmwareRoutes();
        pci.assignResources();
    }

    /** Every device back to power-on state, then the firmware's set-up again. */
    private void resetDevices() {
        for (Uart16550 u : uarts) {
            u.reset();
        }
        i8042.ifPresent(I8042::reset);
        port92.ifPresent(Port92::reset);
        rtc.reset();
        devices.resetAll();
        pci.reset();
        vm.resetInterruptState();
        firmwareSetup();
    }

    synchronized IoLoop ioLoop() {
        if (ioLoop == null) {
            ioLoop = new IoLoop();
        }
        return ioLoop;
    }

    /** Starts the vCPU threads; without -S the guest runs at once. */
    void start() {
        vcpus.start(pio, mmio, this, true);
        lifecycle.start(!config.startPaused());
    }

    /** Blocks the launching thread for the machine's lifetime; the process ends in {@link #exitProcess}. */
    void awaitExit() throws InterruptedException {
        halted.await();
    }

    /** Waits at most the given time for the machine to end the process. */
    void awaitHalt(long timeout, TimeUnit unit) {
        try {
            halted.await(timeout, unit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        pm.wakeup(reason);
        long vector = acpiLayout == null ? 0
                : memory.readInt(acpiLayout.facs() + AcpiTables.FACS_FIRMWARE_WAKING_VECTOR) & 0xffffffffL;
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
        boolean wasRunning = !vcpus.isPaused();
        if (wasRunning) {
            vcpus.pauseAll();
        }
        try {
            for (Vcpu v : vcpus.vcpus()) {
                v.injectNmi();
            }
        } catch (RuntimeException e) {
            err.println(Main.PROGRAM + ": warning: NMI injection failed: " + e.getMessage());
        } finally {
            if (wasRunning) {
                vcpus.resumeAll();
            }
        }
    }

    @Override
    public boolean wakeupSupported() {
        return pm != null;
    }

    @Override
    public void powerButton() {
        if (pm != null) {
            pm.powerButton();
        }
    }

    /**
     * Ends the process at once, as QEMU's exit() does: nothing else runs in the guest. Chardevs are flushed
     * first so the guest's last output is not lost.
     */
    @Override
    public void exitProcess(int status) {
        // A vCPU still inside KVM_RUN makes process exit wait until the kernel lets go of it (about 0.3 s
        // for a spinning guest here); kicked out first, it exits at once.
        vcpus.pauseAll();
        // QEMU flushes and closes every image on exit; qcow2 metadata and snapshot overlays depend on it.
        disks.close();
        chardevs.closeAll();
        err.flush();
        System.out.flush();
        Runtime.getRuntime().halt(status);
    }

    // ---- VcpuExitHandler: exits KVM leaves to the machine (on vCPU threads) ----

    @Override
    public void onTripleFault(Vcpu cpu) {
        lifecycle.requestGuestReset();
    }

    @Override
    public void onInternalError(Vcpu cpu, int suberror, long[] data) {
        // QEMU's kvm_handle_internal_error text and state dump, byte for byte.
        err.print(cpu.internalErrorReport(suberror, data, memory));
        err.flush();
        lifecycle.requestInternalError();
    }

    @Override
    public void onFailEntry(Vcpu cpu, long hardwareReason) {
        err.printf("KVM: entry failed, hardware error 0x%x%n", hardwareReason);
        err.print(cpu.dumpRegisters(memory));
        err.flush();
        lifecycle.requestInternalError();
    }

    @Override
    public void onSystemEvent(Vcpu cpu, int type, long[] data) {
        switch (type) {
            case 1 -> lifecycle.requestGuestShutdown();  // KVM_SYSTEM_EVENT_SHUTDOWN
            case 2 -> lifecycle.requestGuestReset();     // KVM_SYSTEM_EVENT_RESET
            case 3 -> lifecycle.requestGuestPanic();     // KVM_SYSTEM_EVENT_CRASH
            default -> lifecycle.requestInternalError();
        }
    }

    // ---- MachineControl: what QMP asks ----

    @Override
    public LifecycleController lifecycle() {
        return lifecycle;
    }

    @Override
    public Optional<String> name() {
        return config.name();
    }

    @Override
    public Optional<UUID> uuid() {
        return config.uuid();
    }

    @Override
    public List<VcpuInfo> vcpus() {
        List<VcpuInfo> out = new ArrayList<>();
        for (Vcpu v : vcpus.vcpus()) {
            int i = v.index();
            out.add(new VcpuInfo(i, v.threadId(), topology.socketOf(i), topology.coreOf(i), topology.threadOf(i),
                    "/machine/unattached/device[" + i + "]", "host-x86_64-cpu"));
        }
        return out;
    }

    @Override
    public String registersText(int cpuIndex) {
        // KVM_GET_REGS waits for KVM_RUN to return; a vCPU halted with interrupts off never would, so the
        // dump is taken with the vCPUs out of the kernel.
        boolean wasRunning = !vcpus.isPaused();
        if (wasRunning) {
            vcpus.pauseAll();
        }
        try {
            return vcpus.get(cpuIndex).dumpRegisters(memory);
        } finally {
            if (wasRunning) {
                vcpus.resumeAll();
            }
        }
    }

    @Override
    public List<ChardevInfo> chardevs() {
        List<ChardevInfo> out = new ArrayList<>();
        for (Chardev c : chardevs.all().values()) {
            // QEMU: a chardev no device uses has no open frontend
            out.add(new ChardevInfo(c.id(), c.describe(), chardevs.isFrontendOpen(c.id())));
        }
        return out;
    }

    @Override
    public List<MachineTypeInfo> machineTypes() {
        return List.of(MachineTypeInfo.pcI440fx72());
    }

    @Override
    public List<PciBusInfo> pciBuses() {
        return pci.describe();
    }

    @Override
    public List<BlockInfo> blockInfo() {
        return disks.graph().queryBlock();
    }

    @Override
    public List<BlockStatsInfo> blockStats(boolean queryNodes) {
        return disks.graph().queryBlockstats(queryNodes);
    }

    @Override
    public List<BlockDeviceInfo> namedBlockNodes(boolean flat) {
        return disks.graph().queryNamedBlockNodes(flat);
    }

    @Override
    public void blockResize(String device, String nodeName, long size) throws MachineCommandException {
        disks.graph().blockResize(device, nodeName, size);
    }

    // Removable media and blockdev-add/-del: the block graph answers, with the devices' trays behind it.

    @Override
    public void eject(String device, String id, boolean force) throws MachineCommandException {
        disks.graph().eject(device, id, force);
    }

    @Override
    public void blockdevOpenTray(String device, String id, boolean force) throws MachineCommandException {
        disks.graph().openTray(device, id, force);
    }

    @Override
    public void blockdevCloseTray(String device, String id) throws MachineCommandException {
        disks.graph().closeTray(device, id);
    }

    @Override
    public void blockdevRemoveMedium(String id) throws MachineCommandException {
        disks.graph().removeMedium(null, id);
    }

    @Override
    public void blockdevInsertMedium(String id, String nodeName) throws MachineCommandException {
        disks.graph().insertMedium(id, nodeName);
    }

    @Override
    public void blockdevChangeMedium(String device, String id, String filename, String format, boolean force,
            BlockGraph.ReadOnlyMode mode) throws MachineCommandException {
        disks.graph().changeMedium(device, id, filename, format, force, mode);
    }

    @Override
    public void blockdevAdd(Map<String, Object> options) throws MachineCommandException {
        disks.graph().blockdevAdd(options);
    }

    @Override
    public void blockdevDel(String nodeName) throws MachineCommandException {
        disks.graph().blockdevDel(nodeName);
    }

    @Override
    public Optional<QomObject> qomObject(String path) {
        return devices.tree().resolve(path).map(QomObject::of);
    }

    @Override
    public void balloon(long target) throws MachineCommandException {
        BalloonControl.balloon(devices, target);
    }

    @Override
    public long balloonActual() throws MachineCommandException {
        return BalloonControl.actual(devices);
    }

    @Override
    public void rtcResetReinjection() {
        rtc.resetReinjection();
    }

    @Override
    public KvmInfo kvm() {
        return new KvmInfo(true, true);
    }

    @Override
    public void close() {
        vcpus.close();
        disks.close();
        devices.closeAll();
        timers.shutdownNow();
        rtc.close();
        chardevs.closeAll();
        if (ioLoop != null) {
            ioLoop.close();
        }
        vm.close();
        memory.close();
        kvm.close();
    }
}
