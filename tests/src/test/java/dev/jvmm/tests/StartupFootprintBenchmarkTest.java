package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Start-up and footprint (issue 18), jvmm beside QEMU 7.2 with the same command line, printed and not
 * asserted: launch to the QMP greeting and to the first command reply, the idle footprint of a paused
 * {@code -m 256} VM and of a running one after disk I/O (RSS and PSS with and without the guest RAM mapping,
 * threads), and ten paused VMs started at once. Every figure is taken on a quiet host and with one core busy
 * (a spinning thread in this JVM), as a host running many VMs is never quiet. Any bin/jvmm works: the
 * launcher is {@code -Djvmm.launcher}, and a launcher that forks instead of exec-ing is measured as the
 * whole process tree.
 */
@Tag("benchmark")
class StartupFootprintBenchmarkTest {
    private static final int ROUNDS = Integer.getInteger("jvmm.bench.rounds", 5);
    /** Ten VMs at once take jvmm seconds per round, so fewer rounds keep the test within three minutes. */
    private static final int TEN_ROUNDS = Integer.getInteger("jvmm.bench.tenRounds", 3);
    /**
     * The disk footprint varies little from run to run, and QEMU takes 5-20 s to reach the guest's idle line
     * here (SeaBIOS and its option ROM run emulated under PVM), so one round by default.
     */
    private static final int DISK_ROUNDS = Integer.getInteger("jvmm.bench.diskRounds", 1);
    private static final int VMS = 10;
    private static final int GUEST_MIB = 256;
    /** After the reply, so that lazily started threads and the first GC have happened in both VMMs. */
    private static final long SETTLE_MS = 1000;
    private static final long START_LIMIT_NS = TimeUnit.SECONDS.toNanos(60);
    private static final long KILL_WAIT_S = 5;
    private static final String DISK_ACTION = "action=blk-err sectors=128 ops=wfrwfrwfrwfri";
    private static final String DISK_IDLE = "blk-err: idle";
    private static final Pattern MAPPING = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) (\\S+) \\S+ \\S+ (\\d+)\\s*(.*)$");

    @TempDir
    Path dir;

    private int serial;

    /**
     * Memory in KiB of a process tree: all of it, the anonymous part of its PSS (which no other process's
     * presence lowers), and the part in guest RAM mappings; and its threads.
     */
    record Footprint(long rss, long pss, long pssAnon, long guestRss, long guestPss, int threads) {
        static final Footprint ZERO = new Footprint(0, 0, 0, 0, 0, 0);

        Footprint plus(Footprint o) {
            return new Footprint(rss + o.rss, pss + o.pss, pssAnon + o.pssAnon, guestRss + o.guestRss,
                    guestPss + o.guestPss, threads + o.threads);
        }

        long ownAnonPss() {
            return pssAnon - guestPss;
        }

        long ownRss() {
            return rss - guestRss;
        }

        long ownPss() {
            return pss - guestPss;
        }
    }

    /** One measured start: milliseconds from launch to greeting and to the query-status reply, and after. */
    record Sample(double greetMs, double replyMs, Footprint fp) {
    }

    /** One measured start of the VMM program; printThreads on the first jvmm start of the quiet pass. */
    private interface Start {
        Sample run(String program, boolean printThreads) throws Exception;
    }

    private interface Report {
        void print(String load, List<Sample> jvmm, List<Sample> qemu);
    }

    /**
     * The rounds on a quiet host, then with one core busy; jvmm and QEMU interleaved, alternating which goes
     * first, so that load falls on both alike.
     */
    private static void quietThenLoaded(Path qemu, int rounds, Start start, Report report) throws Exception {
        for (boolean loaded : new boolean[] {false, true}) {
            List<Sample> j = new ArrayList<>();
            List<Sample> q = new ArrayList<>();
            String load;
            try (Spinner s = new Spinner(loaded)) {
                load = loadName(loaded);
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < 2; k++) {
                        boolean jvmm = (k == 0) == (r % 2 == 0);
                        String program = jvmm ? Env.launcher().toString() : qemu.toString();
                        (jvmm ? j : q).add(start.run(program, jvmm && r == 0 && !loaded));
                    }
                }
            }
            report.print(load, j, q);
        }
    }

    // ---------------------------------------------------------------- the three scenarios

    @Test
    void oneIdlePausedVm() throws Exception {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        quietThenLoaded(qemu, ROUNDS, (program, threads) -> one(program, kernel, true, "action=idle", null, threads,
                "idle paused"), (load, j, q) -> {
                    System.out.printf("BENCH startup [%s] launch to QMP greeting (-S, -m %d, idle tiny guest), median"
                            + " of %d: %s (target <= 3x on a loaded host)%n", load, GUEST_MIB, ROUNDS,
                            both(j, q, Sample::greetMs, "ms"));
                    System.out.printf("BENCH startup [%s] launch to query-status reply (after qmp_capabilities): %s%n",
                            load, both(j, q, Sample::replyMs, "ms"));
                    printFootprint(load, "idle paused VM, no disks", j, q, 8);
                });
    }

    @Test
    void oneRunningVmAfterDiskIo() throws Exception {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        Path img = dir.resolve("disk.raw");
        BlkGuest.create(img, "raw", 16L << 20);
        String[] disk = {"-serial", "stdio", "-drive", "file=" + img + ",format=raw,if=none,id=d0",
            "-device", "virtio-blk-pci,drive=d0"};
        quietThenLoaded(qemu, DISK_ROUNDS, (program, threads) -> one(program, kernel, false, DISK_ACTION, disk,
                threads, "running after disk I/O"), (load, j, q) -> printFootprint(load,
                        "running VM after virtio-blk I/O (median of " + DISK_ROUNDS + ")", j, q, -1));
    }

    @Test
    void tenPausedVmsAtOnce() throws Exception {
        Path qemu = Env.assumeQemu();
        Path kernel = Env.guest("tiny.pvh");
        quietThenLoaded(qemu, TEN_ROUNDS, (program, threads) -> ten(program, kernel), (load, j, q) -> {
            System.out.printf("BENCH ten-vms [%s] %d paused VMs started at once, median of %d: all greeted %s; all"
                    + " answered query-status %s%n", load, VMS, TEN_ROUNDS, both(j, q, Sample::greetMs, "ms"),
                    both(j, q, Sample::replyMs, "ms"));
            System.out.printf("BENCH ten-vms [%s] total PSS %s; without guest RAM %s (target <= 1.5x), anonymous part"
                    + " %s; threads %s%n", load, both(j, q, x -> x.fp().pss(), "MiB"),
                    both(j, q, x -> x.fp().ownPss(), "MiB"), both(j, q, x -> x.fp().ownAnonPss(), "MiB"),
                    both(j, q, x -> x.fp().threads(), ""));
        });
    }

    // ---------------------------------------------------------------- one start, ten starts

    private List<String> command(String program, Path kernel, Path sock, boolean paused, String append,
            String[] extra) {
        List<String> c = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none"));
        if (paused) {
            c.add("-S");
        }
        c.addAll(List.of("-m", Integer.toString(GUEST_MIB), "-kernel", kernel.toString(), "-append", append,
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        if (extra != null) {
            c.addAll(List.of(extra));
        }
        return c;
    }

    /**
     * Starts one VM, times the greeting and the query-status reply, waits for the guest's serial line
     * {@link #DISK_IDLE} when it has a disk, lets it settle and measures it.
     */
    private Sample one(String program, Path kernel, boolean paused, String append, String[] extra,
            boolean printThreads, String what) throws Exception {
        int n = serial++;
        Path sock = dir.resolve("s" + n + ".sock");
        Path out = dir.resolve("out" + n + ".txt");
        List<String> cmd = command(program, kernel, sock, paused, append, extra);
        long t0 = System.nanoTime();
        try (Vm vm = new Vm(cmd, sock, out)) {
            long deadline = t0 + START_LIMIT_NS;
            vm.greet(deadline);
            double greet = (System.nanoTime() - t0) / 1e6;
            vm.capabilitiesAndStatus(deadline);
            double reply = (System.nanoTime() - t0) / 1e6;
            if (extra != null) {
                vm.awaitOutput(DISK_IDLE, deadline);
            }
            Thread.sleep(SETTLE_MS);
            Footprint fp = footprint(vm.process.toHandle());
            if (printThreads) {
                System.out.printf("BENCH threads of jvmm, %s (%d): %s%n", what, fp.threads(),
                        threadNames(vm.process.toHandle()));
            }
            return new Sample(greet, reply, fp);
        }
    }

    /** Ten paused VMs launched together: times until all ten greeted and all ten replied, and their sum. */
    private Sample ten(String program, Path kernel) throws Exception {
        List<Vm> vms = new ArrayList<>();
        int base = serial;
        serial += VMS;
        List<List<String>> cmds = new ArrayList<>();
        for (int n = base; n < base + VMS; n++) {
            cmds.add(command(program, kernel, dir.resolve("s" + n + ".sock"), true, "action=idle", null));
        }
        long t0 = System.nanoTime();
        try {
            for (int n = base; n < base + VMS; n++) {
                vms.add(new Vm(cmds.get(n - base), dir.resolve("s" + n + ".sock"), dir.resolve("out" + n + ".txt")));
            }
            long deadline = t0 + 2 * START_LIMIT_NS;
            // Greetings first, all of them, so that a VMM greeting before it is built is not held up by replies.
            for (Vm vm : vms) {
                vm.greet(deadline);
            }
            double greet = (System.nanoTime() - t0) / 1e6;
            for (Vm vm : vms) {
                vm.capabilitiesAndStatus(deadline);
            }
            double reply = (System.nanoTime() - t0) / 1e6;
            Thread.sleep(SETTLE_MS);
            Footprint total = Footprint.ZERO;
            for (Vm vm : vms) {
                total = total.plus(footprint(vm.process.toHandle()));
            }
            return new Sample(greet, reply, total);
        } finally {
            Vm.endAll(vms);
        }
    }

    // ---------------------------------------------------------------- printing

    private static void printFootprint(String load, String what, List<Sample> j, List<Sample> q, int threadTarget) {
        System.out.printf("BENCH footprint [%s] %s: RSS %s; guest RAM in it %s; without guest RAM %s (target <= 1.5x)%n",
                load, what, both(j, q, x -> x.fp().rss(), "MiB"), both(j, q, x -> x.fp().guestRss(), "MiB"),
                both(j, q, x -> x.fp().ownRss(), "MiB"));
        System.out.printf("BENCH footprint [%s] %s: PSS %s; without guest RAM %s, anonymous part %s; threads %s%s%n",
                load, what, both(j, q, x -> x.fp().pss(), "MiB"), both(j, q, x -> x.fp().ownPss(), "MiB"),
                both(j, q, x -> x.fp().ownAnonPss(), "MiB"), both(j, q, x -> x.fp().threads(), ""),
                threadTarget > 0 ? " (target <= " + threadTarget + ")" : "");
    }

    /** "jvmm A, QEMU B (jvmm/QEMU R x)" for the medians of one figure; KiB figures are shown in MiB. */
    private static String both(List<Sample> j, List<Sample> q, ToDoubleFunction<Sample> f, String unit) {
        double a = median(j, f);
        double b = median(q, f);
        boolean mib = unit.equals("MiB");
        String fmt = mib ? "%.1f" : "%.0f";
        String u = unit.isEmpty() ? "" : " " + unit;
        return String.format("jvmm " + fmt + "%s, QEMU " + fmt + "%s (%.2fx)", mib ? a / 1024 : a, u,
                mib ? b / 1024 : b, u, a / b);
    }

    private static String loadName(boolean loaded) {
        String avg;
        try {
            avg = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            avg = "?";
        }
        return (loaded ? "one core busy" : "quiet") + ", loadavg " + avg;
    }

    private static double median(List<Sample> samples, ToDoubleFunction<Sample> f) {
        double[] v = samples.stream().mapToDouble(f).toArray();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    // ---------------------------------------------------------------- /proc

    /** The process and everything it started (a launcher may fork the VMM rather than exec it). */
    private static List<ProcessHandle> tree(ProcessHandle root) {
        return Stream.concat(Stream.of(root), root.descendants()).filter(ProcessHandle::isAlive).toList();
    }

    static Footprint footprint(ProcessHandle root) {
        Footprint f = Footprint.ZERO;
        for (ProcessHandle p : tree(root)) {
            f = f.plus(footprintOf(p.pid()));
        }
        return f;
    }

    /**
     * smaps_rollup's Rss and Pss; the guest RAM is the writable mapping of exactly -m bytes, the one marked
     * mergeable (both VMMs madvise guest RAM MADV_MERGEABLE) when there are several of that size.
     */
    private static Footprint footprintOf(long pid) {
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            long rss = 0;
            long pss = 0;
            long anon = 0;
            for (String l : Files.readAllLines(proc.resolve("smaps_rollup"))) {
                if (l.startsWith("Rss:")) {
                    rss = kib(l);
                } else if (l.startsWith("Pss:")) {
                    pss = kib(l);
                } else if (l.startsWith("Pss_Anon:")) {
                    anon = kib(l);
                }
            }
            long[] guest = guestRam(Files.readAllLines(proc.resolve("smaps")));
            int threads;
            try (Stream<Path> s = Files.list(proc.resolve("task"))) {
                threads = (int) s.count();
            }
            return new Footprint(rss, pss, anon, guest[0], guest[1], threads);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + proc, e);
        }
    }

    /** {rss, pss} in KiB of the guest RAM mapping in an smaps listing; zeros when there is none. */
    private static long[] guestRam(List<String> smaps) {
        long want = (long) GUEST_MIB << 20;
        long[] chosen = null;
        long[] only = null;
        int candidates = 0;
        long[] cur = null;
        for (String l : smaps) {
            Matcher m = MAPPING.matcher(l);
            if (m.matches()) {
                long size = Long.parseUnsignedLong(m.group(2), 16) - Long.parseUnsignedLong(m.group(1), 16);
                boolean anonymous = m.group(4).equals("0") || m.group(5).startsWith("/memfd:");
                cur = size == want && m.group(3).startsWith("rw") && anonymous ? new long[2] : null;
            } else if (cur != null && l.startsWith("Rss:")) {
                cur[0] = kib(l);
            } else if (cur != null && l.startsWith("Pss:")) {
                cur[1] = kib(l);
            } else if (cur != null && l.startsWith("VmFlags:")) {
                candidates++;
                only = cur;
                if (chosen == null && Arrays.asList(l.split(" ")).contains("mg")) {
                    chosen = cur;
                }
            }
        }
        if (chosen != null) {
            return chosen;
        }
        return candidates == 1 ? only : new long[2];
    }

    private static long kib(String smapsLine) {
        String[] w = smapsLine.trim().split("\\s+");
        return Long.parseLong(w[1]);
    }

    /** The threads' names (comm) with their counts, e.g. "vcpu-0, VM Thread, java x2". */
    private static String threadNames(ProcessHandle root) throws IOException {
        Map<String, Integer> names = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (ProcessHandle p : tree(root)) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
                for (Path t : tasks.toList()) {
                    try {
                        names.merge(Files.readString(t.resolve("comm")).strip(), 1, Integer::sum);
                    } catch (IOException e) {
                        // The thread ended between the listing and the read.
                    }
                }
            }
        }
        return names.entrySet().stream().map(e -> e.getKey() + (e.getValue() > 1 ? " x" + e.getValue() : ""))
                .collect(Collectors.joining(", "));
    }

    // ---------------------------------------------------------------- the VM process and its QMP socket

    /** A VMM process with its output in a file, and a QMP client that reads CRLF-terminated lines. */
    private static final class Vm implements AutoCloseable {
        final Process process;
        private final Path sock;
        private final Path out;
        private SocketChannel ch;
        private Selector sel;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        private final StringBuilder pending = new StringBuilder();

        Vm(List<String> command, Path sock, Path out) throws IOException {
            this.sock = sock;
            this.out = out;
            this.process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        }

        /** Connects (retrying every millisecond until the socket listens) and reads the greeting. */
        void greet(long deadline) throws IOException, InterruptedException {
            while (ch == null) {
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    c.connect(UnixDomainSocketAddress.of(sock));
                    ch = c;
                } catch (IOException e) {
                    c.close();
                    check(deadline, "a connection to its QMP socket");
                    Thread.sleep(1);
                }
            }
            ch.configureBlocking(false);
            sel = Selector.open();
            ch.register(sel, SelectionKey.OP_READ);
            String g = readLine(deadline);
            if (!g.contains("\"QMP\"")) {
                throw new AssertionError("not a QMP greeting: " + g);
            }
        }

        void capabilitiesAndStatus(long deadline) throws IOException, InterruptedException {
            command("{\"execute\":\"qmp_capabilities\"}", deadline);
            String r = command("{\"execute\":\"query-status\"}", deadline);
            if (!r.contains("\"status\"")) {
                throw new AssertionError("query-status answered " + r);
            }
        }

        /** Sends a command; returns its reply line, skipping events. */
        private String command(String json, long deadline) throws IOException, InterruptedException {
            ByteBuffer b = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            while (true) {
                String l = readLine(deadline);
                if (l.startsWith("{\"return\"")) {
                    return l;
                }
                if (l.startsWith("{\"error\"")) {
                    throw new AssertionError(json + " answered " + l);
                }
            }
        }

        private String readLine(long deadline) throws IOException, InterruptedException {
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String l = pending.substring(0, nl).strip();
                    pending.delete(0, nl + 1);
                    return l;
                }
                check(deadline, "a QMP line");
                sel.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                sel.selectedKeys().clear();
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) {
                    throw new AssertionError("QMP socket closed; output: " + output());
                }
                pending.append(new String(buf.array(), 0, n, StandardCharsets.UTF_8));
            }
        }

        void awaitOutput(String text, long deadline) throws InterruptedException {
            while (!output().contains(text)) {
                check(deadline, "'" + text + "' on its serial output");
                Thread.sleep(10);
            }
        }

        private void check(long deadline, String what) {
            if (!process.isAlive()) {
                throw new AssertionError("exited with status " + process.exitValue() + " while waiting for " + what
                        + "; output: " + output());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("still waiting for " + what + " at the time limit; output: " + output());
            }
        }

        private String output() {
            try {
                return Files.readString(out);
            } catch (IOException e) {
                return "(unreadable: " + e + ")";
            }
        }

        /** Ends every VM: all are signalled first, so the waits overlap; bounded, then SIGKILL. */
        static void endAll(List<Vm> vms) {
            List<List<ProcessHandle>> trees = new ArrayList<>();
            for (Vm vm : vms) {
                vm.closeSocket();
                trees.add(tree(vm.process.toHandle()));
                vm.process.destroy();
            }
            for (int i = 0; i < vms.size(); i++) {
                Process p = vms.get(i).process;
                try {
                    if (!p.waitFor(KILL_WAIT_S, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor(KILL_WAIT_S, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    p.destroyForcibly();
                }
                trees.get(i).forEach(ProcessHandle::destroyForcibly);
            }
        }

        private void closeSocket() {
            try {
                if (sel != null) {
                    sel.close();
                }
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException ignored) {
                // The VMM is ended next either way.
            }
        }

        @Override
        public void close() {
            endAll(List.of(this));
        }
    }

    /** One core kept busy by a spinning thread in this JVM, as on a loaded host; stopped on close. */
    private static final class Spinner implements AutoCloseable {
        private volatile boolean stop;
        private final Thread thread;

        Spinner(boolean run) {
            thread = run ? new Thread(this::spin, "busy-core") : null;
            if (thread != null) {
                thread.setDaemon(true);
                thread.start();
            }
        }

        private void spin() {
            long x = 1;
            while (!stop) {
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
            if (x == 42) {
                System.out.print("");
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            if (thread != null) {
                thread.join(TimeUnit.SECONDS.toMillis(KILL_WAIT_S));
            }
        }
    }
}
