package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The tiny guest under QEMU or jvmm with a QMP socket, for block end-to-end tests: serial lines, events and
 * replies are collected while the test drives the conversation. Events and replies are kept normalised
 * ({@link #normalise}) so the two VMMs' transcripts compare with equals.
 */
final class GuestVm implements AutoCloseable {
    static final String QEMU = "qemu-system-x86_64";
    private static final Pattern AUTO_NODE = Pattern.compile("#block\\d+");

    /** What a finished run left. */
    record Result(int status, List<String> serial, List<Map<String, Object>> events, List<Object> replies,
            String stderr) {
        /** Event names in order. */
        List<String> eventNames() {
            return events.stream().map(e -> (String) e.get("event")).toList();
        }
    }

    private final Process process;
    /** The program's file name (jvmm or qemu-system-x86_64), for failure messages. */
    private final String program;
    private final Path stderr;
    private final List<String> serial = new CopyOnWriteArrayList<>();
    private final Thread reader;
    private final List<Map<String, Object>> events = new ArrayList<>();
    private final List<Object> replies = new ArrayList<>();
    private QmpClient qmp;

    private GuestVm(Process process, String program, Path stderr) {
        this.process = process;
        this.program = Path.of(program).getFileName().toString();
        this.stderr = stderr;
        reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    serial.add(l);
                }
            } catch (IOException ignored) {
                // The process ended; what was read is kept.
            }
        }, "serial");
        reader.setDaemon(true);
        reader.start();
    }

    /** A process's stdout lines as they come, and the daemon thread reading them (join it to have them all). */
    record StdoutLines(LinkedBlockingQueue<String> lines, Thread reader) {
    }

    /** The process's stdout (the guest's -serial stdio) line by line, read by a daemon thread until it ends. */
    static StdoutLines stdoutLines(Process p) {
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // The process ended.
            }
        });
        reader.setDaemon(true);
        reader.start();
        return new StdoutLines(lines, reader);
    }

    /** Skips the test unless KVM, QEMU, qemu-img and the guest are all there; returns the guest kernel. */
    static Path assumeReady() {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(),
                "qemu-system-x86_64 or /dev/kvm missing: block side-by-side tests skipped");
        Assumptions.assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible: block side-by-side tests skipped");
        Assumptions.assumeTrue(onPath("qemu-img"), "qemu-img is not installed: block side-by-side tests skipped");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest kernel " + kernel + " was not built");
        return kernel;
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** The jvmm launcher; skips the jvmm half under -Djvmm.qemuOnly=true. */
    static String jvmm() {
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        return System.getProperty("jvmm.launcher", "../bin/jvmm");
    }

    /** The common command line: the tiny guest with append, isa-debug-exit, serial on stdout, -no-reboot. */
    static List<String> command(String program, Path kernel, String append, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-m", "128", "-serial", "stdio", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(), "-append", append));
        cmd.addAll(extra);
        return cmd;
    }

    /** Starts the command with "-S -qmp unix:SOCK" added and negotiates QMP; the guest waits for {@link #cont}. */
    static GuestVm start(List<String> command, Path sock, Map<String, String> env) throws Exception {
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("-S", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        Path err = Files.createTempFile(sock.getParent(), "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().putAll(env);
        GuestVm vm = new GuestVm(pb.start(), cmd.get(0), err);
        long end = System.currentTimeMillis() + 20_000;
        while (!Files.exists(sock) && vm.process.isAlive() && System.currentTimeMillis() < end) {
            Thread.sleep(10);
        }
        if (!Files.exists(sock)) {
            vm.process.waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(cmd.get(0) + " did not open its QMP socket; stderr: " + vm.stderr());
        }
        vm.qmp = QmpClient.negotiated(sock);
        return vm;
    }

    static GuestVm start(List<String> command, Path sock) throws Exception {
        return start(command, sock, Map.of());
    }

    /**
     * Starts the command stopped, sends the queries, lets the guest run to its end (timeoutMs at most) and
     * returns what the run left; fails with stderr when the VMM printed nothing.
     */
    static Result run(List<String> command, Path sock, Map<String, String> env, List<String> queries,
            long timeoutMs) throws Exception {
        try (GuestVm vm = start(command, sock, env)) {
            for (String q : queries) {
                vm.command(q);
            }
            vm.cont();
            Result r = vm.finish(timeoutMs);
            if (r.serial().isEmpty()) {
                throw new AssertionError(command.get(0) + " printed nothing; stderr: " + r.stderr());
            }
            return r;
        }
    }

    String stderr() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    List<String> serial() {
        return List.copyOf(serial);
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /**
     * The next connection this VMM makes to server (a socket chardev in client mode). Fails after ms, or as
     * soon as the VMM has exited, naming it and the end of its stderr.
     */
    SocketChannel acceptFrom(ServerSocketChannel server, long ms) throws IOException {
        server.configureBlocking(false);
        long end = System.currentTimeMillis() + ms;
        while (true) {
            SocketChannel c = server.accept();
            if (c != null) {
                c.configureBlocking(true);
                return c;
            }
            if (!process.isAlive()) {
                throw new AssertionError(describe() + " exited with status " + process.exitValue()
                        + " before connecting to " + server.getLocalAddress() + "; stderr: " + stderrTail());
            }
            if (System.currentTimeMillis() > end) {
                throw new AssertionError(describe() + " did not connect to " + server.getLocalAddress()
                        + " within " + ms + " ms; stderr: " + stderrTail());
            }
            sleep(20);
        }
    }

    /** The program and pid, for failure messages. */
    private String describe() {
        return program + " (pid " + process.pid() + ")";
    }

    /** The last 2000 characters of stderr. */
    String stderrTail() {
        String e = stderr();
        return e.substring(Math.max(0, e.length() - 2000));
    }

    /** Sends a command; returns its normalised reply (recorded) after collecting any events before it. */
    /** Sends a command and returns its reply; fails as {@link #require} does when none comes. */
    Object reply(String json) throws IOException {
        Object r = command(json);
        require(r != null, "no reply to " + json);
        return r;
    }

    /** Fails naming the VMM, what went wrong, its serial output and the end of its stderr. */
    void require(boolean ok, String what) {
        if (!ok) {
            String err = stderr();
            throw new AssertionError(program + ": " + what + (alive() ? "" : " (process exited)")
                    + "; serial: " + serial() + "; stderr tail: " + err.substring(Math.max(0, err.length() - 2000)));
        }
    }

    Object command(String json) throws IOException {
        qmp.send(json);
        long end = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < end) {
            String l = qmp.readLine(200);
            if (l == null) {
                if (qmp.eof) {
                    break;
                }
                continue;
            }
            Object m = normalise(QmpClient.parse(l));
            if (isEvent(m)) {
                events.add(asMap(m));
            } else {
                replies.add(m);
                return m;
            }
        }
        replies.add("(no reply to " + json + ")");
        return null;
    }

    void cont() throws IOException {
        command("{\"execute\":\"cont\"}");
    }

    private static boolean isEvent(Object m) {
        return m instanceof Map<?, ?> map && map.containsKey("event");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    /** Reads QMP for up to ms, collecting events. */
    private void pump(long ms) throws IOException {
        if (qmp.eof) {
            sleep(ms);
            return;
        }
        String l = qmp.readLine(ms);
        if (l != null) {
            Object m = normalise(QmpClient.parse(l));
            if (isEvent(m)) {
                events.add(asMap(m));
            } else {
                replies.add(m);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for a serial line containing text; false on timeout or exit. */
    boolean awaitSerial(String text, long ms) throws IOException {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            for (String l : serial) {
                if (l.contains(text)) {
                    return true;
                }
            }
            if (!process.isAlive()) {
                reader.interrupt();
                sleep(50);
                return serial.stream().anyMatch(l -> l.contains(text));
            }
            pump(20);
        }
        return false;
    }

    /** Waits for the n-th (1-based) event of this name; false on timeout or exit. */
    boolean awaitEvent(String name, int n, long ms) throws IOException {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            if (events.stream().filter(e -> name.equals(e.get("event"))).count() >= n) {
                return true;
            }
            if (!process.isAlive() && qmp.eof) {
                return false;
            }
            pump(20);
        }
        return false;
    }

    /** Waits for the process to exit (killing it after ms), draining QMP; returns everything collected. */
    Result finish(long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        while (process.isAlive() && System.currentTimeMillis() < end) {
            pump(20);
        }
        if (process.isAlive()) {
            process.destroyForcibly();
        }
        process.waitFor(10, TimeUnit.SECONDS);
        while (!qmp.eof) {
            String l = qmp.readLine(500);
            if (l == null) {
                break;
            }
            Object m = normalise(QmpClient.parse(l));
            if (isEvent(m)) {
                events.add(asMap(m));
            } else {
                replies.add(m);
            }
        }
        reader.join(5000);
        qmp.close();
        return new Result(process.exitValue(), List.copyOf(serial), List.copyOf(events), List.copyOf(replies),
                stderr());
    }

    /** SIGKILL, as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        if (qmp != null) {
            qmp.close();
        }
    }

    /**
     * A copy of a parsed QMP message without what differs from run to run: event timestamps, auto node-names
     * ("#block123" becomes "#block"), image "actual-size" (allocation on the host file system) and
     * "*_time_ns" / "idle_time_ns" statistics.
     */
    static Object normalise(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = (String) e.getKey();
                if (k.equals("timestamp") || k.equals("actual-size") || k.endsWith("_time_ns")) {
                    continue;
                }
                out.put(k, normalise(e.getValue()));
            }
            return out;
        }
        if (o instanceof List<?> l) {
            return l.stream().map(GuestVm::normalise).toList();
        }
        if (o instanceof String s) {
            return AUTO_NODE.matcher(s).replaceAll("#block");
        }
        return o;
    }

    /** What marks a filename jvmm is known to report differently ({@link #knownDifferences}). */
    private static final String JSON_FILENAME = "(QEMU: json:{...})";

    /**
     * A copy of got where QEMU (ref) has a "json:{...}" filename: jvmm does not build QEMU's json: filenames
     * (QEMU's when a node cannot be named by a plain filename: a blkdebug node configured with inject-error.N.*
     * keys, a snapshot=on overlay) and reports the image's path instead. BlockErrorPolicyTest's
     * blkdebugBlockdevFilename keeps that difference in view.
     */
    static Object knownDifferences(Object ref, Object got) {
        if (ref instanceof String s && s.startsWith("json:")) {
            return JSON_FILENAME;
        }
        if (ref instanceof Map<?, ?> rm && got instanceof Map<?, ?> gm) {
            Map<String, Object> out = new LinkedHashMap<>();
            gm.forEach((k, v) -> out.put((String) k, knownDifferences(rm.get(k), v)));
            return out;
        }
        if (ref instanceof List<?> rl && got instanceof List<?> gl && rl.size() == gl.size()) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < gl.size(); i++) {
                out.add(knownDifferences(rl.get(i), gl.get(i)));
            }
            return out;
        }
        return got;
    }

    /** Where two parsed messages first differ ("path: a vs b"), or null when equal. */
    static String firstDifference(Object a, Object b, String path) {
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            for (Object k : ma.keySet()) {
                if (!mb.containsKey(k)) {
                    return path + "." + k + ": only QEMU has it (" + ma.get(k) + ")";
                }
                String d = firstDifference(ma.get(k), mb.get(k), path + "." + k);
                if (d != null) {
                    return d;
                }
            }
            for (Object k : mb.keySet()) {
                if (!ma.containsKey(k)) {
                    return path + "." + k + ": only jvmm has it (" + mb.get(k) + ")";
                }
            }
            return null;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
                String d = firstDifference(la.get(i), lb.get(i), path + "[" + i + "]");
                if (d != null) {
                    return d;
                }
            }
            return la.size() == lb.size() ? null : path + ": " + la.size() + " vs " + lb.size() + " elements";
        }
        return java.util.Objects.equals(a, b) ? null : path + ": QEMU " + a + " vs jvmm " + b;
    }
}
