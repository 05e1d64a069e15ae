package dev.jvmm.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line as qemu-system-x86_64 spells it: single-dash long options (a double dash works too,
 * as in QEMU), repeatable where QEMU's are, and disk images as the other arguments. Holds raw text only;
 * {@link MachineConfigParser} validates it. The options are one enum read by a plain loop: start-up spends
 * no time on reflection over a model of them.
 */
final class QemuCommandLine {
    /**
     * Every option, as QEMU spells it (one dash, or two): its names, what its value looks like (null for an
     * option that takes none) and its help line. The declaration drives the parse and -help; {@link #apply}
     * says where each value goes (a test applies every constant, so none is declared without a home).
     */
    enum Opt {
        MEMORY(List.of("m"), "[size=]MEGS[,maxmem=..]",
                "guest RAM (bare numbers are MiB; k/M/G/T suffixes)"),
        SMP(List.of("smp"), "[cpus=]N[,sockets=,cores=,threads=,maxcpus=]",
                "vCPUs and topology"),
        KERNEL(List.of("kernel"), "FILE",
                "Linux bzImage, PVH ELF or multiboot kernel"),
        BIOS(List.of("bios"), "FILE",
                "firmware image (default: SeaBIOS's bios-256k.bin when no -kernel is given)"),
        DATA_DIRS(List.of("L"), "DIR",
                "directory searched first for firmware files"),
        INITRD(List.of("initrd"), "FILE",
                "initial ramdisk"),
        APPEND(List.of("append"), "CMDLINE",
                "kernel command line"),
        NOGRAPHIC(List.of("nographic"), null,
                "no display; serial port on stdio"),
        DISPLAY(List.of("display"), "none",
                "only 'none' is available"),
        SERIAL(List.of("serial"), "DEV",
                "serial port backend: stdio, file:PATH, null, none, pty, unix:PATH[,server=on,wait=off], chardev:ID"),
        CHARDEV(List.of("chardev"), "BACKEND,id=ID[,...]",
                "character device backend"),
        DEVICE(List.of("device"), "DRIVER[,prop=value...]",
                "add a device"),
        NETDEV(List.of("netdev"), "TYPE,id=ID[,...]",
                "a network backend (-netdev help lists the types)"),
        NIC(List.of("nic"), "[TYPE][,model=M][,mac=MAC][,...]",
                "a NIC and its backend together (none: no network)"),
        NET(List.of("net"), "nic[,model=M][,macaddr=MAC][,netdev=ID] | TYPE[,...] | none",
                "legacy network option: NICs and backends on hub 0"),
        GLOBAL(List.of("global"), "DRIVER.PROP=VALUE | driver=,property=,value=",
                "set a default property value for every device of a type"),
        DRIVE(List.of("drive"), "file=FILE[,format=raw|qcow2][,if=ide|virtio|none][,id=ID][,...]",
                "a drive: image, interface and cache/error policy"),
        HDA(List.of("hda"), "FILE",
                "IDE disk 0 (primary master)"),
        HDB(List.of("hdb"), "FILE",
                "IDE disk 1 (primary slave)"),
        HDC(List.of("hdc"), "FILE",
                "IDE disk 2 (secondary master)"),
        HDD(List.of("hdd"), "FILE",
                "IDE disk 3 (secondary slave)"),
        CDROM(List.of("cdrom"), "FILE",
                "IDE CD-ROM image (secondary master)"),
        BLOCKDEV(List.of("blockdev"), "driver=DRV,node-name=NAME[,...] | JSON",
                "a block node (key=value or JSON, as libvirt writes it)"),
        ADD_FD(List.of("add-fd"), "fd=FD,set=SET[,opaque=OPAQUE]",
                "an inherited descriptor into fd set SET, opened by /dev/fdset/SET paths"),
        SNAPSHOT(List.of("snapshot"), null,
                "write to temporary overlays, never to the images"),
        MACHINE(List.of("machine", "M"), "pc[,accel=kvm]",
                "machine type and properties"),
        ACCEL(List.of("accel"), "kvm",
                "accelerator (only kvm)"),
        ENABLE_KVM(List.of("enable-kvm"), null,
                "use KVM (always on)"),
        CPU(List.of("cpu"), "model[,+feat,-feat,feat=on|off,prop=value]",
                "CPU model (-cpu help lists them) and its settings"),
        NAME(List.of("name"), "[guest=]NAME[,debug-threads=on]",
                "guest name"),
        UUID(List.of("uuid"), "UUID",
                "machine UUID"),
        SMBIOS(List.of("smbios"), "file=BINARY | type=N[,field=value...]",
                "SMBIOS structure from a file, or fields of structure type 0, 1, 2, 3, 4, 8, 11, 17 or 41"),
        NO_REBOOT(List.of("no-reboot"), null,
                "exit instead of rebooting"),
        NO_SHUTDOWN(List.of("no-shutdown"), null,
                "stop instead of exiting on guest shutdown"),
        FREEZE(List.of("S"), null,
                "do not start the CPUs (prelaunch)"),
        NODEFAULTS(List.of("nodefaults"), null,
                "create no default devices"),
        NO_USER_CONFIG(List.of("no-user-config"), null,
                "accepted for compatibility (jvmm reads no config files)"),
        QMP(List.of("qmp"), "unix:PATH,server=on,wait=off",
                "QMP monitor on a UNIX socket"),
        MON(List.of("mon"), "chardev=ID,mode=control",
                "monitor on a chardev"),
        ACTION(List.of("action"), "reboot=,shutdown=,panic=,watchdog=",
                "actions for guest events"),
        WATCHDOG_ACTION(List.of("watchdog-action"), "reset|shutdown|poweroff|pause|debug|none|inject-nmi",
                "what a watchdog expiry does (same as -action watchdog=)"),
        NO_ACPI(List.of("no-acpi"), null,
                "no ACPI (same as -machine acpi=off)"),
        RTC(List.of("rtc"), "[base=utc|localtime|DATE][,clock=host|rt|vm][,driftfix=none|slew]",
                "real-time clock"),
        PIDFILE(List.of("pidfile"), "FILE",
                "write the process id to FILE, locked while jvmm runs"),
        DAEMONIZE(List.of("daemonize"), null,
                "detach once the machine is set up and QMP listens"),
        SANDBOX(List.of("sandbox"), "on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children][,spawn=allow|deny][,resourcecontrol=allow|deny]",
                "seccomp filter denying syscalls jvmm never needs"),
        OBJECT(List.of("object"), "TYPE,id=ID[,...] | JSON",
                "a user-creatable object: secret, memory-backend-ram, memory-backend-memfd, memory-backend-file,"
                    + " iothread"),
        OVERCOMMIT(List.of("overcommit"), "mem-lock=on|off[,cpu-pm=off]",
                "host memory locking"),
        MSG(List.of("msg"), "[timestamp=on|off][,guest-name=on|off]",
                "error and warning line prefixes"),
        AUDIODEV(List.of("audiodev"), "none,id=ID | JSON",
                "audio backend (only the none driver)"),
        BOOT(List.of("boot"), "[order=DEVS][,once=,menu=,splash=,splash-time=,reboot-timeout=,strict=]",
                "firmware boot settings (no effect with -kernel, as in QEMU)"),
        FW_CFG(List.of("fw_cfg"), "[name=]NAME,file=FILE|string=STR",
                "add a named fw_cfg file with contents from FILE or STR"),
        NO_HPET(List.of("no-hpet"), null,
                "no HPET (same as -machine hpet=off)"),
        LOG_ITEMS(List.of("d"), "item1[,...]",
                "log items: startup (the time each start-up phase ends); -d help lists them"),
        LOG_FILE(List.of("D"), "logfile",
                "write the -d log to logfile (default: stderr)"),
        VERSION(List.of("version"), null,
                "print the version and exit"),
        HELP(List.of("h", "help"), null,
                "print this help and exit");

        final List<String> names;
        final String valueLabel;
        final String help;

        Opt(List<String> names, String valueLabel, String help) {
            this.names = names;
            this.valueLabel = valueLabel;
            this.help = help;
        }

        boolean takesValue() {
            return valueLabel != null;
        }
    }

    /** Option names (without their dash) to options. */
    private static final Map<String, Opt> BY_NAME = byName();

    private static Map<String, Opt> byName() {
        Map<String, Opt> m = new HashMap<>();
        for (Opt o : Opt.values()) {
            for (String n : o.names) {
                m.put(n, o);
            }
        }
        return Map.copyOf(m);
    }

    /** A command line QEMU would refuse before reading any option's value; the text is QEMU's. */
    static final class ArgumentException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ArgumentException(String message) {
            super(message);
        }
    }

    /** A command line read as QEMU reads it. */
    static QemuCommandLine parse(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return cl;
    }

    /**
     * Reads the arguments into this object as QEMU's option loop does: an argument starting with a dash names
     * an option (one more dash is allowed), whose value, if it takes one, is the next argument whatever it
     * looks like; any other argument is a disk image. Later values of single-valued options win.
     */
    void read(String... args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) {
                images.add(a);
                continue;
            }
            String name = a.startsWith("--") ? a.substring(2) : a.substring(1);
            Opt o = BY_NAME.get(name);
            if (o == null) {
                throw new ArgumentException(a + ": invalid option");
            }
            String value = null;
            if (o.takesValue()) {
                if (i + 1 >= args.length) {
                    throw new ArgumentException(a + ": requires an argument");
                }
                value = args[++i];
            }
            apply(o, value);
        }
    }

    /** -help's text: each option with its value, then its help line indented, as QEMU lays its help out. */
    static String usage() {
        StringBuilder b = new StringBuilder();
        b.append("usage: jvmm [options] [disk_image]   (a qemu-system-x86_64 compatible command line)\n\n");
        b.append("'disk_image' is a raw hard disk image for IDE hard disk 0\n\n");
        for (Opt o : Opt.values()) {
            for (int i = 0; i < o.names.size(); i++) {
                b.append(i == 0 ? "-" : " or -").append(o.names.get(i));
            }
            if (o.takesValue()) {
                b.append(' ').append(o.valueLabel);
            }
            b.append("\n                ").append(o.help).append('\n');
        }
        return b.toString();
    }

    /** Where an option's value goes (value is null for an option that takes none). */
    private void apply(Opt o, String value) {
        switch (o) {
            case MEMORY -> memory = value;
            case SMP -> smp = value;
            case KERNEL -> kernel = value;
            case BIOS -> bios = value;
            case DATA_DIRS -> dataDirs.add(value);
            case INITRD -> initrd = value;
            case APPEND -> append = value;
            case NOGRAPHIC -> nographic = true;
            case DISPLAY -> display = value;
            case SERIAL -> serial.add(value);
            case CHARDEV -> chardev.add(value);
            case DEVICE -> device.add(value);
            case NETDEV -> netdev.add(value);
            case NIC -> nic.add(value);
            case NET -> net.add(value);
            case GLOBAL -> global.add(value);
            case DRIVE -> drive(value);
            case HDA -> hda(value);
            case HDB -> hdb(value);
            case HDC -> hdc(value);
            case HDD -> hdd(value);
            case CDROM -> cdrom(value);
            case BLOCKDEV -> blockdev.add(value);
            case ADD_FD -> addFd.add(value);
            case SNAPSHOT -> snapshot = true;
            case MACHINE -> machine.add(value);
            case ACCEL -> accel.add(value);
            case ENABLE_KVM -> enableKvm = true;
            case CPU -> cpu = value;
            case NAME -> name = value;
            case UUID -> uuid(value);
            case SMBIOS -> smbios.add(value);
            case NO_REBOOT -> noReboot = true;
            case NO_SHUTDOWN -> noShutdown = true;
            case FREEZE -> freeze = true;
            case NODEFAULTS -> nodefaults = true;
            case NO_USER_CONFIG -> noUserConfig = true;
            case QMP -> qmp.add(value);
            case MON -> mon.add(value);
            case ACTION -> action(value);
            case WATCHDOG_ACTION -> watchdogAction(value);
            case NO_ACPI -> noAcpi = true;
            case RTC -> rtc = value;
            case PIDFILE -> pidfile = value;
            case DAEMONIZE -> daemonize = true;
            case SANDBOX -> sandbox.add(value);
            case OBJECT -> object.add(value);
            case OVERCOMMIT -> overcommit.add(value);
            case MSG -> msg.add(value);
            case AUDIODEV -> audiodev.add(value);
            case BOOT -> boot.add(value);
            case FW_CFG -> fwCfg.add(value);
            case NO_HPET -> noHpet = true;
            case LOG_ITEMS -> logItems.add(value);
            case LOG_FILE -> logFile = value;
            case VERSION -> version = true;
            case HELP -> help = true;
            default -> throw new IllegalStateException(o.name());
        }
    }

    String memory;

    String smp;

    String kernel;

    String bios;

    List<String> dataDirs = new ArrayList<>();

    String initrd;

    String append;

    boolean nographic;

    String display;

    List<String> serial = new ArrayList<>();

    List<String> chardev = new ArrayList<>();

    List<String> device = new ArrayList<>();

    List<String> netdev = new ArrayList<>();

    List<String> nic = new ArrayList<>();

    List<String> net = new ArrayList<>();

    List<String> global = new ArrayList<>();

    /** -drive values, in order. */
    final List<String> drive = new ArrayList<>();
    /** -drive and the -hda..-hdd / -cdrom shorthands together, in command-line order (QEMU numbers them so). */
    final List<DriveArg> drives = new ArrayList<>();

    void drive(String value) {
        drive.add(value);
        drives.add(new DriveArg("-drive " + value, value));
    }

    void hda(String file) {
        drives.add(DriveArg.shorthand("-hda", file, 0, "disk"));
    }

    void hdb(String file) {
        drives.add(DriveArg.shorthand("-hdb", file, 1, "disk"));
    }

    void hdc(String file) {
        drives.add(DriveArg.shorthand("-hdc", file, 2, "disk"));
    }

    void hdd(String file) {
        drives.add(DriveArg.shorthand("-hdd", file, 3, "disk"));
    }

    void cdrom(String file) {
        drives.add(DriveArg.shorthand("-cdrom", file, 2, "cdrom"));
    }

    List<String> blockdev = new ArrayList<>();

    List<String> addFd = new ArrayList<>();

    boolean snapshot;

    List<String> machine = new ArrayList<>();

    List<String> accel = new ArrayList<>();

    boolean enableKvm;

    String cpu;

    String name;

    String uuid;
    /** How many -smbios options came before the last -uuid: QEMU keeps whichever UUID comes last. */
    int smbiosBeforeUuid;

    void uuid(String value) {
        uuid = value;
        smbiosBeforeUuid = smbios.size();
    }

    List<String> smbios = new ArrayList<>();

    boolean noReboot;

    boolean noShutdown;

    boolean freeze;

    boolean nodefaults;

    boolean noUserConfig;

    List<String> qmp = new ArrayList<>();

    List<String> mon = new ArrayList<>();

    /** -action values and -watchdog-action as "watchdog=X", in command-line order (later values win). */
    List<String> action = new ArrayList<>();
    /** The -watchdog-action values, checked by the parser with that option's name in the error. */
    List<String> watchdogAction = new ArrayList<>();

    void action(String value) {
        action.add(value);
    }

    void watchdogAction(String value) {
        watchdogAction.add(value);
        action.add("watchdog=" + value);
    }

    boolean noAcpi;

    String rtc;

    String pidfile;

    boolean daemonize;

    List<String> sandbox = new ArrayList<>();

    List<String> object = new ArrayList<>();

    List<String> overcommit = new ArrayList<>();

    List<String> msg = new ArrayList<>();

    List<String> audiodev = new ArrayList<>();

    List<String> boot = new ArrayList<>();

    List<String> fwCfg = new ArrayList<>();

    boolean noHpet;

    List<String> logItems = new ArrayList<>();

    String logFile;

    boolean version;

    boolean help;

    /** Arguments that are no option: disk images, as -hda (QEMU's "disk_image"). */
    List<String> images = new ArrayList<>();
}
