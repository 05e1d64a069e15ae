package dev.jvmm.qmp;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Image locking between processes (QEMU's OFD byte-range locks on the image file): while one VMM (QEMU or
 * jvmm) holds an image, a second one opening it is refused or allowed exactly as a second QEMU is, with
 * QEMU's message ("Failed to get "write" lock / Is another process using the image [...]?"); the program
 * name in front of the message is the only difference allowed.
 */
class ImageLockingTest {
    /** The contenders' drive options (QEMU's outcome for each is checked below). */
    private static final List<String> CONTENDERS = List.of("", ",readonly=on", ",readonly=on,force-share=on",
            ",force-share=on");

    @TempDir
    Path dir;

    /** A contender's outcome: it started (and was told to quit), or it exited with this status and stderr. */
    record Outcome(boolean started, int status, String message) {
    }

    static Stream<Arguments> holders() {
        return Stream.of(Arguments.of("qemu", ""), Arguments.of("qemu", ",readonly=on"),
                Arguments.of("jvmm", ""), Arguments.of("jvmm", ",readonly=on"));
    }

    @ParameterizedTest(name = "holder {0} drive{1}")
    @MethodSource("holders")
    void secondOpenerRefusedAsQemuRefusesIt(String holderKind, String holderOpts) throws Exception {
        Path kernel = GuestVm.assumeReady();
        String jvmm = GuestVm.jvmm();
        Path img = dir.resolve("disk.qcow2");
        Images.create(img, "qcow2", 16L << 20);
        String holder = holderKind.equals("qemu") ? GuestVm.QEMU : jvmm;
        try (GuestVm h = GuestVm.start(GuestVm.command(holder, kernel, "action=idle", drive(img, holderOpts)),
                dir.resolve("holder.sock"))) {
            for (String c : CONTENDERS) {
                Outcome q = contend(GuestVm.QEMU, kernel, img, c);
                boolean writers = holderOpts.isEmpty() || c.isEmpty();
                boolean expectStarted = c.contains("readonly=on")
                        && (!writers || c.contains("force-share"));
                assertEquals(expectStarted, q.started(), "QEMU contender drive" + c + ": " + q);
                if (!q.started()) {
                    assertEquals(1, q.status(), "QEMU contender drive" + c + ": " + q);
                }
                Outcome j = contend(jvmm, kernel, img, c);
                assertEquals(q, j, "jvmm contender with drive" + c + " while " + holderKind + " holds drive"
                        + holderOpts);
            }
            h.command("{\"execute\":\"quit\"}");
            h.finish(5_000);
        }
    }

    private static List<String> drive(Path img, String opts) {
        return List.of("-drive", "file=" + img + ",format=qcow2,if=none,id=d0" + opts,
                "-device", "virtio-blk-pci,drive=d0,id=vd0");
    }

    /** Starts a second VMM on the image; if it opens its QMP socket it is up (then told to quit). */
    private Outcome contend(String program, Path kernel, Path img, String opts) throws Exception {
        Path sock = dir.resolve("c.sock");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(GuestVm.command(program, kernel, "action=idle", drive(img, opts)));
        cmd.addAll(List.of("-S", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        Path err = dir.resolve("c.stderr");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long end = System.currentTimeMillis() + 20_000;
            while (p.isAlive() && !Files.exists(sock) && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            if (p.isAlive() && Files.exists(sock)) {
                // QEMU opens its monitor before the drives: only an answered command proves it is up.
                try (QmpClient c = QmpClient.negotiated(sock)) {
                    Object status = c.command("{\"execute\":\"query-status\"}");
                    if (status instanceof java.util.Map<?, ?> m && m.containsKey("return")) {
                        c.command("{\"execute\":\"quit\"}");
                        p.waitFor(10, TimeUnit.SECONDS);
                        return new Outcome(true, 0, "");
                    }
                } catch (java.io.IOException e) {
                    // It went away while we talked: it exits with its error below.
                }
            }
            p.waitFor(10, TimeUnit.SECONDS);
            // "qemu-system-x86_64: " and "jvmm: " (the program name) differ by design.
            String msg = Files.readString(err).replaceAll("(?m)^(qemu-system-x86_64|jvmm): ", "");
            return new Outcome(false, p.exitValue(), msg);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
