package dev.jvmm.qmp;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * werror= / rerror= end to end: the tiny guest's virtio-blk requests hit a blkdebug inject-error rule (legacy
 * "blkdebug:CFG:IMG" filename or the -blockdev inject-error.N.* form) under QEMU 7.2 and jvmm with the same
 * command line. On every STOP the test asks query-status, query-block and query-blockstats, then cont (which
 * retries the failed request), or quit after the second STOP. Serial output, events (timestamps and auto
 * node-names normalised), replies and exit status must be the same; QEMU's transcript is checked first against
 * what it must show.
 */
class BlockErrorPolicyTest {
    private static final long DISK = 16L << 20;
    private static final String QUERY_STATUS = "{\"execute\":\"query-status\"}";
    private static final String QUERY_BLOCK = "{\"execute\":\"query-block\"}";
    private static final String QUIT = "{\"execute\":\"quit\"}";

    @TempDir
    Path dir;

    /**
     * A case: the rule (config-file body or -blockdev inject-error keys), the error policy, the guest's append
     * line, the events QEMU must show and the guest's lines QEMU must print.
     */
    record Case(String name, String event, String iotype, long sector, int errno, boolean once, String policy,
            boolean blockdev,
            String append, List<String> events, List<String> serialTail) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final String ERR = "action=blk-err start=8 sectors=8 timeout=30000";

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case("write werror=stop once, action=blk", "write_aio", null, 10, 5, true,
                        "werror=stop,rerror=report",
                        false, "action=blk timeout=30000", List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk: discard ok", "blk: checksum 0x7cf001c5", "blk: ok")),
                new Case("-blockdev write werror=stop once", "write_aio", null, 10, 5, true,
                        "werror=stop,rerror=report", true,
                        ERR, List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done")),
                new Case("write werror=stop always", "write_aio", null, 10, 5, false, "werror=stop", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME", "BLOCK_IO_ERROR", "STOP", "SHUTDOWN"),
                        List.of("blk: pci 00:02.0")),
                new Case("write werror=report", "write_aio", null, 10, 5, true, "werror=report", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 1 (IOERR)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data zero", "blk-err: done")),
                new Case("-blockdev write werror=report always", "write_aio", null, 10, 5, false, "werror=report", true,
                        "action=blk-err start=8 sectors=8 ops=wwfr",
                        List.of("RESUME", "BLOCK_IO_ERROR", "BLOCK_IO_ERROR", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 1 (IOERR)", "blk-err: write status 1 (IOERR)",
                                "blk-err: flush status 0 (OK)", "blk-err: read status 1 (IOERR)", "blk-err: done")),
                new Case("write werror=ignore", "write_aio", null, 10, 5, true, "werror=ignore", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data zero", "blk-err: done")),
                new Case("read rerror=stop once", "read_aio", "read", 10, 5, true,
                        "werror=report,rerror=stop", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done")),
                new Case("read rerror=report", "read_aio", "read", 10, 5, true, "rerror=report", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 1 (IOERR)", "blk-err: done")),
                new Case("ENOSPC werror=enospc stops", "write_aio", null, 10, 28, true, "werror=enospc", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done")),
                new Case("EIO werror=enospc reports", "write_aio", null, 10, 5, true, "werror=enospc", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 1 (IOERR)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data zero", "blk-err: done")),
                new Case("ENOSPC rerror=enospc on reads stops", "read_aio", "read", 10, 28, true,
                        "rerror=enospc", true, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done")),
                new Case("flush werror=report", "flush_to_disk", null, -1, 5, true, "werror=report", false, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 1 (IOERR)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done")),
                new Case("flush werror=stop once", "flush_to_disk", null, -1, 5, true, "werror=stop", true, ERR,
                        List.of("RESUME", "BLOCK_IO_ERROR", "STOP", "RESUME"),
                        List.of("blk-err: write status 0 (OK)", "blk-err: flush status 0 (OK)",
                                "blk-err: read status 0 (OK) data pattern", "blk-err: done"))
        ).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameErrorsEventsAndRetries(Case c) throws Exception {
        Path kernel = GuestVm.assumeReady();
        GuestVm.Result q = run(GuestVm.QEMU, kernel, c);
        String qs = "QEMU transcript: " + q;
        assertEquals(c.events(), q.eventNames(), qs);
        List<String> s = q.serial();
        assertEquals(c.serialTail(), s.subList(Math.max(0, s.size() - c.serialTail().size()), s.size()), qs);
        assertEquals(c.events().contains("SHUTDOWN") ? 0 : 33, q.status(), qs);
        Map<String, Object> err = q.events().stream().filter(e -> "BLOCK_IO_ERROR".equals(e.get("event")))
                .findFirst().orElseThrow().entrySet().stream().filter(e -> e.getKey().equals("data"))
                .map(e -> asMap(e.getValue())).findFirst().orElseThrow();
        assertEquals("read".equals(c.iotype()) ? "read" : "write", err.get("operation"), qs);
        if (err.containsKey("nospace")) {
            assertEquals(c.errno() == 28, err.get("nospace"), qs);
        }

        GuestVm.Result j = run(GuestVm.jvmm(), kernel, c);
        String js = "\nQEMU: " + q + "\njvmm: " + j;
        assertEquals(q.serial(), j.serial(), "serial output" + js);
        assertEquals(q.events(), j.events(), "events" + js);
        Object qr = GuestVm.knownDifferences(q.replies(), q.replies());
        Object jr = GuestVm.knownDifferences(q.replies(), j.replies());
        assertEquals(qr, jr, "QMP replies: " + GuestVm.firstDifference(qr, jr, "") + js);
        assertEquals(q.status(), j.status(), "exit status" + js);
    }

    /**
     * Known difference, kept visible: for -blockdev driver=raw,file.driver=blkdebug,file.inject-error.0.*=...
     * QEMU 7.2 reports the raw and blkdebug nodes' filename as json:{"driver": "raw", "file": {...}} (keys in
     * QDict order, values typed), jvmm as the image path.
     */
    @org.junit.jupiter.api.Disabled("known jvmm difference: no json:{...} filenames for -blockdev nodes")
    @org.junit.jupiter.api.Test
    void blkdebugBlockdevFilename() throws Exception {
        Path kernel = GuestVm.assumeReady();
        Path img = dir.resolve("disk.raw");
        Files.write(img, new byte[1 << 20]);
        List<String> drive = List.of("-blockdev", "driver=raw,node-name=disk0,file.driver=blkdebug,"
                + "file.image.driver=file,file.image.filename=" + img + ",file.inject-error.0.event=write_aio",
                "-device", "virtio-blk-pci,drive=disk0,id=vd0");
        List<Object> replies = new ArrayList<>();
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, "action=idle", drive),
                    dir.resolve("f.sock"))) {
                replies.add(vm.command("{\"execute\":\"query-named-block-nodes\"}"));
                vm.command(QUIT);
                vm.finish(5_000);
            }
        }
        assertEquals(replies.get(0), replies.get(1));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    /** One run on a fresh zeroed image at the same path (so query-block's filenames match). */
    private GuestVm.Result run(String program, Path kernel, Case c) throws Exception {
        Path img = dir.resolve("disk.raw");
        Files.deleteIfExists(img);
        Files.write(img, new byte[0]);
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(DISK);
            ch.write(java.nio.ByteBuffer.allocate(1), DISK - 1);
        }
        List<String> drive = new ArrayList<>();
        if (c.blockdev()) {
            String rule = "file.inject-error.0.";
            drive.addAll(List.of("-blockdev", "driver=raw,node-name=disk0,file.driver=blkdebug,"
                    + "file.image.driver=file,file.image.filename=" + img
                    + "," + rule + "event=" + c.event() + "," + rule + "errno=" + c.errno()
                    + (c.sector() >= 0 ? "," + rule + "sector=" + c.sector() : "")
                    + (c.iotype() != null ? "," + rule + "iotype=" + c.iotype() : "")
                    + "," + rule + "once=" + (c.once() ? "on" : "off"),
                    "-device", "virtio-blk-pci,drive=disk0,id=vd0," + c.policy()));
        } else {
            Path cfg = dir.resolve("blkdebug.cfg");
            Files.writeString(cfg, "[inject-error]\nevent = \"" + c.event() + "\"\nerrno = \"" + c.errno()
                    + (c.sector() >= 0 ? "\"\nsector = \"" + c.sector() : "")
                    + (c.iotype() != null ? "\"\niotype = \"" + c.iotype() : "")
                    + "\"\nonce = \"" + (c.once() ? "on" : "off") + "\"\n");
            drive.addAll(List.of("-drive", "file=blkdebug:" + cfg + ":" + img + ",format=raw,if=none,id=d0,"
                    + c.policy(), "-device", "virtio-blk-pci,drive=d0,id=vd0"));
        }
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, c.append(), drive), dir.resolve("qmp.sock"))) {
            vm.cont();
            int stops = 0;
            long end = System.currentTimeMillis() + 40_000;
            while (vm.alive() && System.currentTimeMillis() < end) {
                if (vm.awaitEvent("STOP", stops + 1, 200)) {
                    stops++;
                    vm.command(QUERY_STATUS);
                    vm.command(QUERY_BLOCK);
                    vm.command("{\"execute\":\"query-blockstats\"}");
                    vm.command(stops < 2 ? "{\"execute\":\"cont\"}" : QUIT);
                }
            }
            GuestVm.Result r = vm.finish(5_000);
            assertTrue(!r.serial().isEmpty(), program + " printed nothing; stderr: " + r.stderr());
            return r;
        }
    }
}
