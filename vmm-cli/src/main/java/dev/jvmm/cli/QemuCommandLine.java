package dev.jvmm.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * The command line as qemu-system-x86_64 spells it: single-dash long options (a double dash works too,
 * as in QEMU), repeatable where QEMU's are. Holds raw text only; {@link MachineConfigParser} validates it.
 */
@Command(name = "jvmm", mixinStandardHelpOptions = false, sortOptions = false,
        description = "A QEMU-compatible x86-64 virtual machine monitor on KVM.")
final class QemuCommandLine {
    @Option(names = {"-m", "--m"}, paramLabel = "[size=]MEGS[,maxmem=..]", description = "guest RAM (bare numbers are MiB; k/M/G/T suffixes)")
    String memory;

    @Option(names = {"-smp", "--smp"}, paramLabel = "[cpus=]N[,sockets=,cores=,threads=,maxcpus=]", description = "vCPUs and topology")
    String smp;

    @Option(names = {"-kernel", "--kernel"}, paramLabel = "FILE", description = "Linux bzImage, PVH ELF or multiboot kernel")
    String kernel;

    @Option(names = {"-bios", "--bios"}, paramLabel = "FILE",
            description = "firmware image (default: SeaBIOS's bios-256k.bin when no -kernel is given)")
    String bios;

    @Option(names = {"-L"}, paramLabel = "DIR", description = "directory searched first for firmware files")
    List<String> dataDirs = new ArrayList<>();

    @Option(names = {"-initrd", "--initrd"}, paramLabel = "FILE", description = "initial ramdisk")
    String initrd;

    @Option(names = {"-append", "--append"}, paramLabel = "CMDLINE", description = "kernel command line")
    String append;

    @Option(names = {"-nographic", "--nographic"}, description = "no display; serial port on stdio")
    boolean nographic;

    @Option(names = {"-display", "--display"}, paramLabel = "none", description = "only 'none' is available")
    String display;

    @Option(names = {"-serial", "--serial"}, paramLabel = "DEV", description = "serial port backend: stdio, file:PATH, null, none, pty, unix:PATH[,server=on,wait=off], chardev:ID")
    List<String> serial = new ArrayList<>();

    @Option(names = {"-chardev", "--chardev"}, paramLabel = "BACKEND,id=ID[,...]", description = "character device backend")
    List<String> chardev = new ArrayList<>();

    @Option(names = {"-device", "--device"}, paramLabel = "DRIVER[,prop=value...]", description = "add a device")
    List<String> device = new ArrayList<>();

    @Option(names = {"-netdev", "--netdev"}, paramLabel = "TYPE,id=ID[,...]",
            description = "a network backend (-netdev help lists the types)")
    List<String> netdev = new ArrayList<>();

    @Option(names = {"-nic", "--nic"}, paramLabel = "[TYPE][,model=M][,mac=MAC][,...]",
            description = "a NIC and its backend together (none: no network)")
    List<String> nic = new ArrayList<>();

    @Option(names = {"-net", "--net"}, paramLabel = "nic[,model=M][,macaddr=MAC][,netdev=ID] | TYPE[,...] | none",
            description = "legacy network option: NICs and backends on hub 0")
    List<String> net = new ArrayList<>();

    @Option(names = {"-global", "--global"}, paramLabel = "DRIVER.PROP=VALUE | driver=,property=,value=",
            description = "set a default property value for every device of a type")
    List<String> global = new ArrayList<>();

    /** -drive values, in order. */
    final List<String> drive = new ArrayList<>();
    /** -drive and the -hda..-hdd / -cdrom shorthands together, in command-line order (QEMU numbers them so). */
    final List<DriveArg> drives = new ArrayList<>();

    @Option(names = {"-drive", "--drive"}, paramLabel = "file=FILE[,format=raw|qcow2][,if=ide|virtio|none][,id=ID][,...]",
            description = "a drive: image, interface and cache/error policy")
    void drive(String value) {
        drive.add(value);
        drives.add(new DriveArg("-drive " + value, value));
    }

    @Option(names = {"-hda", "--hda"}, paramLabel = "FILE", description = "IDE disk 0 (primary master)")
    void hda(String file) {
        drives.add(DriveArg.shorthand("-hda", file, 0, "disk"));
    }

    @Option(names = {"-hdb", "--hdb"}, paramLabel = "FILE", description = "IDE disk 1 (primary slave)")
    void hdb(String file) {
        drives.add(DriveArg.shorthand("-hdb", file, 1, "disk"));
    }

    @Option(names = {"-hdc", "--hdc"}, paramLabel = "FILE", description = "IDE disk 2 (secondary master)")
    void hdc(String file) {
        drives.add(DriveArg.shorthand("-hdc", file, 2, "disk"));
    }

    @Option(names = {"-hdd", "--hdd"}, paramLabel = "FILE", description = "IDE disk 3 (secondary slave)")
    void hdd(String file) {
        drives.add(DriveArg.shorthand("-hdd", file, 3, "disk"));
    }

    @Option(names = {"-cdrom", "--cdrom"}, paramLabel = "FILE", description = "IDE CD-ROM image (secondary master)")
    void cdrom(String file) {
        drives.add(DriveArg.shorthand("-cdrom", file, 2, "cdrom"));
    }

    @Option(names = {"-blockdev", "--blockdev"}, paramLabel = "driver=DRV,node-name=NAME[,...] | JSON",
            description = "a block node (key=value or JSON, as libvirt writes it)")
    List<String> blockdev = new ArrayList<>();

    @Option(names = {"-add-fd", "--add-fd"}, paramLabel = "fd=FD,set=SET[,opaque=OPAQUE]",
            description = "an inherited descriptor into fd set SET, opened by /dev/fdset/SET paths")
    List<String> addFd = new ArrayList<>();

    @Option(names = {"-snapshot", "--snapshot"}, description = "write to temporary overlays, never to the images")
    boolean snapshot;

    @Option(names = {"-machine", "--machine", "-M", "--M"}, paramLabel = "pc[,accel=kvm]", description = "machine type and properties")
    List<String> machine = new ArrayList<>();

    @Option(names = {"-accel", "--accel"}, paramLabel = "kvm", description = "accelerator (only kvm)")
    List<String> accel = new ArrayList<>();

    @Option(names = {"-enable-kvm", "--enable-kvm"}, description = "use KVM (always on)")
    boolean enableKvm;

    @Option(names = {"-cpu", "--cpu"}, paramLabel = "model[,+feat,-feat,feat=on|off,prop=value]", description = "CPU model (-cpu help lists them) and its settings")
    String cpu;

    @Option(names = {"-name", "--name"}, paramLabel = "[guest=]NAME[,debug-threads=on]", description = "guest name")
    String name;

    String uuid;
    /** How many -smbios options came before the last -uuid: QEMU keeps whichever UUID comes last. */
    int smbiosBeforeUuid;

    @Option(names = {"-uuid", "--uuid"}, paramLabel = "UUID", description = "machine UUID")
    void uuid(String value) {
        uuid = value;
        smbiosBeforeUuid = smbios.size();
    }

    @Option(names = {"-smbios", "--smbios"}, paramLabel = "file=BINARY | type=N[,field=value...]",
            description = "SMBIOS structure from a file, or fields of structure type 0, 1, 2, 3, 4, 8, 11, 17 or 41")
    List<String> smbios = new ArrayList<>();

    @Option(names = {"-no-reboot", "--no-reboot"}, description = "exit instead of rebooting")
    boolean noReboot;

    @Option(names = {"-no-shutdown", "--no-shutdown"}, description = "stop instead of exiting on guest shutdown")
    boolean noShutdown;

    @Option(names = {"-S", "--S"}, description = "do not start the CPUs (prelaunch)")
    boolean freeze;

    @Option(names = {"-nodefaults", "--nodefaults"}, description = "create no default devices")
    boolean nodefaults;

    @Option(names = {"-no-user-config", "--no-user-config"}, description = "accepted for compatibility (jvmm reads no config files)")
    boolean noUserConfig;

    @Option(names = {"-qmp", "--qmp"}, paramLabel = "unix:PATH,server=on,wait=off", description = "QMP monitor on a UNIX socket")
    List<String> qmp = new ArrayList<>();

    @Option(names = {"-mon", "--mon"}, paramLabel = "chardev=ID,mode=control", description = "monitor on a chardev")
    List<String> mon = new ArrayList<>();

    /** -action values and -watchdog-action as "watchdog=X", in command-line order (later values win). */
    List<String> action = new ArrayList<>();
    /** The -watchdog-action values, checked by the parser with that option's name in the error. */
    List<String> watchdogAction = new ArrayList<>();

    @Option(names = {"-action", "--action"}, paramLabel = "reboot=,shutdown=,panic=,watchdog=", description = "actions for guest events")
    void action(String value) {
        action.add(value);
    }

    @Option(names = {"-watchdog-action", "--watchdog-action"},
            paramLabel = "reset|shutdown|poweroff|pause|debug|none|inject-nmi",
            description = "what a watchdog expiry does (same as -action watchdog=)")
    void watchdogAction(String value) {
        watchdogAction.add(value);
        action.add("watchdog=" + value);
    }

    @Option(names = {"-no-acpi", "--no-acpi"}, description = "no ACPI (same as -machine acpi=off)")
    boolean noAcpi;

    @Option(names = {"-rtc", "--rtc"}, paramLabel = "[base=utc|localtime|DATE][,clock=host|rt|vm][,driftfix=none|slew]",
            description = "real-time clock")
    String rtc;

    @Option(names = {"-pidfile", "--pidfile"}, paramLabel = "FILE", description = "write the process id to FILE, locked while jvmm runs")
    String pidfile;

    @Option(names = {"-daemonize", "--daemonize"}, description = "detach once the machine is set up and QMP listens")
    boolean daemonize;

    @Option(names = {"-sandbox", "--sandbox"},
            paramLabel = "on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children][,spawn=allow|deny][,resourcecontrol=allow|deny]",
            description = "seccomp filter denying syscalls jvmm never needs")
    List<String> sandbox = new ArrayList<>();

    @Option(names = {"-object", "--object"}, paramLabel = "TYPE,id=ID[,...] | JSON",
            description = "a user-creatable object: secret, memory-backend-ram, memory-backend-memfd, memory-backend-file,"
                    + " iothread")
    List<String> object = new ArrayList<>();

    @Option(names = {"-overcommit", "--overcommit"}, paramLabel = "mem-lock=on|off[,cpu-pm=off]",
            description = "host memory locking")
    List<String> overcommit = new ArrayList<>();

    @Option(names = {"-msg", "--msg"}, paramLabel = "[timestamp=on|off][,guest-name=on|off]",
            description = "error and warning line prefixes")
    List<String> msg = new ArrayList<>();

    @Option(names = {"-audiodev", "--audiodev"}, paramLabel = "none,id=ID | JSON",
            description = "audio backend (only the none driver)")
    List<String> audiodev = new ArrayList<>();

    @Option(names = {"-boot", "--boot"}, paramLabel = "[order=DEVS][,once=,menu=,splash=,splash-time=,reboot-timeout=,strict=]",
            description = "firmware boot settings (no effect with -kernel, as in QEMU)")
    List<String> boot = new ArrayList<>();

    @Option(names = {"-fw_cfg", "--fw_cfg"}, paramLabel = "[name=]NAME,file=FILE|string=STR",
            description = "add a named fw_cfg file with contents from FILE or STR")
    List<String> fwCfg = new ArrayList<>();

    @Option(names = {"-no-hpet", "--no-hpet"}, description = "no HPET (same as -machine hpet=off)")
    boolean noHpet;

    @Option(names = {"-d", "--d"}, paramLabel = "item1[,...]",
            description = "log items: startup (the time each start-up phase ends); -d help lists them")
    List<String> logItems = new ArrayList<>();

    @Option(names = {"-D", "--D"}, paramLabel = "logfile", description = "write the -d log to logfile (default: stderr)")
    String logFile;

    @Option(names = {"-version", "--version"}, description = "print the version and exit")
    boolean version;

    @Option(names = {"-h", "-help", "--help"}, description = "print this help and exit")
    boolean help;

    @Parameters(paramLabel = "IMAGE", arity = "0..*", hidden = true)
    List<String> images = new ArrayList<>();
}
