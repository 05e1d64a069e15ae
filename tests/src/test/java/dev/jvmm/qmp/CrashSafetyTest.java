package dev.jvmm.qmp;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data safety: once the guest's FLUSH is acknowledged its writes must be in the image file, metadata
 * included. The tiny guest writes 64 KiB across a qcow2 cluster boundary (two new clusters, a new L2 table
 * and refcount updates), flushes, prints "blk-err: idle" and halts; the VMM is then killed with SIGKILL.
 * The image must pass `qemu-img check` and hold the data. QEMU goes first to prove the test.
 */
class CrashSafetyTest {
    private static final long DISK = 16L << 20;
    private static final int START = 120;
    private static final int SECTORS = 128;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qcow2", "qcow2 cache=none", "qcow2 compat=0.10", "raw"})
    void flushedDataSurvivesKill9(String kind) throws Exception {
        Path kernel = GuestVm.assumeReady();
        check(GuestVm.QEMU, kernel, kind);
        check(GuestVm.jvmm(), kernel, kind);
    }

    /**
     * snapshot=on: the temporary overlay in $TMPDIR is unlinked as soon as it is open (as QEMU does), so even a
     * SIGKILL after the guest's writes leaves no file there, and the image itself is untouched.
     */
    @org.junit.jupiter.api.Test
    void snapshotOverlayLeavesNothingAfterKill9() throws Exception {
        Path kernel = GuestVm.assumeReady();
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            Path tmp = java.nio.file.Files.createDirectories(dir.resolve("tmp"));
            Path img = Images.create(dir.resolve("snap.qcow2"), "qcow2", DISK);
            byte[] before = java.nio.file.Files.readAllBytes(img);
            List<String> cmd = GuestVm.command(program, kernel, "action=blk-err start=" + START + " sectors="
                    + SECTORS + " ops=wfi", List.of("-drive", "file=" + img + ",format=qcow2,if=none,id=d0,snapshot=on",
                    "-device", "virtio-blk-pci,drive=d0,id=vd0"));
            try (GuestVm vm = GuestVm.start(cmd, dir.resolve("k.sock"), java.util.Map.of("TMPDIR", tmp.toString()))) {
                vm.cont();
                assertTrue(vm.awaitSerial("blk-err: idle", 20_000), program + ": " + vm.serial() + vm.stderr());
                vm.kill();
            }
            try (var files = java.nio.file.Files.list(tmp)) {
                assertEquals(List.of(), files.toList(), program + " left its overlay in TMPDIR after kill -9");
            }
            assertTrue(Arrays.equals(before, java.nio.file.Files.readAllBytes(img)), program + " changed the image");
        }
    }

    private void check(String program, Path kernel, String kind) throws Exception {
        String format = kind.startsWith("qcow2") ? "qcow2" : "raw";
        Path img = dir.resolve("disk." + format);
        java.nio.file.Files.deleteIfExists(img);
        if (kind.contains("compat=0.10")) {
            Images.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", img.toString(),
                    Long.toString(DISK));
        } else {
            Images.create(img, format, DISK);
        }
        String cache = kind.contains("cache=none") ? ",cache=none" : "";
        List<String> cmd = GuestVm.command(program, kernel, "action=blk-err start=" + START + " sectors=" + SECTORS
                + " ops=wfi", List.of("-drive", "file=" + img + ",format=" + format + ",if=none,id=d0" + cache,
                "-device", "virtio-blk-pci,drive=d0,id=vd0"));
        String who = program.endsWith("jvmm") ? "jvmm" : "QEMU";
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve("k.sock"))) {
            vm.cont();
            boolean idle = vm.awaitSerial("blk-err: idle", 20_000);
            assertTrue(idle, who + " never got the guest to its idle point: " + vm.serial() + " " + vm.stderr());
            assertTrue(vm.serial().containsAll(List.of("blk-err: write status 0 (OK)",
                    "blk-err: flush status 0 (OK)")), who + ": " + vm.serial());
            vm.kill();
        }
        if (format.equals("qcow2")) {
            String problems = Images.checkProblems(img);
            assertTrue(problems == null, "after kill -9 of " + who + ": " + problems);
        }
        byte[] got = Images.asRaw(img, format);
        byte[] want = new byte[(int) DISK];
        byte[] p = Images.pattern((long) START * 512, SECTORS * 512, 0);
        System.arraycopy(p, 0, want, START * 512, p.length);
        assertTrue(Arrays.equals(want, got), "after kill -9 of " + who + " the image differs first at byte "
                + Arrays.mismatch(want, got));
    }
}
