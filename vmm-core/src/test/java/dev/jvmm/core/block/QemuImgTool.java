package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs qemu-img / qemu-io for the block tests; tests skip when the tools are absent. */
final class QemuImgTool {
    record Result(int exit, String output) {}

    private QemuImgTool() {}

    static void assumeAvailable(String tool) {
        boolean ok;
        try {
            ok = run(List.of(tool, "--version")).exit() == 0;
        } catch (IOException e) {
            ok = false;
        }
        Assumptions.assumeTrue(ok, tool + " (QEMU 7.2 qemu-utils) is not installed");
    }

    static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timeout: " + cmd);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    static String ok(String... cmd) throws IOException {
        Result r = run(List.of(cmd));
        assertEquals(0, r.exit(), String.join(" ", cmd) + " failed: " + r.output());
        return r.output();
    }

    static void qemuIo(Path image, String... commands) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(image.toString());
        Result r = run(cmd);
        assertEquals(0, r.exit(), "qemu-io failed: " + r.output());
    }

    /** qemu-img check must exit 0 and report neither errors nor leaks. */
    static void check(Path image) throws IOException {
        Result r = run(List.of("qemu-img", "check", image.toString()));
        assertEquals(0, r.exit(), "qemu-img check: " + r.output());
        if (r.output().contains("leaked") || r.output().contains("ERROR")) {
            throw new AssertionError("qemu-img check: " + r.output());
        }
    }

    static byte[] toRaw(Path image, Path dir) throws IOException {
        Path raw = dir.resolve("converted-" + System.nanoTime() + ".raw");
        ok("qemu-img", "convert", "-O", "raw", image.toString(), raw.toString());
        return Files.readAllBytes(raw);
    }
}
