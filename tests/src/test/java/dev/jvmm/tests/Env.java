package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where things are, and the assumptions tests make about this machine (skip, with a reason, when unmet). */
final class Env {
    private Env() {
    }

    static Path root() {
        return Path.of(System.getProperty("jvmm.root", "..")).toAbsolutePath().normalize();
    }

    static Path launcher() {
        return Path.of(System.getProperty("jvmm.launcher", root().resolve("bin/jvmm").toString()));
    }

    static Path guestDir() {
        return Path.of(System.getProperty("jvmm.guest.dir", root().resolve("tests/target/guest").toString()));
    }

    static Path guest(String name) {
        Path p = guestDir().resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "guest binary " + p + " was not built");
        return p;
    }

    /** Skips unless /dev/kvm can be opened for reading and writing. */
    static void assumeKvm() {
        Path kvm = Path.of("/dev/kvm");
        boolean usable = Files.exists(kvm) && Files.isReadable(kvm) && Files.isWritable(kvm);
        Assumptions.assumeTrue(usable, "/dev/kvm is missing or not accessible: KVM tests skipped");
    }

    static Path qemu() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, "qemu-system-x86_64");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Skips unless QEMU and KVM are both available (side-by-side tests). */
    static Path assumeQemu() {
        assumeKvm();
        Path q = qemu();
        Assumptions.assumeTrue(q != null, "qemu-system-x86_64 is not installed: side-by-side tests skipped");
        return q;
    }

    static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
