package dev.jvmm.tests;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Option ROMs from -device ...,romfile= run under jvmm as under QEMU 7.2: SeaBIOS (no -kernel) boots with a
 * virtio function carrying a ROM built at test time ({@link OptionRomImage}), finds it through the PCI ROM BAR
 * (rombar=1) or as the fw_cfg file genroms/NAME (rombar=0), calls its entry, and the ROM's marker line appears
 * on COM1. Both VMMs run at once with the same command line; each run ends when SeaBIOS starts booting (the
 * ROMs run before that) or at the deadline ({@code -Djvmm.firmware.timeout.s}, default 180). Compared: the
 * order of SeaBIOS's banner, the marker and the first "Booting from" line, which must be QEMU's.
 */
class OptionRomSideBySideTest {
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("jvmm.firmware.timeout.s", 180));
    static final int VENDOR_REDHAT = 0x1af4;
    /** Modern (disable-legacy=on) virtio device ids: 0x1040 + the virtio device type. */
    static final int DEVICE_VIRTIO_BLK = 0x1042;
    static final int DEVICE_VIRTIO_BALLOON = 0x1045;
    static final int CLASS_STORAGE_SCSI = 0x010000;
    static final int CLASS_OTHERS = 0xff0000;
    static final String BANNER = "SeaBIOS (version";
    static final String BOOTING = "Booting from";

    enum Case {
        /**
         * A balloon has no SeaBIOS driver, so SeaBIOS maps its ROM BAR, checks the PCIR ids and runs it.
         */
        BALLOON_ROM_BAR(true),
        /**
         * rombar=0: no BAR; SeaBIOS runs the genroms/ file from fw_cfg. (A virtio disk's ROM through its BAR is
         * skipped by SeaBIOS, whose own virtio-blk driver claims the function, under QEMU as under jvmm; that
         * case once left both VMMs' SeaBIOS silent past three minutes on a loaded host, so it is not run.)
         */
        BLK_GENROMS(true);

        final boolean markerExpected;

        Case(boolean markerExpected) {
            this.markerExpected = markerExpected;
        }

        List<String> args(Path rom, Path disk) {
            return switch (this) {
                case BALLOON_ROM_BAR -> List.of("-device", "virtio-balloon-pci,disable-legacy=on,romfile=" + rom);
                case BLK_GENROMS -> List.of("-drive", "file=" + disk + ",if=none,id=d0,format=raw", "-device",
                        "virtio-blk-pci,drive=d0,disable-legacy=on,rombar=0,romfile=" + rom);
            };
        }

        Path rom(Path dir) {
            return this == BALLOON_ROM_BAR
                    ? OptionRomImage.build(dir, "balloon.rom", VENDOR_REDHAT, DEVICE_VIRTIO_BALLOON, CLASS_OTHERS)
                    : OptionRomImage.build(dir, "blk.rom", VENDOR_REDHAT, DEVICE_VIRTIO_BLK, CLASS_STORAGE_SCSI);
        }
    }

    /** Both VMMs' arguments: SeaBIOS (no -kernel), no default devices, COM1 on stdout. */
    static List<String> commonArgs(Case c, Path rom, Path disk) {
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-nographic", "-serial", "stdio", "-m", "128", "-machine", "pc", "-no-reboot"));
        a.addAll(c.args(rom, disk));
        return a;
    }

    /** A 1 MiB blank disk for one VMM (both lock their image for writing). */
    static Path disk(Path dir, String who) {
        try {
            Path p = dir.resolve(who + "-disk.img");
            Files.write(p, new byte[1 << 20]);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The lines that place the marker: SeaBIOS's banner, the ROM's marker, SeaBIOS's boot attempts (up to the
     * first). The ROM writes to the UART without waiting for it, so its first byte may land inside
     * SeaBIOS's banner line; lines are matched by what they contain.
     */
    static List<String> milestones(String transcript) {
        List<String> out = new ArrayList<>();
        for (String line : transcript.split("\n")) {
            if (line.contains(BANNER)) {
                out.add("banner");
            }
            if (line.contains(OptionRomImage.MARKER.substring(1))) {
                out.add("marker");
            }
            if (line.startsWith(BOOTING)) {
                out.add("booting");
                break;
            }
        }
        return out;
    }

    /** Waits until vm's SeaBIOS starts booting or the deadline passes, then ends the run. */
    static FirmwareRun.Result awaitBooting(FirmwareRun.Vm vm, long deadline) throws InterruptedException {
        while (System.nanoTime() < deadline && vm.process.isAlive()
                && !vm.transcriptSoFar().contains(BOOTING)) {
            Thread.sleep(100);
        }
        long stopAt = System.nanoTime();
        return vm.await(() -> stopAt);
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void romRunsAsUnderQemu(Case c, @TempDir Path dir) throws InterruptedException {
        Path qemu = Env.assumeQemu();
        OptionRomImage.assumeTools();
        Path rom = c.rom(dir);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        FirmwareRun.Vm q = FirmwareRun.start(qemu.toString(), commonArgs(c, rom, disk(dir, "qemu")), dir, "qemu");
        FirmwareRun.Vm j = null;
        FirmwareRun.Result qr;
        FirmwareRun.Result jr;
        try {
            j = FirmwareRun.start(Env.launcher().toString(), commonArgs(c, rom, disk(dir, "jvmm")), dir, "jvmm");
            qr = awaitBooting(q, deadline);
            // jvmm gets at least a minute after QEMU is done (firmware under PVM is slow on a busy host)
            jr = awaitBooting(j, Math.max(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(60)));
        } finally {
            q.process.destroyForcibly();
            if (j != null) {
                j.process.destroyForcibly();
            }
        }
        List<String> qm = milestones(qr.transcript());
        List<String> jm = milestones(jr.transcript());
        String hint = "\n--- QEMU ---\n" + qr.describe() + "\n--- jvmm ---\n" + jr.describe();
        assertTrue(qm.contains("booting"), "QEMU's SeaBIOS never started booting" + hint);
        assertEquals(c.markerExpected, qm.contains("marker"), "QEMU ran the ROM: " + qm + hint);
        assertFalse(jr.stderr().contains("Exception"), "jvmm failed" + hint);
        assertEquals(qm, jm, "banner, marker and boot lines differ from QEMU's" + hint);
    }
}
