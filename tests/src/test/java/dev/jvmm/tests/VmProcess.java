package dev.jvmm.tests;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A jvmm or QEMU process started by a test, with its output collected. */
final class VmProcess implements AutoCloseable {
    /** What a finished process left: exit status (-1 if it had to be killed), stdout and stderr. */
    record Result(int status, String stdout, String stderr, long millis) {
    }

    private final Process process;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final Thread outPump;
    private final Thread errPump;
    private final long startNanos = System.nanoTime();

    private VmProcess(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        outPump = pump(process.getInputStream(), out);
        errPump = pump(process.getErrorStream(), err);
    }

    private static Thread pump(InputStream in, ByteArrayOutputStream sink) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (sink) {
                        sink.write(buf, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // The process went away; what was read is kept.
            }
        }, "pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static VmProcess jvmm(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Env.launcher().toString());
        cmd.addAll(List.of(args));
        return new VmProcess(cmd);
    }

    /** Any command (e.g. a VMM started through "ip netns exec"). */
    static VmProcess command(List<String> command) {
        return new VmProcess(new ArrayList<>(command));
    }

    static VmProcess qemu(Path qemu, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(qemu.toString());
        cmd.addAll(List.of(args));
        return new VmProcess(cmd);
    }

    /** Runs jvmm to completion (or kills it after the timeout). */
    static Result runJvmm(Duration timeout, String... args) {
        try (VmProcess p = jvmm(args)) {
            return p.await(timeout);
        }
    }

    static Result runQemu(Path qemu, Duration timeout, String... args) {
        try (VmProcess p = qemu(qemu, args)) {
            return p.await(timeout);
        }
    }

    String stdoutSoFar() {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    String stderrSoFar() {
        synchronized (err) {
            return err.toString(StandardCharsets.UTF_8);
        }
    }

    /** Waits until stdout or stderr contains text; false on timeout or exit. */
    boolean waitForOutput(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (stdoutSoFar().contains(text) || stderrSoFar().contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                return stdoutSoFar().contains(text) || stderrSoFar().contains(text);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    Result await(Duration timeout) {
        int status;
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                status = process.exitValue();
            } else {
                process.destroyForcibly().waitFor();
                status = -1;
            }
            outPump.join(2000);
            errPump.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            status = -1;
        }
        long millis = (System.nanoTime() - startNanos) / 1_000_000;
        return new Result(status, stdoutSoFar(), stderrSoFar(), millis);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(3, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(3, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
