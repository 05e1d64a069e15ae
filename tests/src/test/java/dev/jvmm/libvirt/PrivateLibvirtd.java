package dev.jvmm.libvirt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A libvirtd of the test's own, in a private mount namespace: its /etc/libvirt, /run/libvirt and
 * /var/{lib,log,cache}/libvirt are directories under {@code dir}, and /etc/passwd and /etc/group are copies
 * that add the libvirt-qemu user. QEMU driver settings: root, no security driver, no cgroups, no namespaces,
 * domain stdio to a file. The host's libvirt is never touched. {@link #close()} ends the daemon and every
 * domain process it started.
 */
public final class PrivateLibvirtd implements AutoCloseable {
    static final Path LIBVIRTD = Path.of("/usr/sbin/libvirtd");
    private static final long READY_SECONDS = 30;
    private static final long STOP_SECONDS = 15;

    private final Path dir;
    /** Directories put before PATH for the daemon: libvirt finds emulators such as qemu-system-x86_64 there. */
    private final List<Path> pathFirst;

    private PrivateLibvirtd(Path dir, List<Path> pathFirst) {
        this.dir = dir;
        this.pathFirst = List.copyOf(pathFirst);
    }

    /** Null when this machine can run a private libvirtd; else why not (for a test's skip message). */
    public static String unavailableReason() {
        if (!Files.isExecutable(LIBVIRTD)) {
            return LIBVIRTD + " is not installed (scripts/setup.sh installs libvirt-daemon-driver-qemu): "
                    + "libvirt tests skipped";
        }
        if (Virsh.program() == null) {
            return "virsh is not installed (scripts/setup.sh installs libvirt-clients): libvirt tests skipped";
        }
        if (onPath("unshare") == null) {
            return "unshare (util-linux) is not installed: libvirt tests skipped";
        }
        if (!isRoot()) {
            return "a private libvirtd needs root (mount namespace, bind mounts): libvirt tests skipped";
        }
        return null;
    }

    static Path onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String d : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** Writes the configuration under {@code dir} and starts the daemon; returns once its socket answers. */
    public static PrivateLibvirtd start(Path dir) throws IOException, InterruptedException {
        return start(dir, List.of());
    }

    /** As {@link #start(Path)}, with the given directories searched first for emulators and helpers. */
    public static PrivateLibvirtd start(Path dir, List<Path> pathFirst) throws IOException, InterruptedException {
        PrivateLibvirtd d = new PrivateLibvirtd(dir.toAbsolutePath(), pathFirst);
        d.configure();
        d.launch();
        return d;
    }

    /** The URI that virsh uses for this daemon. */
    public String uri() {
        return "qemu:///system?socket=" + socket();
    }

    public Path dir() {
        return dir;
    }

    /** The daemon's own log (debug level for the QEMU driver and QMP traffic). */
    public Path log() {
        return dir.resolve("libvirtd.log");
    }

    /** Where libvirt writes each domain's stdio log (the namespace's /var/log/libvirt/qemu). */
    public Path domainLog(String name) {
        return dir.resolve("log/qemu/" + name + ".log");
    }

    /** The pid libvirt recorded for a running domain, read from the namespace's /run/libvirt/qemu. */
    public Optional<Long> domainPid(String name) {
        Path f = dir.resolve("run/qemu/" + name + ".pid");
        try {
            return Optional.of(Long.parseLong(Files.readString(f).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private Path socket() {
        return dir.resolve("sock/libvirt-sock");
    }

    private void configure() throws IOException {
        for (String sub : List.of("etc/qemu", "run", "lib", "log", "cache", "sock")) {
            Files.createDirectories(dir.resolve(sub));
        }
        Files.writeString(dir.resolve("etc/libvirtd.conf"), String.join("\n",
                "unix_sock_dir = \"" + dir.resolve("sock") + "\"",
                "unix_sock_rw_perms = \"0700\"",
                "auth_unix_rw = \"none\"",
                "auth_unix_ro = \"none\"",
                "log_outputs = \"1:file:" + log() + "\"",
                "log_filters = \"1:qemu 1:libvirt 3:object 3:json 3:event 3:util 3:rpc\"", ""));
        Files.writeString(dir.resolve("etc/qemu.conf"), String.join("\n",
                "user = \"root\"",
                "group = \"root\"",
                "dynamic_ownership = 0",
                "remember_owner = 0",
                "security_driver = \"none\"",
                "cgroup_controllers = [ ]",
                "namespaces = [ ]",
                "stdio_handler = \"file\"", ""));
        Path hostConf = Path.of("/etc/libvirt/libvirt.conf");
        if (Files.isRegularFile(hostConf)) {
            Files.copy(hostConf, dir.resolve("etc/libvirt.conf"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        withUser(Path.of("/etc/passwd"), dir.resolve("passwd"),
                "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin");
        withUser(Path.of("/etc/group"), dir.resolve("group"), "libvirt-qemu:x:64055:");
    }

    private static void withUser(Path from, Path to, String entry) throws IOException {
        String text = Files.readString(from);
        if (!text.lines().anyMatch(l -> l.startsWith("libvirt-qemu:"))) {
            text = text + (text.endsWith("\n") ? "" : "\n") + entry + "\n";
        }
        Files.writeString(to, text);
    }

    /**
     * The namespace's setup script: bind mounts first (/run/libvirt and /var/*\/libvirt may not exist on a
     * host without libvirt, so they are created inside the private namespace), then exec libvirtd with its
     * own pid file, which would otherwise be the host's /run/libvirtd.pid.
     */
    private String script() {
        String d = dir.toString();
        return String.join(" && ",
                "mount --bind " + d + "/passwd /etc/passwd",
                "mount --bind " + d + "/group /etc/group",
                "mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt",
                "mount --bind " + d + "/etc /etc/libvirt",
                "mount --bind " + d + "/run /run/libvirt",
                "mount --bind " + d + "/lib /var/lib/libvirt",
                "mount --bind " + d + "/log /var/log/libvirt",
                "mount --bind " + d + "/cache /var/cache/libvirt",
                "exec " + LIBVIRTD + " --daemon --config " + d + "/etc/libvirtd.conf --pid-file " + d
                        + "/libvirtd.pid");
    }

    /**
     * Starts libvirtd with --daemon: the launcher returns once the daemon is up, and the daemon is no child of
     * this JVM, so it outlives single test methods (the module's ChildProcessGuard ends a test's leftover
     * children) and a restart in the middle of a test. Its pid comes from its pid file.
     */
    private void launch() throws IOException, InterruptedException {
        Files.deleteIfExists(socket());
        Files.deleteIfExists(pidFile());
        ProcessBuilder pb = new ProcessBuilder(onPath("unshare").toString(), "-m", "--propagation", "private",
                "bash", "-c", script());
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("libvirtd.out").toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        if (!pathFirst.isEmpty()) {
            List<String> path = new ArrayList<>(pathFirst.stream().map(Path::toString).toList());
            path.add(pb.environment().getOrDefault("PATH", "/usr/bin:/bin"));
            pb.environment().put("PATH", String.join(":", path));
        }
        Process launcher = pb.start();
        if (!launcher.waitFor(READY_SECONDS, TimeUnit.SECONDS)) {
            launcher.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            stopDaemon();
            throw new IllegalStateException("libvirtd --daemon did not return within " + READY_SECONDS + " s: "
                    + output());
        }
        if (launcher.exitValue() != 0) {
            stopDaemon();
            throw new IllegalStateException("libvirtd exited with " + launcher.exitValue() + ": " + output());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_SECONDS);
        while (System.nanoTime() < deadline) {
            Optional<ProcessHandle> d = daemon();
            if (d.isPresent() && !d.get().isAlive()) {
                break;
            }
            if (d.isPresent() && Files.exists(socket())) {
                Virsh.Result r = new Virsh(uri()).run(10, "uri");
                if (r.rc() == 0) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        stopDaemon();
        throw new IllegalStateException("libvirtd did not answer on " + socket() + " within " + READY_SECONDS
                + " s: " + output());
    }

    private Path pidFile() {
        return dir.resolve("libvirtd.pid");
    }

    /** The running daemon, from its pid file. */
    private Optional<ProcessHandle> daemon() {
        try {
            return ProcessHandle.of(Long.parseLong(Files.readString(pidFile()).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private String output() {
        try {
            String out = Files.readString(dir.resolve("libvirtd.out"), StandardCharsets.UTF_8);
            return out.substring(Math.max(0, out.length() - 2000));
        } catch (IOException e) {
            return "(no output)";
        }
    }

    /** Ends libvirtd alone, then starts it again; running domains stay for it to reconnect to. */
    public void restart() throws IOException, InterruptedException {
        stopDaemon();
        launch();
    }

    private void stopDaemon() throws InterruptedException {
        Optional<ProcessHandle> d = daemon();
        if (d.isEmpty()) {
            return;
        }
        ProcessHandle h = d.get();
        List<Long> domains = domainPids();
        List<ProcessHandle> helpers = h.descendants().filter(c -> !domains.contains(c.pid())).toList();
        h.destroy();
        if (!awaitExit(h, STOP_SECONDS)) {
            h.destroyForcibly();
            awaitExit(h, 5);
        }
        for (ProcessHandle c : helpers) {
            c.destroyForcibly();
        }
    }

    private static boolean awaitExit(ProcessHandle h, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (h.isAlive()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** The pids of the domain processes libvirt recorded (they are reparented away from libvirtd). */
    private List<Long> domainPids() {
        List<Long> pids = new ArrayList<>();
        Path run = dir.resolve("run/qemu");
        if (!Files.isDirectory(run)) {
            return pids;
        }
        try (Stream<Path> s = Files.list(run)) {
            for (Path f : s.filter(p -> p.getFileName().toString().endsWith(".pid")).toList()) {
                try {
                    pids.add(Long.parseLong(Files.readString(f).strip()));
                } catch (IOException | NumberFormatException ignored) {
                    // A pid file being rewritten or removed names no process worth ending.
                }
            }
        } catch (IOException ignored) {
            // No directory listing: no recorded domains.
        }
        return pids;
    }

    /** Ends libvirtd and then every domain process it recorded (SIGTERM, then SIGKILL). */
    @Override
    public void close() throws InterruptedException {
        List<Long> pids = domainPids();
        stopDaemon();
        List<ProcessHandle> live = new ArrayList<>();
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> {
                h.destroy();
                live.add(h);
            });
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_SECONDS);
        for (ProcessHandle h : live) {
            while (h.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
    }
}
