package dev.jvmm.tests;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real software not written by us boots under jvmm as under QEMU: SeaBIOS boots GRUB 2 (built at test time by
 * {@link BootImages}) from a CD, from an IDE disk and from a virtio-blk disk; GRUB prints over the serial port
 * what it sees (PCI devices, the e820 map, the ACPI tables, the disks), loads the tiny guest as a multiboot
 * kernel, and the guest powers off through ACPI S5. The normalised serial transcript, the QMP events (names in
 * order, with their data: SHUTDOWN guest=true reason=guest-shutdown) and the exit status must be QEMU's.
 *
 * <p>Each medium runs each VMM once, QEMU and jvmm at the same time, with the same command line (each with
 * its own copy of the disk image, since both lock it for writing). Firmware under PVM is slow (a QEMU boot
 * takes about a minute on a busy host), so the deadline is generous ({@code -Djvmm.firmware.timeout.s},
 * default 240) and jvmm gets at most QEMU's time, and at least 60 s, after QEMU has ended.
 * {@code -Djvmm.qemuOnly=true} runs the QEMU half alone; {@code -Djvmm.firmware.media=CDROM,IDE_DISK} boots only
 * the media named. Transcripts are kept in target/firmware-boot (MEDIUM-qemu.serial.txt, MEDIUM-jvmm.txt...).
 */
class FirmwareBootSideBySideTest {
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("jvmm.firmware.timeout.s", 240));
    static final String SHUTDOWN = "SHUTDOWN {guest=true, reason=guest-shutdown}";

    /** The three media, as command-line arguments given the CD image and a disk image. */
    enum Medium {
        CDROM, IDE_DISK, VIRTIO_DISK;

        List<String> args(Path iso, Path disk) {
            return switch (this) {
                case CDROM -> List.of("-cdrom", iso.toString(), "-boot", "d");
                case IDE_DISK -> List.of("-drive", "file=" + disk + ",format=raw,if=ide");
                // jvmm's virtio functions are modern-only (1af4:1042); QEMU's pc default is transitional
                // (1af4:1001), so both VMMs get the modern-only device, and lspci reads the same
                case VIRTIO_DISK -> List.of("-drive", "file=" + disk + ",format=raw,if=none,id=disk0", "-device",
                        "virtio-blk-pci,drive=disk0,disable-legacy=on");
            };
        }

        boolean usesDisk() {
            return this != CDROM;
        }

        /** The media to boot: all three, or those named in -Djvmm.firmware.media (comma-separated). */
        static List<Medium> selected() {
            String only = System.getProperty("jvmm.firmware.media", "").trim();
            if (only.isEmpty()) {
                return List.of(values());
            }
            return Arrays.stream(only.split(",")).map(String::trim).map(Medium::valueOf).toList();
        }
    }

    static List<Medium> media() {
        return Medium.selected();
    }

    @TempDir
    static Path mediaDir;
    static Path iso;
    static Path disk;

    @BeforeAll
    static void build() {
        buildMedia(mediaDir);
    }

    /** Skips unless QEMU, KVM, the GRUB tools and the tiny guest are there; builds the CD and disk images in dir. */
    static void buildMedia(Path dir) {
        Env.assumeQemu();
        BootImages.assumeTools();
        Path kernel = Env.guest(BootImages.KERNEL);
        iso = BootImages.iso(dir, kernel);
        disk = BootImages.disk(dir, kernel);
    }

    /** The arguments both VMMs get: no default devices, COM1 on stdout, 128 MiB, a reset ends the run. */
    static List<String> commonArgs(Medium m, Path diskCopy) {
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-serial", "stdio", "-m", "128", "-machine", "pc", "-no-reboot"));
        a.addAll(m.args(iso, diskCopy));
        return a;
    }

    /** A private copy of the disk image for one VMM's run (QEMU and jvmm run at once and lock their image). */
    static Path diskFor(Medium m, Path dir, String who) {
        if (!m.usesDisk()) {
            return disk;
        }
        try {
            return Files.copy(disk, dir.resolve(who + "-disk.img"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** QEMU's run must be a complete boot: GRUB's output, the guest's power-off, SHUTDOWN, exit 0. */
    static void assertQemuBooted(FirmwareRun.Result q) {
        String t = q.transcript();
        assertFalse(q.killed(), "QEMU did not finish in " + TIMEOUT.toSeconds() + " s: " + q.describe());
        assertTrue(t.contains(BootImages.FIRST_LINE + "\n") && t.contains("grub: lsacpi\nRSDP")
                        && t.contains("jvmm-tiny: boot=multiboot\ncmdline: action=poweroff\n")
                        && t.contains(BootImages.LAST_LINE + "\n"),
                "QEMU's transcript is not a full GRUB boot: " + q.describe());
        assertEquals(List.of("RESUME", SHUTDOWN), q.events(), "QEMU's events: " + q.describe());
        assertEquals(0, q.status(), "QEMU's exit status: " + q.describe());
    }

    static void save(Path out, String name, FirmwareRun.Result r) {
        try {
            Files.createDirectories(out);
            Files.writeString(out.resolve(name + ".serial.txt"), r.transcript());
            Files.writeString(out.resolve(name + ".txt"), r.describe() + "\nfirst line at " + r.firstLineMillis()
                    + " ms, power-off line at " + r.lastLineMillis() + " ms, ended at " + r.endMillis() + " ms\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("media")
    void bootsAsUnderQemu(Medium m, @TempDir Path dir) {
        Path qemu = Env.assumeQemu();
        boolean qemuOnly = Boolean.getBoolean("jvmm.qemuOnly");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        FirmwareRun.Vm q = FirmwareRun.start(qemu.toString(), commonArgs(m, diskFor(m, dir, "qemu")), dir, "qemu");
        FirmwareRun.Vm j = null;
        FirmwareRun.Result qr;
        FirmwareRun.Result jr;
        try {
            if (!qemuOnly) {
                j = FirmwareRun.start(Env.launcher().toString(), commonArgs(m, diskFor(m, dir, "jvmm")), dir, "jvmm");
            }
            qr = q.await(() -> deadline);
            long qemuEnded = System.nanoTime();
            long grace = Math.max(TimeUnit.SECONDS.toNanos(60), TimeUnit.MILLISECONDS.toNanos(qr.endMillis()));
            jr = j == null ? null : j.await(() -> Math.min(deadline, qemuEnded + grace));
        } finally {
            q.process.destroyForcibly();
            if (j != null) {
                j.process.destroyForcibly();
            }
        }
        Path out = Path.of("target", "firmware-boot");
        save(out, m + "-qemu", qr);
        if (jr != null) {
            save(out, m + "-jvmm", jr);
        }
        assertQemuBooted(qr);
        org.junit.jupiter.api.Assumptions.assumeTrue(jr != null, "jvmm half skipped: -Djvmm.qemuOnly=true");
        String hint = "\n--- jvmm ---\n" + jr.describe();
        assertTrue(jr.transcript().contains(BootImages.FIRST_LINE + "\n"),
                "jvmm never reached GRUB's first line (QEMU did, at " + qr.firstLineMillis() + " ms)" + hint);
        assertEquals(qr.transcript(), jr.transcript(), "serial transcript differs from QEMU's" + hint);
        assertEquals(qr.events(), jr.events(), "QMP events differ from QEMU's" + hint);
        assertEquals(qr.status(), jr.status(), "exit status differs from QEMU's" + hint);
    }
}
