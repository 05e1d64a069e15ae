package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -sandbox as libvirt writes it: jvmm runs under a real seccomp filter on every thread, the guest runs to its
 * end, QMP keeps working, and QEMU 7.2 with the same option shows the same /proc status and holds the same BPF
 * program. The filter's denials themselves are shown in vmm-kvm's SandboxTest, where a child JVM makes the
 * denied calls.
 */
class SandboxQmpTest {
    /** libvirt 9.0's spelling (qemuBuildSeccompSandboxCommandLine). */
    static final String LIBVIRT = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

    /** query-command-line-options option=sandbox as QEMU 7.2 answers it (libvirt's probe asks for it). */
    static final Object SANDBOX_OPTION = Map.of("return", List.of(Map.of("option", "sandbox", "parameters", List.of(
            Map.of("name", "resourcecontrol", "type", "string"), Map.of("name", "spawn", "type", "string"),
            Map.of("name", "elevateprivileges", "type", "string"), Map.of("name", "obsolete", "type", "string"),
            Map.of("name", "enable", "type", "boolean")))));
    static final String QUERY_SANDBOX_OPTION =
            "{\"execute\":\"query-command-line-options\",\"arguments\":{\"option\":\"sandbox\"}}";

    @TempDir
    Path dir;

    private static Path kernel() {
        Path kvm = Path.of("/dev/kvm");
        Assumptions.assumeTrue(Files.isReadable(kvm) && Files.isWritable(kvm), "/dev/kvm is not accessible");
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libseccomp.so.2"))
                || Files.exists(Path.of("/lib/x86_64-linux-gnu/libseccomp.so.2")),
                "libseccomp2 is not installed: sandbox tests skipped");
        Path k = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(k), "guest kernel " + k + " was not built");
        return k;
    }

    private static List<String> jvmm(Path kernel, String append, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(GuestVm.jvmm(), "-nodefaults", "-display", "none", "-m", "128",
                "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", kernel.toString(), "-append", append));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    /** Seccomp, Seccomp_filters and NoNewPrivs of every thread of pid, by thread id. */
    static Map<String, String> threadStatus(long pid) throws IOException {
        Map<String, String> out = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks.toList()) {
                StringBuilder sb = new StringBuilder();
                try {
                    sb.append(Files.readString(t.resolve("comm")).trim()).append(':');
                    for (String l : Files.readAllLines(t.resolve("status"))) {
                        if (l.startsWith("Seccomp") || l.startsWith("NoNewPrivs")) {
                            sb.append(' ').append(l.replace("\t", ""));
                        }
                    }
                } catch (java.nio.file.NoSuchFileException gone) {
                    continue; // a thread that ended between the listing and the read
                }
                out.put(t.getFileName().toString(), sb.toString());
            }
        }
        return out;
    }

    private static void assertFiltered(Map<String, String> threads) {
        assertFalse(threads.isEmpty());
        for (Map.Entry<String, String> t : threads.entrySet()) {
            String s = t.getValue();
            assertTrue(s.contains(" Seccomp:2") && s.matches(".* Seccomp_filters:[1-9].*") && s.contains(" NoNewPrivs:1"),
                    "thread " + t.getKey() + " " + s);
        }
    }

    @Test
    void libvirtsSpellingFiltersEveryThreadAndQmpKeepsWorking() throws Exception {
        Path kernel = kernel();
        Path sock = dir.resolve("q.sock");
        try (GuestVm vm = GuestVm.start(jvmm(kernel, "action=idle", "-sandbox", LIBVIRT), sock)) {
            Map<String, String> before = threadStatus(vm.pid());
            assertFiltered(before);
            assertEquals(SANDBOX_OPTION, vm.command(QUERY_SANDBOX_OPTION));
            assertEquals(Map.of("return", Map.of("status", "prelaunch", "singlestep", false, "running", false)),
                    vm.command("{\"execute\":\"query-status\"}"));
            vm.cont();
            assertTrue(vm.awaitSerial("jvmm-tiny: idle", 20_000), vm.stderrTail());
            assertEquals("running", status(vm));
            vm.command("{\"execute\":\"stop\"}");
            assertEquals("paused", status(vm));
            vm.cont();
            assertEquals("running", status(vm));
            // A thread made after start-up: the JVM starts its attach listener when jcmd asks for it.
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            if (Files.isExecutable(jcmd)) {
                Process p = new ProcessBuilder(jcmd.toString(), Long.toString(vm.pid()), "VM.version")
                        .redirectErrorStream(true).start();
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes());
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "jcmd did not end");
                assertEquals(0, p.exitValue(), out);
                Map<String, String> after = threadStatus(vm.pid());
                assertTrue(after.values().stream().anyMatch(s -> s.startsWith("Attach Listener:")), after.toString());
                assertFalse(before.values().stream().anyMatch(s -> s.startsWith("Attach Listener:")), before.toString());
                assertFiltered(after);
            }
            vm.command("{\"execute\":\"quit\"}");
            GuestVm.Result r = vm.finish(20_000);
            assertEquals(0, r.status(), r.stderr());
        }
    }

    private static String status(GuestVm vm) throws IOException {
        return (String) ((Map<?, ?>) ((Map<?, ?>) vm.command("{\"execute\":\"query-status\"}")).get("return"))
                .get("status");
    }

    @Test
    void guestRunsToItsEndWithBlockIoUnderTheFilter() throws Exception {
        Path kernel = kernel();
        Path disk = dir.resolve("d.raw");
        try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        GuestVm.Result r = GuestVm.run(jvmm(kernel, "action=blk", "-drive",
                "file=" + disk + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,serial=jvmm-disk-0",
                "-sandbox", LIBVIRT), dir.resolve("b.sock"), Map.of(), List.of(), 60_000);
        assertTrue(r.serial().contains("blk: ok"), r.serial() + r.stderr());
        assertEquals(33, r.status(), r.stderr());
    }

    @Test
    void offAndOnAloneAsQemu() throws Exception {
        Path kernel = kernel();
        try (GuestVm vm = GuestVm.start(jvmm(kernel, "action=idle", "-sandbox", "off,spawn=maybe"),
                dir.resolve("off.sock"))) {
            for (String s : threadStatus(vm.pid()).values()) {
                assertTrue(s.contains(" Seccomp:0"), s);
            }
        }
        try (GuestVm vm = GuestVm.start(jvmm(kernel, "action=idle", "-sandbox", "on"), dir.resolve("on.sock"))) {
            assertFiltered(threadStatus(vm.pid()));
        }
    }

    @Test
    void badValuesGiveQemusErrors() throws Exception {
        Path kernel = kernel();
        for (String[] c : new String[][] {
                {"on,spawn=maybe", "jvmm: -sandbox on,spawn=maybe: invalid argument for spawn"},
                {"on,obsolete=x", "jvmm: -sandbox on,obsolete=x: invalid argument for obsolete"},
                {"on,elevateprivileges=x", "jvmm: -sandbox on,elevateprivileges=x: invalid argument for elevateprivileges"},
                {"on,resourcecontrol=x", "jvmm: -sandbox on,resourcecontrol=x: invalid argument for resourcecontrol"},
                {"foo", "jvmm: -sandbox foo: Parameter 'enable' expects 'on' or 'off'"},
                {"on,bogus=1", "jvmm: -sandbox on,bogus=1: Invalid parameter 'bogus'"}}) {
            Process p = new ProcessBuilder(jvmm(kernel, "", "-sandbox", c[0])).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out);
            assertEquals(c[1], out);
        }
    }

    /** QEMU 7.2 with the same option: the same status on every thread (its reference for the test above). */
    @Test
    void qemuShowsTheSameFilter() throws Exception {
        Path kernel = kernel();
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 is not installed");
        Path sock = dir.resolve("qemu.sock");
        try (GuestVm vm = GuestVm.start(GuestVm.command(GuestVm.QEMU, kernel, "action=idle",
                List.of("-sandbox", LIBVIRT)), sock)) {
            assertFiltered(threadStatus(vm.pid()));
            assertEquals("prelaunch", status(vm));
            assertEquals(SANDBOX_OPTION, vm.command(QUERY_SANDBOX_OPTION));
            vm.command("{\"execute\":\"quit\"}");
            assertEquals(0, vm.finish(20_000).status());
        }
    }

    /**
     * The filter itself, as the kernel holds it, is QEMU's: for each spelling both processes carry the same BPF
     * program, byte for byte (both come from libseccomp, so equal rules, order and actions give equal code).
     */
    @Test
    void theKernelHoldsQemusFilterByteForByte() throws Exception {
        Path kernel = kernel();
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 is not installed");
        for (String spelling : List.of(LIBVIRT, "on", "on,obsolete=allow", "on,elevateprivileges=children",
                "on,resourcecontrol=deny")) {
            String q;
            String j;
            try (GuestVm vm = GuestVm.start(List.of(GuestVm.QEMU, "-machine", "none", "-display", "none",
                    "-nodefaults", "-sandbox", spelling), dir.resolve("fq.sock"))) {
                q = filters(vm.pid());
            }
            try (GuestVm vm = GuestVm.start(jvmm(kernel, "action=idle", "-sandbox", spelling), dir.resolve("fj.sock"))) {
                j = filters(vm.pid());
            }
            assertTrue(q.startsWith("filter 0 ") && !q.contains("filter 1 "), spelling + ": " + q);
            assertEquals(q, j, spelling);
        }
    }

    /** The filters of pid, dumped by {@link SeccompFilterDump} in a process of its own. */
    private static String filters(long pid) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), SeccompFilterDump.class.getName(), Long.toString(pid))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the filter dump did not end");
        Assumptions.assumeFalse(out.startsWith("unavailable"),
                "PTRACE_SECCOMP_GET_FILTER is not permitted here (needs CAP_SYS_ADMIN): " + out);
        return out;
    }
}
