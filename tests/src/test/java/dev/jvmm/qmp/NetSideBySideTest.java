package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The network plumbing of the real jvmm against QEMU 7.2 with hub ports (the backends jvmm has in every
 * build): -netdev hubport start-up warnings, "info network", netdev_add/netdev_del/set_link/query-rx-filter/
 * announce-self and their HMP forms, and the command-line errors of -netdev, -nic and -net. Replies, texts
 * and exit statuses must be the same; stderr lines compare with the program name left out.
 */
class NetSideBySideTest {
    private static final List<String> HUBS = List.of("-netdev", "hubport,id=h0,hubid=0", "-netdev",
            "hubport,id=h1,hubid=0", "-netdev", "hubport,id=h2,hubid=3", "-netdev", "hubport,id=x,hubid=1,netdev=h2");

    @TempDir
    Path dir;

    private static List<String> command(String program, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-m", "128", "-S"));
        cmd.addAll(extra);
        return cmd;
    }

    private static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static List<Object> conversation(QmpProbe vm) {
        List<Object> out = new ArrayList<>();
        for (String h : List.of("info network", "hostfwd_add tcp::5555-:22", "hostfwd_remove h0 tcp::5555",
                "netdev_add hubport,id=hp,hubid=2", "netdev_add hubport,id=hq,hubid=2,foo=1", "info network",
                "netdev_del hp", "netdev_del hp", "set_link h1 off", "set_link nope on", "info network")) {
            out.add(vm.execute("human-monitor-command", args("command-line", h)));
        }
        out.add(vm.execute("netdev_add", args("type", "hubport", "id", "h0", "hubid", 5)));
        out.add(vm.execute("netdev_add", args("type", "tap", "id", "t", "foo", 1)));
        // (a hub port on a netdev= that already has a peer: QEMU asserts, jvmm refuses; not compared)
        out.add(vm.execute("netdev_add", args("type", "hubport", "id", "n2", "hubid", 4)));
        out.add(vm.execute("netdev_del", args("id", "n2")));
        out.add(vm.execute("netdev_del", args("id", "n2")));
        out.add(vm.execute("set_link", args("name", "x", "up", false)));
        out.add(vm.execute("set_link", args("name", "nope", "up", false)));
        out.add(vm.execute("query-rx-filter", args()));
        out.add(vm.execute("query-rx-filter", args("name", "h0")));
        out.add(vm.execute("query-rx-filter", args("name", "zz")));
        out.add(vm.execute("announce-self", args("initial", 50, "max", 550, "rounds", 2, "step", 50)));
        out.add(vm.execute("human-monitor-command", args("command-line", "info network")));
        return out;
    }

    @Test
    void hubportNetworkAsQemus() throws Exception {
        assumeVmms();
        List<Object> ref;
        String refWarnings;
        try (QmpProbe q = QmpProbe.start(command(GuestVm.QEMU, HUBS), dir, "q")) {
            ref = conversation(q);
            refWarnings = warnings(q.stderr());
        }
        assertEquals(Map.of("return", "hub 1\r\n \\ x: h2: index=0,type=hubport,\r\nhub 3\r\n \\ h2: x: "
                + "index=0,type=hubport,\r\nhub 0\r\n \\ h1\r\n \\ h0\r\n"), ref.get(0), "QEMU's info network");
        try (QmpProbe j = QmpProbe.start(command(GuestVm.jvmm(), HUBS), dir, "j")) {
            List<Object> got = conversation(j);
            for (int i = 0; i < ref.size(); i++) {
                assertEquals(ref.get(i), got.get(i), "reply " + i);
            }
            assertEquals(refWarnings, warnings(j.stderr()), "start-up warnings");
        }
    }

    /** The "warning:" lines of stderr, without the program name in front. */
    private static String warnings(String stderr) {
        StringBuilder sb = new StringBuilder();
        for (String l : stderr.split("\n")) {
            int w = l.indexOf("warning: ");
            if (w >= 0) {
                sb.append(l.substring(w)).append('\n');
            }
        }
        return sb.toString();
    }

    @Test
    void commandLineErrorsAsQemus() throws Exception {
        assumeVmms();
        List<List<String>> cases = List.of(
                List.of("-netdev", "foo,id=x"),
                List.of("-netdev", "hubport"),
                List.of("-netdev", "hubport,id=a"),
                List.of("-netdev", "hubport,id=a,hubid=0,foo=1"),
                List.of("-netdev", "hubport,id=a,hubid=x"),
                List.of("-netdev", "hubport,id=a,hubid=0,netdev=zz"),
                List.of("-netdev", "hubport,id=a,hubid=0", "-netdev", "hubport,id=a,hubid=1"),
                List.of("-nic", "hubport,id=a,hubid=0", "-nic", "hubport,id=a,hubid=1"),
                List.of("-netdev", "hubport,id=a,hubid=0", "-nic", "hubport,id=a,hubid=1"),
                List.of("-net", "hubport,hubid=1"),
                List.of("-net", "foo"),
                List.of("-nic", "foo"),
                List.of("-net", "nic,name=n1"),
                List.of("-net", "nic,macaddr=zz"),
                List.of("-net", "nic,macaddr=01:00:00:00:00:00"),
                List.of("-nic", "hubport,hubid=0,mac=01:00:00:00:00:00"),
                List.of("-net", "nic,netdev=nope"),
                List.of("-net", "nic,vectors=x"),
                List.of("-net", "user,id=x", "-net", "user,id=x"),
                List.of("-netdev", "{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":2,\"foo\":1}"),
                List.of("-netdev", "{\"type\":\"hubport\",\"id\":\"x\",\"hubid\":\"2\"}"),
                List.of("-netdev", "{\"type\":\"hubport\",\"id\":\"x\""),
                List.of("-netdev", "{\"type\":\"nope\",\"id\":\"x\"}"),
                List.of("-netdev", "{\"id\":\"x\"}"));
        for (List<String> c : cases) {
            Outcome q = run(command(GuestVm.QEMU, c));
            Outcome j = run(command(GuestVm.jvmm(), c));
            assertEquals(1, q.status(), "QEMU " + c + ": " + q.stderr());
            assertEquals(q, j, String.join(" ", c));
        }
    }

    @Test
    void netdevHelpAsQemus() throws Exception {
        assumeVmms();
        Outcome q = run(List.of(GuestVm.QEMU, "-netdev", "help"));
        Outcome j = run(List.of(GuestVm.jvmm(), "-netdev", "help"));
        assertEquals(0, j.status());
        assertTrue(j.stdout().startsWith("Available netdev backend types:\n"));
        // jvmm lists the types it has, in QEMU's order
        List<String> qemuTypes = Arrays.asList(q.stdout().split("\n"));
        List<String> jvmmTypes = Arrays.asList(j.stdout().split("\n"));
        assertEquals(jvmmTypes, qemuTypes.stream().filter(jvmmTypes::contains).toList());
    }

    private static void assumeVmms() {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(),
                "qemu-system-x86_64 or /dev/kvm missing: network side-by-side tests skipped");
        Assumptions.assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible: network side-by-side tests skipped");
    }

    record Outcome(int status, String stdout, String stderr) {
    }

    /** Runs to its exit (bounded); stderr without the program's prefix and QEMU's module-loading notices. */
    private Outcome run(List<String> cmd) throws Exception {
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(cmd + " did not exit");
        }
        StringBuilder sb = new StringBuilder();
        for (String l : Files.readString(err, StandardCharsets.UTF_8).split("\n")) {
            if (l.isEmpty() || l.startsWith("qemu: module ")) {
                continue;
            }
            int colon = l.indexOf(": ");
            sb.append(colon >= 0 ? l.substring(colon + 2) : l).append('\n');
        }
        return new Outcome(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), sb.toString());
    }
}
