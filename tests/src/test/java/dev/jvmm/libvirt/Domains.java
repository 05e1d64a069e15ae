package dev.jvmm.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The virsh steps the libvirt tests share, each bounded, against one private libvirtd. */
final class Domains {
    static final long BOOT_SECONDS = 45;
    /** The tiny guest's last line with action=powerbutton, printed once the SCI is armed. */
    static final String WAITING = "acpi: waiting for power button";

    final PrivateLibvirtd daemon;
    final Virsh virsh;

    Domains(PrivateLibvirtd daemon) {
        this.daemon = daemon;
        this.virsh = new Virsh(daemon.uri());
    }

    /** Defines the domain (replacing an earlier definition of that name) and checks libvirt lists it. */
    void define(DomainXml d, Path dir) throws IOException {
        Path xml = dir.resolve(d.name() + ".xml");
        Files.writeString(xml, d.xml());
        virsh.run("destroy", d.name());
        virsh.run("undefine", d.name());
        virsh.run("define", xml.toString()).ok();
        assertTrue(virsh.run("list", "--all", "--name").ok().lines().anyMatch(l -> l.strip().equals(d.name())),
                "virsh list --all names " + d.name());
    }

    String state(String name) {
        return virsh.run("domstate", "--reason", name).ok().strip();
    }

    /** Polls domstate --reason until it is {@code expected}; fails with the last state seen. */
    void awaitState(String name, String expected, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String s = state(name);
        while (!s.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            s = state(name);
        }
        assertEquals(expected, s, name + ": domstate --reason after " + seconds + " s (log: "
                + tail(daemon.domainLog(name)) + ")");
    }

    /**
     * start --paused, the console opened on the pty libvirt reports, then resume: the console sees the guest
     * from its first line. Returns with the guest waiting for the power button.
     */
    PtyConsole startWithConsole(String name) throws Exception {
        return startWithConsole(name, WAITING);
    }

    /** As {@link #startWithConsole(String)}, returning once the guest printed {@code ready}. */
    PtyConsole startWithConsole(String name, String ready) throws Exception {
        virsh.run("start", "--paused", name).ok();
        assertEquals("paused (user)", state(name), name + " after start --paused");
        String pty = virsh.run("ttyconsole", name).ok().strip();
        assertTrue(pty.startsWith("/dev/pts/"), name + ": ttyconsole gave " + pty);
        PtyConsole c = new PtyConsole(pty);
        // QEMU notices a newly opened pty slave on a one-second timer and drops output until then.
        Thread.sleep(1200);
        virsh.run("resume", name).ok();
        if (!c.await(ready, 1, BOOT_SECONDS)) {
            c.close();
            fail(name + ": no '" + ready + "' on the console within " + BOOT_SECONDS + " s; console: "
                    + c.text() + "; log: " + tail(daemon.domainLog(name)));
        }
        return c;
    }

    long pid(String name) {
        Optional<Long> p = daemon.domainPid(name);
        assertTrue(p.isPresent(), name + ": libvirt recorded no pid");
        return p.get();
    }

    /** virsh destroy, then the process must be gone (bounded) and the state "shut off (destroyed)". */
    void destroy(String name) throws InterruptedException {
        long pid = pid(name);
        virsh.run("destroy", name).ok();
        assertTrue(awaitGone(pid, 15), name + ": process " + pid + " still running after virsh destroy");
        assertEquals("shut off (destroyed)", state(name));
    }

    static boolean awaitGone(long pid, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** Destroys the domain if it runs, ignoring the outcome (test clean-up). */
    void stopQuietly(String name) {
        virsh.run(30, "destroy", name);
    }

    String qmp(String name, String json) {
        return virsh.run("qemu-monitor-command", name, json).ok().strip();
    }

    String hmp(String name, String command) {
        return virsh.run("qemu-monitor-command", name, "--hmp", command).ok().strip();
    }

    static String tail(Path file) {
        try {
            String s = Files.readString(file);
            return s.substring(Math.max(0, s.length() - 1500));
        } catch (IOException e) {
            return "(no " + file + ")";
        }
    }
}
