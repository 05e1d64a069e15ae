package dev.jvmm.qmp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Disk images for the block end-to-end tests, made and checked with qemu-img. */
final class Images {
    private static final int PATTERN_MUL = 0x9e3779b1;
    private static final int PATTERN_ADD = 0x6a766d6d;

    private Images() {
    }

    /** Runs a host tool; returns its exit status and output (stdout and stderr together). */
    record Outcome(int status, String output) {
    }

    static Outcome exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new Outcome(p.exitValue(), out);
    }

    /** Runs a host tool that must succeed. */
    static String run(String... cmd) throws IOException, InterruptedException {
        Outcome o = exec(List.of(cmd));
        if (o.status() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + o.status() + ": " + o.output());
        }
        return o.output();
    }

    /** A fresh image at img (replacing any), zeroed: qemu-img create for qcow2, a sparse file for raw. */
    static Path create(Path img, String format, long bytes) throws IOException, InterruptedException {
        Files.deleteIfExists(img);
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", format, img.toString(),
                Long.toString(bytes)));
        run(cmd.toArray(new String[0]));
        return img;
    }

    /** `qemu-img check`; its output when the image is not clean (exit status other than 0), else null. */
    static String checkProblems(Path img) throws IOException, InterruptedException {
        Outcome o = exec(List.of("qemu-img", "check", "-f", "qcow2", img.toString()));
        return o.status() == 0 ? null : "qemu-img check exited " + o.status() + ":\n" + o.output();
    }

    /** The guest-visible bytes of an image (qemu-img convert -O raw). */
    static byte[] asRaw(Path img, String format) throws IOException, InterruptedException {
        Path out = img.resolveSibling(img.getFileName() + ".converted");
        Files.deleteIfExists(out);
        run("qemu-img", "convert", "-U", "-f", format, "-O", "raw", img.toString(), out.toString());
        try {
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The guest's data pattern (virtio_blk.c): the word at disk offset o is o*0x9e3779b1+0x6a766d6d+seed. */
    static byte[] pattern(long diskOffset, int len, int seed) {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < len; i += 4) {
            b.putInt((int) (diskOffset + i) * PATTERN_MUL + PATTERN_ADD + seed);
        }
        return b.array();
    }
}
