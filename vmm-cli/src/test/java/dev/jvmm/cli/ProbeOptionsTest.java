package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The options of libvirt's capability probe: -machine none, accelerator lists, -pidfile, -daemonize checks. */
class ProbeOptionsTest {
    @TempDir
    Path dir;

    private static QemuCommandLine parse(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return cl;
    }

    @Test
    void probeCommandLineParses() {
        QemuCommandLine cl = parse("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine",
                "none,accel=kvm:tcg", "-qmp", "unix:/x.sock,server=on,wait=off", "-pidfile", "/x.pid", "-daemonize");
        assertTrue(MachineConfigParser.isNoneMachine(cl.machine));
        assertEquals("/x.pid", cl.pidfile);
        assertTrue(cl.daemonize);
        MachineConfigParser.parse(cl);
        assertNull(NoneMachine.refusal(cl));
        assertNull(Daemon.conflict(cl));
    }

    @Test
    void anAcceleratorListMustStartWithKvm() {
        MachineConfigParser.parse(parse("-machine", "pc,accel=kvm:tcg"));
        MachineConfigParser.parse(parse("-accel", "kvm"));
        OptionException e = assertThrows(OptionException.class,
                () -> MachineConfigParser.parse(parse("-machine", "pc,accel=tcg:kvm")));
        assertTrue(e.formatted().contains("invalid accelerator tcg:kvm"), e.formatted());
    }

    @Test
    void noneTakesNothingThatNeedsRamOrCpus() {
        assertEquals("Invalid SMP CPUs 2. The max CPUs supported by machine 'none' is 1",
                NoneMachine.refusal(parse("-machine", "none", "-smp", "2")));
        for (List<String> extra : List.of(List.of("-cpu", "host"), List.of("-m", "64"),
                List.of("-device", "pvpanic"), List.of("-kernel", "/k"))) {
            QemuCommandLine cl = new QemuCommandLine();
            List<String> args = new java.util.ArrayList<>(List.of("-machine", "none"));
            args.addAll(extra);
            cl.read(args.toArray(String[]::new));
            assertTrue(NoneMachine.refusal(cl) != null, extra.toString());
        }
    }

    @Test
    void nographicFollowsNoDaemonWhereItWouldOwnStdio() {
        assertEquals("-nographic cannot be used with -daemonize", Daemon.conflict(parse("-nographic")));
        assertNull(Daemon.conflict(parse("-nographic", "-nodefaults")));
        assertNull(Daemon.conflict(parse("-nographic", "-machine", "none")));
        assertNull(Daemon.conflict(parse("-display", "none")));
    }

    @Test
    void daemonizeIsFoundInEitherSpelling() {
        assertTrue(Daemon.requested(new String[] {"-S", "-daemonize"}));
        assertTrue(Daemon.requested(new String[] {"--daemonize"}));
        assertFalse(Daemon.requested(new String[] {"-pidfile", "x"}));
    }

    @Test
    void pidFileIsPrivateLockedAndRemoved() throws Exception {
        Path f = dir.resolve("vm.pid");
        PidFile p = PidFile.create(f.toString());
        assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(f));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        LaunchException e = assertThrows(LaunchException.class, () -> PidFile.create(f.toString()));
        assertEquals("cannot create PID file: Cannot lock pid file: Resource temporarily unavailable",
                e.getMessage());
        p.remove();
        assertFalse(Files.exists(f));
        e = assertThrows(LaunchException.class, () -> PidFile.create(dir.resolve("no/vm.pid").toString()));
        assertEquals("cannot create PID file: Could not create '" + dir.resolve("no/vm.pid")
                + "': No such file or directory", e.getMessage());
    }
}
