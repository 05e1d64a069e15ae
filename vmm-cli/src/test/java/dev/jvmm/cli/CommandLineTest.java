package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandLineTest {
    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static MachineConfig config(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return MachineConfigParser.parse(cl);
    }

    @Test
    void everyOptionIsReadWithEitherDash() {
        for (QemuCommandLine.Opt o : QemuCommandLine.Opt.values()) {
            for (String n : o.names) {
                for (String dash : List.of("-", "--")) {
                    String[] args = o.takesValue() ? new String[] {dash + n, "x"} : new String[] {dash + n};
                    assertDoesNotThrow(() -> QemuCommandLine.parse(args), String.join(" ", args));
                }
            }
        }
    }

    @Test
    void argumentsAreReadAsQemuReadsThem() {
        QemuCommandLine cl = QemuCommandLine.parse("disk.img", "-append", "-S", "-m", "64", "--m", "128", "-S");
        assertEquals(List.of("disk.img"), cl.images);
        assertEquals("-S", cl.append, "an option's value is the next argument, whatever it looks like");
        assertEquals("128", cl.memory, "the last value wins");
        assertTrue(cl.freeze);
        Result unknown = run("-m=256");
        assertEquals(1, unknown.status());
        assertEquals("jvmm: -m=256: invalid option\n", unknown.err());
        Result missing = run("-nodefaults", "--kernel");
        assertEquals(1, missing.status());
        assertEquals("jvmm: --kernel: requires an argument\n", missing.err());
        assertEquals("jvmm: -: invalid option\n", run("-").err());
    }

    @Test
    void logItemsAreCheckedAsQemuChecksThem() {
        // QEMU prints its list on stdout and exits 1 for -d help and for an item it does not have.
        for (String items : List.of("help", "startup,in_asm", "guest_errors")) {
            Result r = run("-d", items);
            assertEquals(1, r.status(), items);
            assertEquals("Log items (comma separated):\n"
                    + "startup         time each start-up phase (jvmm's only log item)\n", r.out(), items);
            assertEquals("", r.err(), items);
        }
    }

    @Test
    void deviceInJsonFormAsLibvirtWritesIt() {
        var d = config("-device", "{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.0\",\"addr\":\"0x4\","
                + "\"drive\":\"libvirt-1-format\",\"id\":\"virtio-disk0\",\"bootindex\":1,\"write-cache\":true}")
                .devices().get(0);
        assertEquals("virtio-blk-pci", d.implied());
        assertEquals("0x4", d.get("addr").orElseThrow());
        assertEquals("1", d.get("bootindex").orElseThrow());
        assertEquals("on", d.get("write-cache").orElseThrow());
        OptionException e = assertThrows(OptionException.class,
                () -> config("-device", "{\"driver\":\"virtio-blk-pci\",\"x\":{\"y\":1}}"));
        assertEquals("Parameter 'x' is not a scalar", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-device", "{\"drive\":\"d0\"}"));
        assertEquals("Parameter 'driver' is missing", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-device", "{\"driver\":"));
        assertTrue(e.option().startsWith("-device "), e.option());
    }

    /** QEMU 7.2: -watchdog-action is -action watchdog=, in one list with -action (later values win). */
    @Test
    void watchdogActionJoinsActionInOrder() {
        MachineConfig c = config("-action", "watchdog=pause", "-watchdog-action", "inject-nmi", "-action",
                "panic=none");
        assertEquals(java.util.List.of("watchdog=pause", "watchdog=inject-nmi", "panic=none"), c.actions());
        assertEquals(dev.jvmm.core.machine.ActionSettings.WatchdogAction.INJECT_NMI,
                Launcher.actions(c).watchdog());
        c = config("-watchdog-action", "none", "-action", "watchdog=debug");
        assertEquals(dev.jvmm.core.machine.ActionSettings.WatchdogAction.DEBUG, Launcher.actions(c).watchdog());
        OptionException e = assertThrows(OptionException.class, () -> config("-watchdog-action", "boom"));
        assertEquals("-watchdog-action boom", e.option());
        assertEquals("Parameter 'watchdog' does not accept value 'boom'", e.getMessage());
        Result r = run("-watchdog", "i6300esb");
        assertEquals(1, r.status());
        assertEquals("jvmm: -watchdog: invalid option\n", r.err(), "removed before QEMU 7.2");
    }

    @Test
    void unknownOptionIsQemuStyle() {
        Result r = run("-foo");
        assertEquals(1, r.status());
        assertEquals("jvmm: -foo: invalid option\n", r.err());
    }

    @Test
    void missingArgument() {
        Result r = run("-m");
        assertEquals(1, r.status());
        assertEquals("jvmm: -m: requires an argument\n", r.err());
    }

    @Test
    void malformedMemoryIsOneLineError() {
        Result r = run("-m", "12Q");
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("jvmm: -m 12Q: Parameter 'size' expects a non-negative number"), r.err());
        assertFalse(r.err().contains("Exception"));
    }

    @Test
    void memorySpellings() {
        assertEquals(256L << 20, config("-m", "256").ramBytes());
        assertEquals(256L << 20, config("-m", "256M").ramBytes());
        assertEquals(2L << 30, config("-m", "2G").ramBytes());
        assertEquals(512L << 20, config("-m", "size=512M").ramBytes());
        assertEquals(128L << 20, config().ramBytes());
    }

    /** -m maxmem= and slots= as QEMU 7.2's machine_set_mem checks them (texts from QEMU's stderr). */
    @Test
    void memoryHotplugSizes() {
        assertEquals(new MemoryHotplugSize(1L << 30, 2), config("-m", "128M,slots=2,maxmem=1G").memoryHotplug());
        assertEquals(new MemoryHotplugSize(1L << 30, 0), config("-m", "128M,maxmem=1G").memoryHotplug());
        assertEquals(new MemoryHotplugSize(128L << 20, 0), config("-m", "128M,maxmem=128M").memoryHotplug());
        assertEquals(new MemoryHotplugSize(128L << 20, 0), config("-m", "128M").memoryHotplug());
        assertEquals(new MemoryHotplugSize(1L << 30, -1), config("-m", "128M,slots=-1,maxmem=1G").memoryHotplug());
        OptionException e = assertThrows(OptionException.class, () -> config("-m", "128M,slots=2"));
        assertEquals("slots specified but no max-size", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-m", "1G,slots=2,maxmem=512M"));
        assertEquals("invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory"
                + " size (0x40000000)", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-m", "128M,slots=2,maxmem=128M"));
        assertEquals("invalid value of maxmem: memory slots were specified but maximum memory size (0x8000000) is"
                + " equal to the initial memory size (0x8000000)", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-m", "128M,slots=x,maxmem=1G"));
        assertEquals("Parameter 'slots' expects a number", e.getMessage());
        e = assertThrows(OptionException.class, () -> config("-m", "128M,slots=2,maxmem=x"));
        assertTrue(e.getMessage().startsWith("Parameter 'maxmem' expects a non-negative number below 2^64"));
    }

    @Test
    void longOptionsAreNotMistakenForShortOnes() {
        MachineConfig c = config("-machine", "pc,accel=kvm", "-m", "64", "-smp", "2", "-S", "-name", "guest=vm1,debug-threads=on");
        assertEquals(64L << 20, c.ramBytes());
        assertEquals(2, c.smp().cpus());
        assertTrue(c.startPaused());
        assertEquals("vm1", c.name().orElseThrow());
        assertEquals(List.of(), config("--nodefaults").serials());
    }

    @Test
    void smpTopology() {
        assertEquals(new SmpTopology(4, 1, 4, 1, 4), MachineConfigParser.parseSmp("4"));
        assertEquals(new SmpTopology(4, 2, 2, 1, 4), MachineConfigParser.parseSmp("4,sockets=2"));
        assertEquals(new SmpTopology(8, 2, 2, 2, 8), MachineConfigParser.parseSmp("sockets=2,cores=2,threads=2"));
        assertEquals(new SmpTopology(2, 1, 4, 1, 4), MachineConfigParser.parseSmp("2,maxcpus=4"));
        OptionException e = assertThrows(OptionException.class, () -> MachineConfigParser.parseSmp("3,sockets=2"));
        assertTrue(e.getMessage().startsWith("Invalid CPU topology: product of the hierarchy must match maxcpus"));
        e = assertThrows(OptionException.class, () -> MachineConfigParser.parseSmp("abc"));
        assertEquals("Parameter 'smp.cpus' expects integer", e.getMessage());
    }

    @Test
    void cpuFeatureEdits() {
        assertEquals("host,-xsave,+avx2,x2apic=off", MachineConfigParser.parseCpu("host,-xsave,+avx2,x2apic=off"));
        assertEquals("qemu64", MachineConfigParser.parseCpu(null));
        assertEquals("Skylake-Client-IBRS,+avx", MachineConfigParser.parseCpu("Skylake-Client-IBRS,+avx"));
        OptionException e = assertThrows(OptionException.class, () -> MachineConfigParser.parseCpu("qemu65"));
        assertEquals("unable to find CPU model 'qemu65'", e.getMessage());
    }

    @Test
    void cpuHelpIsQemus() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int rc = Main.run(new String[] {"-cpu", "help"}, new java.io.PrintStream(out), new java.io.PrintStream(err));
        assertEquals(0, rc);
        String text = out.toString();
        assertTrue(text.startsWith("Available CPUs:\nx86 486 "), text);
        assertTrue(text.contains("\nx86 EPYC-Milan-v1         AMD EPYC-Milan Processor\n"), text);
        assertTrue(text.contains("\nRecognized CPUID flags:\n"), text);
    }

    @Test
    void serialDefaults() {
        assertEquals(List.of("stdio"), config("-nographic").serials());
        assertEquals(List.of("null"), config().serials());
        assertEquals(List.of("file:/tmp/x", "stdio"), config("-serial", "file:/tmp/x", "-serial", "stdio").serials());
    }

    @Test
    void unsupportedMachineAndAccel() {
        assertTrue(run("-machine", "q35").err().startsWith("jvmm: unsupported machine type 'q35'"));
        assertEquals("jvmm: -accel tcg: invalid accelerator tcg (jvmm supports only kvm)\n", run("-accel", "tcg").err());
        assertTrue(run("-display", "gtk").err().startsWith("jvmm: -display gtk: Parameter 'type' does not accept value 'gtk'"));
    }

    @Test
    void versionMentionsQemuCompatibility() {
        Result r = run("-version");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("QEMU emulator version 7.2.0 (jvmm "), r.out());
    }

    @Test
    void badUuid() {
        assertEquals("jvmm: -uuid nope: failed to parse UUID string: wrong format\n", run("-uuid", "nope").err());
    }
}
