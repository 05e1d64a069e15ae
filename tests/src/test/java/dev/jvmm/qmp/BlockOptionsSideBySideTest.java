package dev.jvmm.qmp;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Drive options end to end, QEMU 7.2 and jvmm with the same command line on the same image path: -blockdev as
 * libvirt writes it (JSON and key=value), every cache= mode, and snapshot=on / -snapshot. Before the guest
 * runs the test asks query-block, query-named-block-nodes (also flat) and query-blockstats; the normalised
 * replies, the guest's serial output (action=blk: write, flush, read back) and the exit status must match;
 * the host then checks the image (qemu-img check, expected bytes, or unchanged for snapshot runs).
 */
class BlockOptionsSideBySideTest {
    private static final long DISK = 16L << 20;
    private static final List<String> QUERIES = List.of(
            "{\"execute\":\"query-block\"}",
            "{\"execute\":\"query-named-block-nodes\"}",
            "{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}",
            "{\"execute\":\"query-blockstats\"}");
    private static final String APPEND = "action=blk";

    @TempDir
    Path dir;

    /** The args for one run, given the image path. */
    interface Drive {
        List<String> args(Path img);
    }

    private record Pair(GuestVm.Result qemu, GuestVm.Result jvmm, byte[] qemuImage, byte[] jvmmImage) {
    }

    /**
     * QEMU then jvmm on a fresh image at the same path; the image file's bytes after each run are kept.
     * tmp is the TMPDIR both get (snapshot overlays go there).
     */
    private Pair runBoth(String format, Drive drive, Path tmp) throws Exception {
        Path kernel = GuestVm.assumeReady();
        Path img = dir.resolve("disk." + format);
        Map<String, String> env = tmp == null ? Map.of() : Map.of("TMPDIR", tmp.toString());
        Images.create(img, format, DISK);
        GuestVm.Result q = GuestVm.run(GuestVm.command(GuestVm.QEMU, kernel, APPEND, drive.args(img)),
                dir.resolve("q.sock"), env, QUERIES, 30_000);
        byte[] qi = Files.readAllBytes(img);
        assertEquals(33, q.status(), "QEMU run: " + q);
        assertEquals("blk: ok", q.serial().get(q.serial().size() - 1), "QEMU run: " + q);
        String jvmm = GuestVm.jvmm();
        Images.create(img, format, DISK);
        GuestVm.Result j = GuestVm.run(GuestVm.command(jvmm, kernel, APPEND, drive.args(img)),
                dir.resolve("j.sock"), env, QUERIES, 30_000);
        byte[] ji = Files.readAllBytes(img);
        return new Pair(q, j, qi, ji);
    }

    private static void assertSame(Pair p) {
        String s = "\nQEMU: " + p.qemu() + "\njvmm: " + p.jvmm();
        assertEquals(p.qemu().serial(), p.jvmm().serial(), "serial output" + s);
        for (int i = 0; i < QUERIES.size(); i++) {
            Object q = GuestVm.knownDifferences(p.qemu().replies().get(i), p.qemu().replies().get(i));
            Object j = GuestVm.knownDifferences(p.qemu().replies().get(i), p.jvmm().replies().get(i));
            assertEquals(q, j, QUERIES.get(i) + ": " + GuestVm.firstDifference(q, j, "") + s);
        }
        assertEquals(p.qemu().events(), p.jvmm().events(), "events" + s);
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status" + s);
    }

    /** The guest-visible bytes after action=blk on a zeroed disk: the pattern on sectors 0..55. */
    private static byte[] expectedDisk() {
        byte[] disk = new byte[(int) DISK];
        byte[] p = Images.pattern(0, 56 * 512, 0);
        System.arraycopy(p, 0, disk, 0, p.length);
        return disk;
    }

    private void checkWritten(Path img, String format, byte[] fileBytes, String who) throws Exception {
        Path copy = dir.resolve(who + "." + format);
        Files.write(copy, fileBytes);
        if (format.equals("qcow2")) {
            String problems = Images.checkProblems(copy);
            assertTrue(problems == null, who + "'s image: " + problems);
        }
        byte[] got = Images.asRaw(copy, format);
        byte[] want = expectedDisk();
        assertTrue(Arrays.equals(want, got), who + "'s image differs from the pattern first at byte "
                + Arrays.mismatch(want, got));
    }

    // ------------------------------------------------------------------ -blockdev as libvirt writes it

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"json", "keyval", "json -device"})
    void libvirtBlockdev(String form) throws Exception {
        Drive drive = img -> {
            List<String> a = new ArrayList<>();
            if (form.startsWith("json")) {
                a.addAll(List.of("-blockdev", "{\"driver\":\"file\",\"filename\":\"" + img + "\",\"node-name\":"
                        + "\"libvirt-1-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"}",
                        "-blockdev", "{\"node-name\":\"libvirt-1-format\",\"read-only\":false,\"driver\":\"qcow2\","
                                + "\"file\":\"libvirt-1-storage\"}"));
            } else {
                a.addAll(List.of("-blockdev", "driver=file,filename=" + img + ",node-name=libvirt-1-storage,"
                        + "auto-read-only=on,discard=unmap",
                        "-blockdev", "node-name=libvirt-1-format,read-only=off,driver=qcow2,file=libvirt-1-storage"));
            }
            if (form.endsWith("-device")) {
                a.addAll(List.of("-device", "{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.0\",\"addr\":\"0x2\","
                        + "\"drive\":\"libvirt-1-format\",\"id\":\"virtio-disk0\",\"bootindex\":1}"));
            } else {
                a.addAll(List.of("-device", "virtio-blk-pci,drive=libvirt-1-format,id=virtio-disk0"));
            }
            return a;
        };
        Pair p = runBoth("qcow2", drive, null);
        checkWritten(dir.resolve("disk.qcow2"), "qcow2", p.qemuImage(), "QEMU");
        assertSame(p);
        checkWritten(dir.resolve("disk.qcow2"), "qcow2", p.jvmmImage(), "jvmm");
    }

    // ------------------------------------------------------------------ statistics after guest I/O

    /**
     * query-blockstats once the guest has written, flushed and read 32 KiB in 4 KiB descriptors (one request
     * each way, whatever the number of descriptors) and halted: same counts and offsets as QEMU (under qcow2
     * the file node's wr_highest_offset is the end of the highest cluster qcow2 wrote, metadata included).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw", "qcow2"})
    void blockstatsAfterGuestIo(String format) throws Exception {
        blockstats(format);
    }

    private void blockstats(String format) throws Exception {
        Path kernel = GuestVm.assumeReady();
        List<Object> got = new ArrayList<>();
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            Path img = Images.create(dir.resolve("disk." + format), format, DISK);
            List<String> cmd = GuestVm.command(program, kernel, "action=blk-err start=8 sectors=64 ops=wfrri",
                    List.of("-drive", "file=" + img + ",format=" + format + ",if=none,id=d0",
                            "-device", "virtio-blk-pci,drive=d0,id=vd0"));
            try (GuestVm vm = GuestVm.start(cmd, dir.resolve("s.sock"))) {
                vm.cont();
                assertTrue(vm.awaitSerial("blk-err: idle", 20_000), program + ": " + vm.serial() + vm.stderr());
                got.add(List.of(vm.command("{\"execute\":\"query-blockstats\"}"),
                        vm.command("{\"execute\":\"query-blockstats\",\"arguments\":{\"query-nodes\":true}}")));
                vm.command("{\"execute\":\"quit\"}");
                vm.finish(5_000);
            }
        }
        assertEquals(got.get(0), got.get(1), GuestVm.firstDifference(got.get(0), got.get(1), ""));
    }

    // ------------------------------------------------------------------ cache modes

    @ParameterizedTest(name = "cache={0}")
    @ValueSource(strings = {"none", "writeback", "writethrough", "directsync", "unsafe", "none,aio=native"})
    void cacheModes(String mode) throws Exception {
        Drive drive = img -> List.of("-drive", "file=" + img + ",format=qcow2,if=none,id=d0,cache=" + mode,
                "-device", "virtio-blk-pci,drive=d0,id=vd0");
        Pair p = runBoth("qcow2", drive, null);
        checkWritten(dir.resolve("disk.qcow2"), "qcow2", p.qemuImage(), "QEMU");
        assertSame(p);
        checkWritten(dir.resolve("disk.qcow2"), "qcow2", p.jvmmImage(), "jvmm");
    }

    // ------------------------------------------------------------------ snapshot=on, -snapshot

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw snapshot=on", "qcow2 snapshot=on", "qcow2 -snapshot", "raw -snapshot if=virtio"})
    void snapshotLeavesImageUnchanged(String how) throws Exception {
        snapshot(how, false);
    }

    /**
     * Known difference, kept visible: with snapshot=on QEMU 7.2 shows the temporary qcow2 overlay as the drive's
     * top node (drv qcow2, filename json:{"backing": ..., "file": {... TMPDIR/vl.XXXXXX}}, cache.no-flush true,
     * no backing-filename fields since the overlay's header names no backing file) with the image as its
     * read-only backing node; jvmm shows the image's own node (drv/format raw for a raw image, no-flush false,
     * backing-filename, full-backing-filename and backing-filename-format set).
     */
    @org.junit.jupiter.api.Disabled("known jvmm difference: query-block/query-named-block-nodes under snapshot=on")
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw snapshot=on", "qcow2 -snapshot"})
    void snapshotQueries(String how) throws Exception {
        snapshot(how, true);
    }

    private void snapshot(String how, boolean compareQueries) throws Exception {
        String format = how.substring(0, how.indexOf(' '));
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Drive drive = img -> {
            List<String> a = new ArrayList<>();
            if (how.contains("-snapshot")) {
                a.add("-snapshot");
            }
            if (how.contains("if=virtio")) {
                a.addAll(List.of("-drive", "file=" + img + ",format=" + format + ",if=virtio"));
            } else {
                a.addAll(List.of("-drive", "file=" + img + ",format=" + format + ",if=none,id=d0"
                        + (how.contains("snapshot=on") ? ",snapshot=on" : ""), "-device",
                        "virtio-blk-pci,drive=d0,id=vd0"));
            }
            return a;
        };
        Path img = dir.resolve("disk." + format);
        Images.create(img, format, DISK);
        String before = sha256(Files.readAllBytes(img));
        Pair p = runBoth(format, drive, tmp);
        assertEquals(before, sha256(p.qemuImage()), "QEMU changed the image under snapshot");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.toList(), "QEMU left files in TMPDIR");
        }
        if (compareQueries) {
            assertSame(new Pair(overlay(p.qemu(), tmp), overlay(p.jvmm(), tmp), null, null));
        }
        String both = "\nQEMU: " + p.qemu() + "\njvmm: " + p.jvmm();
        assertEquals(p.qemu().serial(), p.jvmm().serial(), "serial output" + both);
        assertEquals(p.qemu().events(), p.jvmm().events(), "events" + both);
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status" + both);
        assertEquals(before, sha256(p.jvmmImage()), "jvmm changed the image under snapshot");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.toList(), "jvmm left files in TMPDIR");
        }
    }

    /** The run with the temporary overlay's random name (under tmp) replaced by "<overlay>". */
    private static GuestVm.Result overlay(GuestVm.Result r, Path tmp) {
        String prefix = tmp.toString() + "/";
        List<Object> replies = r.replies().stream().map(o -> replaceOverlay(o, prefix)).toList();
        return new GuestVm.Result(r.status(), r.serial(), r.events(), replies, r.stderr());
    }

    private static Object replaceOverlay(Object o, String prefix) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            m.forEach((k, v) -> out.put((String) k, replaceOverlay(v, prefix)));
            return out;
        }
        if (o instanceof List<?> l) {
            return l.stream().map(v -> replaceOverlay(v, prefix)).toList();
        }
        if (o instanceof String s && s.startsWith(prefix)) {
            return "<overlay>";
        }
        return o;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
