package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.qom.Globals;
import dev.jvmm.devices.pc.PcProperties;
import dev.jvmm.devices.smbios.SmbiosOptions;
import dev.jvmm.kvm.CpuModel;
import dev.jvmm.kvm.boot.MemoryLayout;
import dev.jvmm.kvm.seccomp.DenyGroup;
import dev.jvmm.kvm.seccomp.Sandbox;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/** Validates a {@link QemuCommandLine} into a {@link MachineConfig}, with QEMU's error texts. */
final class MachineConfigParser {
    /** QEMU's default RAM for the pc machine. */
    static final long DEFAULT_RAM = 128L << 20;
    /** Machine types accepted: jvmm models QEMU's i440FX pc machine only. */
    private static final Set<String> MACHINE_TYPES = Set.of("pc", "pc-i440fx-7.2", "none");

    private MachineConfigParser() {
    }

    static MachineConfig parse(QemuCommandLine cl) {
        for (String w : cl.watchdogAction) {
            if (ActionSettings.parse(ActionSettings.WatchdogAction.class, w) == null) {
                throw new OptionException("-watchdog-action " + w,
                        "Parameter 'watchdog' does not accept value '" + w + "'");
            }
        }
        // QEMU's non-option argument is the first IDE disk, as -hda (index 0)
        List<DriveArg> drives = new java.util.ArrayList<>();
        for (String img : cl.images) {
            DriveArg hda = DriveArg.shorthand("-hda", img, 0, "disk");
            drives.add(new DriveArg(img, hda.text()));
        }
        drives.addAll(cl.drives);
        List<String> machine = new java.util.ArrayList<>(cl.machine);
        if (cl.noHpet) {
            machine.add("hpet=off");
        }
        if (cl.nographic) {
            // QEMU's -nographic sets the machine's graphics=off, which fw_cfg tells the firmware
            machine.add("graphics=off");
        }
        PcProperties pc = parseMachine(machine);
        for (String a : cl.accel) {
            QemuOpts o = QemuOpts.parse("-accel " + a, a, "accel");
            checkAccel("-accel " + a, o.get("accel").orElse(""));
        }
        if (cl.display != null) {
            String type = QemuOpts.splitCommas(cl.display).get(0);
            if (!type.equals("none")) {
                throw new OptionException("-display " + cl.display,
                        "Parameter 'type' does not accept value '" + type + "' (jvmm has no display; use none)");
            }
        }
        // The -machine properties stand in for the options they mirror when those are not given.
        Optional<String> backendId = pc.value("memory-backend").map(Object::toString).filter(v -> !v.isEmpty());
        HostOptions host = HostOptions.parse(cl, backendId);
        if (backendId.isEmpty() && host.objects().has(dev.jvmm.core.objects.UserObjects.DEFAULT_RAM_ID)) {
            throw new OptionException(null, "object name '" + dev.jvmm.core.objects.UserObjects.DEFAULT_RAM_ID
                    + "' is reserved for the default RAM backend, it can't be used for any other purposes."
                    + " Change the object's 'id' to something else");
        }
        List<QemuOpts> devices = cl.device.stream().map(MachineConfigParser::deviceOpts).toList();
        host.checkIothreadLinks(devices);
        String memoryText = cl.memory != null ? cl.memory : pc.memory().orElse(null);
        long ram = parseMemory(memoryText);
        if (backendId.isPresent()) {
            long backendSize = host.objects().memoryBackend(backendId.get()).orElseThrow().size();
            if (cl.memory == null && pc.memory().isEmpty()) {
                ram = backendSize;
            } else if (ram != backendSize) {
                throw new OptionException(null, "Machine memory size does not match the size of the memory backend");
            }
        }
        checkLowRam(ram, pc.maxRamBelow4g());
        MemoryHotplugSize hotplug = parseMemoryHotplug(memoryText, ram);
        Optional<UUID> uuid = parseUuid(cl.uuid);
        SmbiosOptions smbios = SmbiosOptions.parse(cl.smbios);
        NetOptions net = NetOptions.parse(cl);
        return new MachineConfig(
                ram,
                hotplug,
                parseSmp(cl.smp != null ? cl.smp : pc.smp().orElse(null)),
                Optional.ofNullable(cl.kernel).or(pc::kernel).map(Path::of),
                Optional.ofNullable(cl.initrd).or(pc::initrd).map(Path::of),
                Optional.ofNullable(cl.append).or(pc::append).orElse(""),
                parseCpu(cl.cpu),
                parseName(cl.name),
                machineUuid(uuid, cl.smbiosBeforeUuid, smbios),
                smbios,
                cl.noReboot,
                cl.noShutdown,
                cl.freeze,
                pc.acpi() && !cl.noAcpi,
                pc,
                cl.nodefaults,
                cl.rtc,
                List.copyOf(cl.chardev),
                serials(cl),
                devices,
                Globals.parse(cl.global),
                List.copyOf(drives),
                List.copyOf(cl.blockdev),
                cl.snapshot,
                List.copyOf(cl.qmp),
                List.copyOf(cl.mon),
                List.copyOf(cl.action),
                List.copyOf(cl.addFd),
                parseSandboxes(cl.sandbox),
                host,
                new FirmwareOptions(Optional.ofNullable(cl.bios).or(() -> pc.given("firmware").map(Object::toString)),
                        List.copyOf(cl.dataDirs),
                        FwCfgArg.parse(cl.fwCfg, host.objects())),
                net);
    }

    /**
     * Every -machine option merged into one set of properties as QEMU merges them (a later value wins), the
     * machine type and accelerator checked, the rest checked against their declaration ({@link PcProperties#parse}).
     */
    static PcProperties parseMachine(List<String> machineOptions) {
        Map<String, String> props = new LinkedHashMap<>();
        for (String m : machineOptions) {
            // -machine is parsed as keyval in QEMU 7.2: only the first part may omit "key=", and that implied
            // value ends at the first comma (",," does not escape there).
            List<String> parts = QemuOpts.splitCommas(m);
            List<String> rest = parts.subList(1, parts.size());
            int comma = m.indexOf(',');
            if (comma >= 0 && !m.substring(0, comma).contains("=")) {
                rest = QemuOpts.splitCommas(m.substring(comma + 1));
            }
            for (String part : rest) {
                if (part.isEmpty() || part.startsWith("=")) {
                    throw new OptionException("-machine " + m, "Invalid parameter ''");
                }
                if (!part.contains("=")) {
                    throw new OptionException("-machine " + m, "Expected '=' after parameter '" + part + "'");
                }
            }
            QemuOpts o = QemuOpts.parse("-machine " + m, m, "type");
            props.putAll(o.values());
            o.get("accel").ifPresent(a -> checkAccel("-machine " + m, a));
        }
        String type = props.getOrDefault("type", "pc");
        if (!MACHINE_TYPES.contains(type)) {
            throw new OptionException(null, "unsupported machine type '" + type
                    + "'\nUse -machine help to list supported machines");
        }
        props.remove("type");
        return PcProperties.parse(props);
    }

    /** Low RAM must end below the IOAPIC, where jvmm's 32-bit PCI window and the platform's MMIO start. */
    private static void checkLowRam(long ram, long maxRamBelow4g) {
        long below = MemoryLayout.pcBelowFourG(ram, maxRamBelow4g);
        if (below > MemoryLayout.IOAPIC_ADDRESS) {
            throw new OptionException(null, "Machine option 'max-ram-below-4g=" + maxRamBelow4g + "' is not"
                    + " supported: " + below + " bytes of RAM below 4 GiB run into the IOAPIC at 0xfec00000");
        }
    }

    /** True when the last -machine type given is QEMU's empty machine, "none". */
    static boolean isNoneMachine(List<String> machineOptions) {
        String type = "pc";
        for (String m : machineOptions) {
            type = QemuOpts.parse("-machine " + m, m, "type").get("type").orElse(type);
        }
        return type.equals("none");
    }

    /**
     * QEMU takes a list of accelerators and uses the first that works; jvmm has KVM only, so the list must
     * start with it (kvm:tcg, as libvirt's probe writes it, runs on KVM as it does under QEMU).
     */
    private static void checkAccel(String option, String accel) {
        if (!accel.split(":", -1)[0].equals("kvm")) {
            throw new OptionException(option, "invalid accelerator " + accel + " (jvmm supports only kvm)");
        }
    }

    /** QEMU: -nographic makes the first serial port stdio; -nodefaults creates none; otherwise a null backend. */
    private static List<String> serials(QemuCommandLine cl) {
        if (!cl.serial.isEmpty()) {
            return List.copyOf(cl.serial);
        }
        if (cl.nodefaults) {
            return List.of();
        }
        return List.of(cl.nographic ? "stdio" : "null");
    }

    static long parseMemory(String text) {
        if (text == null) {
            return DEFAULT_RAM;
        }
        QemuOpts o = QemuOpts.parse("-m " + text, text, "size");
        o.requireOnly("size", "slots", "maxmem");
        String size = o.get("size").orElse("128");
        long bytes;
        try {
            bytes = QemuOpts.parseSize(size, 1L << 20);
        } catch (NumberFormatException e) {
            throw new OptionException("-m " + text,
                    "Parameter 'size' expects a non-negative number below 2^64\n"
                            + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                            + "and exabytes, respectively.");
        }
        if (bytes == 0) {
            return DEFAULT_RAM;
        }
        if (bytes < (2L << 20)) {
            throw new OptionException("-m " + text, "jvmm needs at least 2 MiB of guest RAM");
        }
        // QEMU aligns RAM to 8 KiB; a page is what KVM needs.
        return (bytes + 0xfff) & ~0xfffL;
    }

    /**
     * -m's maxmem= and slots= (QEMU 7.2's machine_set_mem): the checks against the initial size ram, in
     * QEMU's words; without maxmem the machine has no room for memory devices.
     */
    static MemoryHotplugSize parseMemoryHotplug(String text, long ram) {
        if (text == null) {
            return MemoryHotplugSize.none(ram);
        }
        QemuOpts o = QemuOpts.parse("-m " + text, text, "size");
        long slots = 0;
        if (o.get("slots").isPresent()) {
            try {
                slots = QemuOpts.parseNumber(o.get("slots").get());
            } catch (NumberFormatException e) {
                throw new OptionException("-m " + text, "Parameter 'slots' expects a number");
            }
        }
        if (o.get("maxmem").isEmpty()) {
            if (o.get("slots").isPresent()) {
                throw new OptionException(null, "slots specified but no max-size");
            }
            return MemoryHotplugSize.none(ram);
        }
        long max;
        try {
            max = QemuOpts.parseSize(o.get("maxmem").get(), 1);
        } catch (NumberFormatException e) {
            throw new OptionException("-m " + text,
                    "Parameter 'maxmem' expects a non-negative number below 2^64\n"
                            + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                            + "and exabytes, respectively.");
        }
        if (Long.compareUnsigned(max, ram) < 0) {
            throw new OptionException(null, String.format("invalid value of maxmem: maximum memory size (0x%x) must"
                    + " be at least the initial memory size (0x%x)", max, ram));
        }
        if (slots != 0 && max == ram) {
            throw new OptionException(null, String.format("invalid value of maxmem: memory slots were specified but"
                    + " maximum memory size (0x%x) is equal to the initial memory size (0x%x)", max, ram));
        }
        return new MemoryHotplugSize(max, slots);
    }

    static SmpTopology parseSmp(String text) {
        if (text == null) {
            return SmpTopology.SINGLE;
        }
        QemuOpts o = QemuOpts.parse("-smp " + text, text, "cpus");
        o.requireOnly("cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus");
        int cpus = smpNumber(o, "cpus");
        int sockets = smpNumber(o, "sockets");
        int dies = Math.max(1, smpNumber(o, "dies"));
        int cores = smpNumber(o, "cores");
        int threads = smpNumber(o, "threads");
        int maxcpus = smpNumber(o, "maxcpus");
        if (dies != 1) {
            throw new OptionException(null, "dies not supported by this machine's CPU topology");
        }
        // QEMU 7.2 machine_parse_smp_config for a pc machine of 6.2 or later: prefer cores over sockets.
        if (cpus == 0 && maxcpus == 0) {
            sockets = sockets > 0 ? sockets : 1;
            cores = cores > 0 ? cores : 1;
            threads = threads > 0 ? threads : 1;
        } else {
            maxcpus = maxcpus > 0 ? maxcpus : cpus;
            sockets = sockets > 0 ? sockets : 1;
            threads = threads > 0 ? threads : 1;
            cores = cores > 0 ? cores : Math.max(1, maxcpus / (sockets * threads));
        }
        int total = sockets * cores * threads;
        maxcpus = maxcpus > 0 ? maxcpus : total;
        cpus = cpus > 0 ? cpus : maxcpus;
        String desc = String.format("sockets (%d) * dies (1) * cores (%d) * threads (%d)", sockets, cores, threads);
        if (total != maxcpus) {
            throw new OptionException(null, "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                    + desc + " != maxcpus (" + maxcpus + ")");
        }
        if (maxcpus < cpus) {
            throw new OptionException(null, "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
                    + desc + " == maxcpus (" + maxcpus + ") < smp_cpus (" + cpus + ")");
        }
        if (cpus > 255) {
            throw new OptionException(null, "Invalid SMP CPUs " + cpus + ". The max CPUs supported by machine"
                    + " 'pc-i440fx-7.2' is 255");
        }
        return new SmpTopology(cpus, sockets, cores, threads, maxcpus);
    }

    private static int smpNumber(QemuOpts o, String key) {
        String v = o.values().get(key);
        if (v == null) {
            return 0;
        }
        try {
            long n = QemuOpts.parseNumber(v);
            if (n < 0 || n > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (int) n;
        } catch (NumberFormatException e) {
            throw new OptionException(null, "Parameter 'smp." + key + "' expects integer");
        }
    }

    /**
     * -cpu MODEL[,+feat|-feat|prop=value...]: checks the model name, as QEMU does before it builds the
     * machine; the settings are checked against the host's KVM when the CPU is built.
     */
    static String parseCpu(String text) {
        if (text == null) {
            return CpuModel.DEFAULT;
        }
        if (text.isEmpty()) {
            throw new OptionException(null, "-cpu option cannot be empty");
        }
        String model = text.split(",", -1)[0];
        if (CpuModel.table().model(model) == null) {
            throw new OptionException(null, "unable to find CPU model '" + model + "'");
        }
        return text;
    }

    /** -name accepts "NAME" or "guest=NAME,debug-threads=on|off,process=..." (libvirt's form). */
    static Optional<String> parseName(String text) {
        if (text == null) {
            return Optional.empty();
        }
        QemuOpts o = QemuOpts.parse("-name " + text, text, "guest");
        o.requireOnly("guest", "debug-threads", "process");
        return o.get("guest");
    }

    static Optional<UUID> parseUuid(String text) {
        if (text == null) {
            return Optional.empty();
        }
        return Optional.of(SmbiosOptions.parseUuid(text).orElseThrow(
                () -> new OptionException("-uuid " + text, "failed to parse UUID string: wrong format")));
    }

    /**
     * The machine UUID, which QEMU keeps in one place for -uuid and -smbios type=1,uuid=: whichever of the two
     * came last on the command line wins.
     */
    static Optional<UUID> machineUuid(Optional<UUID> uuidOption, int smbiosBeforeUuid, SmbiosOptions smbios) {
        if (smbios.uuid().isPresent() && (uuidOption.isEmpty() || smbios.uuidOption() >= smbiosBeforeUuid)) {
            return smbios.uuid();
        }
        return uuidOption;
    }

    /**
     * One -device argument: QemuOpts text, or QEMU's JSON form ({"driver":"virtio-blk-pci","drive":"d0"}) as
     * libvirt writes it, whose scalar members become properties (booleans as on/off).
     */
    static QemuOpts deviceOpts(String d) {
        String option = "-device " + d;
        if (!d.stripLeading().startsWith("{")) {
            return QemuOpts.parse(option, d, "driver");
        }
        java.util.Map<String, Object> tree;
        try {
            tree = dev.jvmm.core.block.BlockdevOptions.parse(d).tree();
        } catch (OptionException e) {
            throw new OptionException(option, e.getMessage());
        }
        java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<String, Object> e : tree.entrySet()) {
            Object v = e.getValue();
            if (v instanceof Boolean b) {
                values.put(e.getKey(), b ? "on" : "off");
            } else if (v instanceof String || v instanceof Number) {
                values.put(e.getKey(), v.toString());
            } else {
                throw new OptionException(option, "Parameter '" + e.getKey() + "' is not a scalar");
            }
        }
        if (!values.containsKey("driver")) {
            throw new OptionException(option, "Parameter 'driver' is missing");
        }
        return new QemuOpts(option, values.get("driver"), values);
    }

    /**
     * -sandbox as QEMU 7.2 reads it: enable is the implied first key and nothing is installed unless it is on;
     * the group values are checked only then, each with QEMU's message. One filter per enabled option.
     */
    static List<MachineConfig.SandboxArg> parseSandboxes(List<String> texts) {
        List<MachineConfig.SandboxArg> out = new java.util.ArrayList<>();
        for (String t : texts) {
            if (t.isEmpty()) {
                continue;
            }
            QemuOpts o = QemuOpts.parse("-sandbox " + t, t, "enable");
            o.requireOnly("enable", "obsolete", "elevateprivileges", "spawn", "resourcecontrol");
            if (!o.getBool("enable", false)) {
                continue;
            }
            Set<DenyGroup> groups = java.util.EnumSet.of(DenyGroup.DEFAULT);
            if (!sandboxValue(o, "obsolete", "deny", "allow").equals("allow")) {
                groups.add(DenyGroup.OBSOLETE);
            }
            String elevate = sandboxValue(o, "elevateprivileges", "allow", "deny", "children");
            if (!elevate.equals("allow")) {
                groups.add(DenyGroup.ELEVATE_PRIVILEGES);
            }
            if (sandboxValue(o, "spawn", "allow", "deny").equals("deny")) {
                groups.add(DenyGroup.SPAWN);
            }
            if (sandboxValue(o, "resourcecontrol", "allow", "deny").equals("deny")) {
                groups.add(DenyGroup.RESOURCE_CONTROL);
            }
            out.add(new MachineConfig.SandboxArg(o.option(), new Sandbox(groups, elevate.equals("children"))));
        }
        return List.copyOf(out);
    }

    private static String sandboxValue(QemuOpts o, String key, String def, String... allowed) {
        String v = o.get(key).orElse(def);
        if (!v.equals(def) && !List.of(allowed).contains(v)) {
            throw new OptionException(o.option(), "invalid argument for " + key);
        }
        return v;
    }
}
