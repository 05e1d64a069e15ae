package dev.jvmm.qmp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A VMM started the way libvirt's capability probe starts one: -S -no-user-config -nodefaults -nographic
 * -machine none,accel=kvm:tcg, a QMP socket, -pidfile and -daemonize. The launcher's exit status and stderr
 * are kept; the daemon is no child of the test, so {@link #close} ends it by the pid its pid file gave.
 */
final class ProbeDaemon implements AutoCloseable {
    static final long LAUNCH_SECONDS = 60;

    final int rc;
    final String stderr;
    final Path sock;
    final Path pidFile;
    /** The daemon's pid as its pid file held it once the launcher returned; empty when none was written. */
    final Optional<Long> pid;

    private ProbeDaemon(int rc, String stderr, Path sock, Path pidFile, Optional<Long> pid) {
        this.rc = rc;
        this.stderr = stderr;
        this.sock = sock;
        this.pidFile = pidFile;
        this.pid = pid;
    }

    /** libvirt 9.0's probe arguments, with the socket and pid file in dir under the given name. */
    static List<String> probeArgs(Path dir, String name) {
        return List.of("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
                "-qmp", "unix:" + dir.resolve(name + ".sock") + ",server=on,wait=off",
                "-pidfile", dir.resolve(name + ".pid").toString(), "-daemonize");
    }

    static String jvmm() {
        return System.getProperty("jvmm.launcher", "../bin/jvmm");
    }

    /** Runs program with args and waits (bounded) for the launcher to return. */
    static ProbeDaemon launch(String program, List<String> args, Path dir, String name)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(program));
        cmd.addAll(args);
        Path err = dir.resolve(name + ".launcher-stderr");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(LAUNCH_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(program + " -daemonize did not return within " + LAUNCH_SECONDS + " s");
        }
        Path pidFile = dir.resolve(name + ".pid");
        Optional<Long> pid = Optional.empty();
        if (p.exitValue() == 0 && Files.exists(pidFile)) {
            pid = Optional.of(Long.parseLong(Files.readString(pidFile).strip()));
        }
        return new ProbeDaemon(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8),
                dir.resolve(name + ".sock"), pidFile, pid);
    }

    static ProbeDaemon probe(String program, Path dir, String name) throws IOException, InterruptedException {
        ProbeDaemon d = launch(program, probeArgs(dir, name), dir, name);
        if (d.rc != 0) {
            throw new AssertionError(program + " probe launch failed with " + d.rc + ": " + d.stderr);
        }
        return d;
    }

    QmpClient connect() throws IOException {
        return QmpClient.negotiated(sock);
    }

    /** Waits (bounded) until the daemon is gone; true when it is. */
    boolean awaitGone(long seconds) throws InterruptedException {
        if (pid.isEmpty()) {
            return true;
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (ProcessHandle.of(pid.get()).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** quit over QMP, then SIGKILL if the daemon is still there after 10 s. */
    @Override
    public void close() throws Exception {
        if (pid.isEmpty() || awaitGone(0)) {
            return;
        }
        try (QmpClient c = connect()) {
            c.send("{\"execute\":\"quit\"}");
            c.readLine(2000);
        } catch (IOException | RuntimeException e) {
            // killed below
        }
        if (!awaitGone(10)) {
            ProcessHandle.of(pid.get()).ifPresent(ProcessHandle::destroyForcibly);
            awaitGone(5);
        }
    }
}
