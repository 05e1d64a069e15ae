package dev.jvmm.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One emulator that libvirt runs the test domain with: jvmm's bin/jvmm or QEMU. {@code missing} says why it
 * cannot run here (null when it can); a test runs QEMU's half only where the host allows.
 */
record Vmm(String label, Path emulator, String missing) {
    static Path root() {
        return Path.of(System.getProperty("jvmm.root", "..")).toAbsolutePath().normalize();
    }

    static Path guestDir() {
        return Path.of(System.getProperty("jvmm.guest.dir", root().resolve("tests/target/guest").toString()));
    }

    static Vmm jvmm() {
        Path launcher = Path.of(System.getProperty("jvmm.launcher", root().resolve("bin/jvmm").toString()))
                .toAbsolutePath().normalize();
        Path jar = launcher.getParent().getParent().resolve("vmm-cli/target/jvmm.jar");
        return new Vmm("jvmm", launcher, Files.isRegularFile(jar) ? null : jar + " is not built");
    }

    static Vmm qemu() {
        Path q = PrivateLibvirtd.onPath("qemu-system-x86_64");
        return new Vmm("QEMU", q == null ? Path.of("/usr/bin/qemu-system-x86_64") : q,
                q == null ? "qemu-system-x86_64 is not installed" : null);
    }

    /** Why no KVM test can run here, or null. */
    static String kvmMissing() {
        Path kvm = Path.of("/dev/kvm");
        if (!Files.exists(kvm) || !Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            return "/dev/kvm is missing or not accessible";
        }
        if (!Files.isRegularFile(guestDir().resolve("tiny.pvh"))) {
            return "guest binary " + guestDir().resolve("tiny.pvh") + " was not built";
        }
        if (PrivateLibvirtd.onPath("qemu-img") == null) {
            return "qemu-img is not installed (the test domain's qcow2 disk)";
        }
        return null;
    }

    /** A short name for domain names and file names. */
    String tag() {
        return label.toLowerCase();
    }

    /** The domain of issue 14 for this emulator, with its own disks and channel socket under {@code dir}. */
    DomainXml domain(String name, Path dir) throws IOException, InterruptedException {
        Path qcow2 = dir.resolve(name + ".qcow2");
        Path raw = dir.resolve(name + ".raw");
        if (!Files.exists(qcow2)) {
            run(List.of(PrivateLibvirtd.onPath("qemu-img").toString(), "create", "-q", "-f", "qcow2",
                    qcow2.toString(), "16M"));
        }
        if (!Files.exists(raw)) {
            run(List.of(PrivateLibvirtd.onPath("qemu-img").toString(), "create", "-q", "-f", "raw", raw.toString(),
                    "16M"));
        }
        return DomainXml.of(name, emulator, guestDir().resolve("tiny.pvh"), qcow2, raw,
                dir.resolve(name + ".chan"));
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(cmd + " failed: " + out);
        }
    }

    /** QEMU (when it can run here) then jvmm. */
    static List<Vmm> both() {
        List<Vmm> l = new ArrayList<>();
        l.add(qemu());
        l.add(jvmm());
        return l;
    }
}
