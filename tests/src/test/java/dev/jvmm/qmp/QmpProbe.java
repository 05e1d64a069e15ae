package dev.jvmm.qmp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A VMM (jvmm or QEMU) started stopped with a QMP socket, for tests outside this package that only ask
 * questions: {@link #execute} sends one command and returns its reply ({"return": ...} or {"error": ...}).
 * Every wait is bounded; {@link #close} quits and, failing that, kills the process.
 */
public final class QmpProbe implements AutoCloseable {
    private static final long START_MS = 30_000;

    private final Process process;
    private final Path stderr;
    private final QmpClient client;
    private final String program;

    private QmpProbe(Process process, Path stderr, QmpClient client, String program) {
        this.process = process;
        this.stderr = stderr;
        this.client = client;
        this.program = program;
    }

    /**
     * Starts command with "-qmp unix:DIR/NAME.sock,server=on,wait=off" appended and negotiates QMP; fails with
     * the program's stderr if the socket does not appear within 30 s or the program exits first.
     */
    public static QmpProbe start(List<String> command, Path dir, String name) throws IOException {
        Path sock = dir.resolve(name + ".sock");
        Files.deleteIfExists(sock);
        Path err = dir.resolve(name + ".stderr");
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("-qmp", "unix:" + sock + ",server=on,wait=off"));
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String program = Path.of(cmd.get(0)).getFileName().toString();
        long end = System.currentTimeMillis() + START_MS;
        try {
            while (!Files.exists(sock) && p.isAlive() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            if (!Files.exists(sock)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError(program + " did not open its QMP socket (" + String.join(" ", cmd)
                        + "); stderr: " + Files.readString(err, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(e);
        }
        try {
            return new QmpProbe(p, err, QmpClient.negotiated(sock), program);
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** The program's file name (jvmm, qemu-system-x86_64). */
    public String program() {
        return program;
    }

    /** Sends {"execute": command, "arguments": args} (no arguments when args is empty); returns the reply. */
    public Map<String, Object> execute(String command, Map<String, ?> args) {
        Map<String, Object> msg = new LinkedHashMap<>();
        msg.put("execute", command);
        if (!args.isEmpty()) {
            msg.put("arguments", new LinkedHashMap<>(args));
        }
        String line = Json.toString(msg);
        try {
            Map<String, Object> reply = client.command(line);
            if (reply == null || !(reply.containsKey("return") || reply.containsKey("error"))) {
                throw new AssertionError(program + " gave no reply to " + line + "; stderr: " + stderr());
            }
            return reply;
        } catch (IOException e) {
            throw new AssertionError(program + ": " + line + ": " + e + "; stderr: " + stderr(), e);
        }
    }

    /** The "return" value of a command that must succeed. */
    public Object ok(String command, Map<String, ?> args) {
        Map<String, Object> r = execute(command, args);
        if (!r.containsKey("return")) {
            throw new AssertionError(program + ": " + command + " " + args + " failed: " + r.get("error"));
        }
        return r.get("return");
    }

    /** What the program wrote to stderr so far. */
    public String stderr() {
        try {
            return Files.readString(stderr, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Sends quit and waits up to 10 s for the exit, then kills. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                client.send("{\"execute\":\"quit\"}");
                client.readLine(2000);
            }
        } catch (IOException | RuntimeException ignored) {
            // The process is killed below if it did not go.
        }
        try {
            client.close();
        } catch (IOException ignored) {
            // Nothing more to read.
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
