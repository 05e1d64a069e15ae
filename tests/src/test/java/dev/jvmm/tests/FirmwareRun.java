package dev.jvmm.tests;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * One firmware boot (no -kernel: the BIOS boots a medium) under QEMU or jvmm, started with -S and a QMP
 * socket: the test negotiates QMP, sends cont, and collects the serial output (-serial stdio) and the events
 * until the process ends. Every wait is bounded; a process still running at its deadline is killed.
 */
final class FirmwareRun {
    /** CSI sequences (GRUB's serial terminal clears the screen and moves the cursor) and other ESC pairs. */
    private static final Pattern ANSI = Pattern.compile("\u001b\\[[0-9;?]*[ -/]*[@-~]|\u001b[@-Z\\\\-_]");

    /**
     * What a run left. Times are from the process's start, -1 where never reached: {@code firstLineMillis} when
     * the bootloader's first line appeared, {@code lastLineMillis} when the guest said it powers off,
     * {@code endMillis} when the process ended (or was killed).
     */
    record Result(String program, List<String> command, int status, boolean killed, String serial,
            List<String> events, String stderr, long firstLineMillis, long lastLineMillis, long endMillis) {
        /** The serial output with ANSI escape sequences and carriage returns removed. */
        String transcript() {
            return normalise(serial);
        }

        List<String> eventNames() {
            return events.stream().map(e -> e.split(" ", 2)[0]).toList();
        }

        /** For failure messages: what ran and what it left. */
        String describe() {
            return program + (killed ? " (killed at its deadline)" : " exited " + status) + "\ncommand: "
                    + String.join(" ", command) + "\nevents: " + events + "\nserial (normalised):\n" + transcript()
                    + "\nstderr:\n" + tail(stderr, 4000);
        }
    }

    private FirmwareRun() {
    }

    static String normalise(String serial) {
        return ANSI.matcher(serial).replaceAll("").replace("\r", "");
    }

    private static String tail(String s, int n) {
        return s.length() <= n ? s : "..." + s.substring(s.length() - n);
    }

    /** A started VMM; {@link #await} collects the result. */
    static final class Vm {
        final String program;
        final List<String> command;
        final Process process;
        final long start = System.nanoTime();
        private final Path stderr;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final List<String> events = new CopyOnWriteArrayList<>();
        private final Thread outPump;
        private volatile long firstLine = -1;
        private volatile long lastLine = -1;
        private volatile long endedAt = -1;
        private volatile Thread qmpThread;
        private volatile SocketChannel qmp;
        private volatile String qmpError;

        private Vm(String program, List<String> args, Path dir, String name) throws IOException {
            this.program = program;
            Path sock = dir.resolve(name + ".qmp");
            Files.deleteIfExists(sock);
            List<String> cmd = new ArrayList<>();
            cmd.add(program);
            cmd.addAll(args);
            cmd.addAll(List.of("-S", "-qmp", "unix:" + sock + ",server=on,wait=off"));
            this.command = List.copyOf(cmd);
            stderr = dir.resolve(name + ".stderr");
            // stdin stays the default pipe: a child never inherits the test JVM's stdin.
            process = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
            process.onExit().thenRun(() -> endedAt = now());
            outPump = new Thread(() -> pump(process.getInputStream()), name + "-serial");
            outPump.setDaemon(true);
            outPump.start();
            qmpThread = new Thread(() -> qmp(sock), name + "-qmp");
            qmpThread.setDaemon(true);
            qmpThread.start();
        }

        private long now() {
            return (System.nanoTime() - start) / 1_000_000;
        }

        private void pump(InputStream in) {
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    String sofar;
                    synchronized (out) {
                        out.write(buf, 0, n);
                        sofar = out.toString(StandardCharsets.UTF_8);
                    }
                    if (firstLine < 0 && sofar.contains(BootImages.FIRST_LINE)) {
                        firstLine = now();
                    }
                    if (lastLine < 0 && sofar.contains(BootImages.LAST_LINE)) {
                        lastLine = now();
                    }
                }
            } catch (IOException ignored) {
                // The process ended; what was read is kept.
            }
        }

        /** Connects (the socket appears within 30 s or the process dies), negotiates, sends cont, reads events. */
        private void qmp(Path sock) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            try {
                while (!Files.exists(sock)) {
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        qmpError = "QMP socket " + sock + " never appeared";
                        return;
                    }
                    Thread.sleep(10);
                }
                SocketChannel ch = connect(sock, deadline);
                if (ch == null) {
                    qmpError = "QMP socket " + sock + " refused every connection";
                    return;
                }
                qmp = ch;
                BufferedReader r = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                        StandardCharsets.UTF_8));
                OutputStream w = Channels.newOutputStream(ch);
                r.readLine(); // greeting
                send(w, "{\"execute\":\"qmp_capabilities\"}");
                boolean resumed = false;
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    Object msg = parse(l);
                    if (!(msg instanceof Map<?, ?> m)) {
                        continue;
                    }
                    if (m.containsKey("event")) {
                        Object data = m.get("data");
                        events.add(m.get("event") + (data == null ? "" : " " + data));
                    } else if (m.containsKey("error")) {
                        qmpError = "QMP error: " + l;
                    } else if (m.containsKey("return") && !resumed) {
                        resumed = true;
                        send(w, "{\"execute\":\"cont\"}");
                    }
                }
            } catch (IOException e) {
                // The VMM exited and closed the monitor; what was read is kept.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * Connects, retrying while the server refuses: a socket file can exist a moment before its server
         * listens (QEMU binds, then listens). Null when the deadline passes first.
         */
        private SocketChannel connect(Path sock, long deadline) throws IOException, InterruptedException {
            while (true) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    ch.connect(UnixDomainSocketAddress.of(sock));
                    return ch;
                } catch (java.net.ConnectException e) {
                    ch.close();
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        return null;
                    }
                    Thread.sleep(10);
                }
            }
        }

        private static void send(OutputStream w, String line) throws IOException {
            w.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            w.flush();
        }

        /** The serial output so far, normalised as {@link Result#transcript()}. */
        String transcriptSoFar() {
            synchronized (out) {
                return normalise(out.toString(StandardCharsets.UTF_8));
            }
        }

        /** Waits until the process ends or the deadline (a System.nanoTime value, which may move) passes. */
        Result await(LongSupplier deadlineNanos) {
            boolean killed = false;
            try {
                while (process.isAlive()) {
                    long left = deadlineNanos.getAsLong() - System.nanoTime();
                    if (left <= 0) {
                        killed = true;
                        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                        break;
                    }
                    process.waitFor(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
                }
                outPump.join(5000);
                long end = endedAt >= 0 ? endedAt : now();
                Thread q = qmpThread;
                q.join(5000);
                SocketChannel ch = qmp;
                if (q.isAlive() && ch != null) {
                    ch.close(); // the VMM is gone but something kept the socket: stop reading
                    q.join(2000);
                }
                String err = Files.exists(stderr) ? Files.readString(stderr, StandardCharsets.UTF_8) : "";
                if (qmpError != null) {
                    err = err + "\n[test] " + qmpError;
                }
                String serial;
                synchronized (out) {
                    serial = out.toString(StandardCharsets.UTF_8);
                }
                return new Result(Path.of(program).getFileName().toString(), command,
                        killed ? -1 : process.exitValue(), killed, serial, List.copyOf(events), err, firstLine,
                        lastLine, end);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    static Vm start(String program, List<String> args, Path dir, String name) {
        try {
            return new Vm(program, args, dir, name);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Starts, waits at most timeout, collects. */
    static Result run(String program, List<String> args, Path dir, String name, Duration timeout) {
        Vm vm = start(program, args, dir, name);
        long deadline = System.nanoTime() + timeout.toNanos();
        return vm.await(() -> deadline);
    }

    /** A QMP line as maps (keys sorted, so data compares whatever order a VMM writes), lists and scalars. */
    static Object parse(String line) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(line)) {
            return value(p, p.nextToken());
        }
    }

    private static Object value(JsonParser p, JsonToken t) throws IOException {
        if (t == null) {
            return null;
        }
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new TreeMap<>();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    m.put(name, value(p, p.nextToken()));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    l.add(value(p, e));
                }
                return l;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return p.getLongValue();
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            default:
                return null;
        }
    }
}
