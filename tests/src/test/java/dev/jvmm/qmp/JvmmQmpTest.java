package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** QMP against the real jvmm process: facts only a real machine has (vCPU threads, signals, registers). */
class JvmmQmpTest {
    @TempDir
    Path dir;

    /** jvmm idling on the tiny guest with a QMP socket; skips where KVM or the guest is missing. */
    private static List<String> command(Path sock, String... extra) {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("jvmm.launcher", "../bin/jvmm"),
                "-nodefaults", "-kernel", kernel.toString(), "-append", "action=idle",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    private Process start(Path sock, String... extra) throws Exception {
        return QemuSideBySideTest.startProcess(command(sock, extra), sock);
    }

    private static Map<String, Object> reply(QmpClient c, String command) throws Exception {
        List<Map<String, Object>> msgs = c.exchange(command);
        return msgs.get(msgs.size() - 1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void cpusFastReportsTheRealVcpuThreads() throws Exception {
        Path sock = dir.resolve("q.sock");
        Process p = start(sock, "-smp", "2", "-S");
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> cpus = (List<Map<String, Object>>) reply(c,
                    "{\"execute\":\"query-cpus-fast\"}").get("return");
            assertEquals(2, cpus.size());
            for (int i = 0; i < 2; i++) {
                Map<String, Object> cpu = cpus.get(i);
                assertEquals((long) i, ((Number) cpu.get("cpu-index")).longValue());
                long tid = ((Number) cpu.get("thread-id")).longValue();
                Path comm = Path.of("/proc", Long.toString(p.pid()), "task", Long.toString(tid), "comm");
                assertTrue(Files.exists(comm), "thread " + tid + " is not a thread of jvmm");
                assertEquals("vcpu-" + i, Files.readString(comm).trim());
            }
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void infoRegistersShowsTheGuestsState() throws Exception {
        Path sock = dir.resolve("r.sock");
        Process p = start(sock);
        try (QmpClient c = QmpClient.negotiated(sock)) {
            Thread.sleep(500); // the guest reaches its idle loop (cli; hlt): the dump must not hang on it
            Object text = reply(c, "{\"execute\":\"human-monitor-command\","
                    + "\"arguments\":{\"command-line\":\"info registers\"}}").get("return");
            // QEMU's layout: "\r\nCPU#0\r\nEAX=..." with CRLF line ends, as its monitor writes them.
            assertTrue(String.valueOf(text).startsWith("\r\nCPU#0\r\nEAX="), String.valueOf(text));
            assertTrue(String.valueOf(text).contains("\r\nCR0=00000011 "), String.valueOf(text));
            assertEquals("running", ((Map<?, ?>) reply(c, "{\"execute\":\"query-status\"}").get("return"))
                    .get("status"));
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** SIGTERM (libvirt's destroy), SIGINT and SIGHUP end the machine as QEMU's termsig handler does. */
    @ParameterizedTest
    @ValueSource(ints = {15, 2, 1})
    void terminatingSignalEmitsHostSignalShutdownAndExitsZero(int signal) throws Exception {
        Path sock = dir.resolve("s.sock");
        Path log = dir.resolve("stderr.log");
        Process p = new ProcessBuilder(command(sock)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
                assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
                Map<String, Object> ev = c.read(10_000);
                assertEquals("SHUTDOWN", ev.get("event"));
                assertEquals(Map.of("guest", false, "reason", "host-signal"), ev.get("data"));
                assertTrue(p.waitFor(10, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue());
                List<String> lines = Files.readAllLines(log); // before it: the host's -cpu warnings, if any
                assertEquals("jvmm: terminating on signal " + signal, lines.get(lines.size() - 1));
            }
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * libvirt's way: it binds and listens on the monitor socket itself and passes the descriptor,
     * "-chardev socket,id=charmonitor,fd=N,server=on,wait=off -mon chardev=charmonitor,id=monitor,mode=control".
     * A small Python driver does the descriptor passing, which Java's ProcessBuilder cannot.
     */
    @Test
    void inheritedListeningSocketAsLibvirtPassesIt() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        String driver = String.join("\n",
                "import socket, subprocess, sys, time",
                "path, launcher, kernel = sys.argv[1:4]",
                "s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(1)",
                "fd = s.fileno(); import os; os.set_inheritable(fd, True)",
                "p = subprocess.Popen([launcher, '-nodefaults', '-S', '-kernel', kernel,",
                "    '-chardev', 'socket,id=charmonitor,fd=%d,server=on,wait=off' % fd,",
                "    '-mon', 'chardev=charmonitor,id=monitor,mode=control'], pass_fds=(fd,))",
                "c = socket.socket(socket.AF_UNIX); c.connect(path)",
                "c.sendall(b'{\"execute\":\"qmp_capabilities\"}\\n{\"execute\":\"query-status\"}\\n"
                        + "{\"execute\":\"quit\"}\\n')",
                "c.shutdown(socket.SHUT_WR)",
                "out = b''",
                "while True:",
                "    d = c.recv(65536)",
                "    if not d: break",
                "    out += d",
                "sys.stdout.write(out.decode())",
                "sys.exit(p.wait(20))");
        Path script = dir.resolve("libvirt_like.py");
        Files.writeString(script, driver);
        Process py = new ProcessBuilder("python3", script.toString(), dir.resolve("mon.sock").toString(),
                System.getProperty("jvmm.launcher", "../bin/jvmm"), kernel.toString())
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        // stderr apart: the default CPU model (qemu64) may print QEMU's warnings for features this host lacks
        String out = new String(py.getInputStream().readAllBytes());
        assertTrue(py.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, py.exitValue(), out + Files.readString(dir.resolve("stderr.txt")));
        assertTrue(out.startsWith("{\"QMP\": "), out);
        assertTrue(out.contains("{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}}"), out);
        assertTrue(out.contains("\"reason\": \"host-qmp-quit\""), out);
    }

    /**
     * query-pci as QEMU 7.2 answers for "-machine pc -nodefaults" once SeaBIOS has run (the PIIX3 IDE function
     * 00:01.1 with its bus-master BAR at the first I/O address).
     */
    @Test
    void queryPciAsQemuAfterItsFirmware() throws Exception {
        Path sock = dir.resolve("p.sock");
        Process p = start(sock, "-S");
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> msgs = c.exchange("{\"execute\":\"query-pci\"}");
            String json = new String(Json.encodeMessage(msgs.get(msgs.size() - 1)), java.nio.charset.StandardCharsets.UTF_8);
            String expected = "{\"return\": [{\"bus\": 0, \"devices\": ["
                    + "{\"irq_pin\": 0, \"bus\": 0, \"qdev_id\": \"\", \"slot\": 0, \"class_info\": {\"class\": 1536, "
                    + "\"desc\": \"Host bridge\"}, \"id\": {\"device\": 4663, \"subsystem-vendor\": 6900, "
                    + "\"vendor\": 32902, \"subsystem\": 4352}, \"function\": 0, \"regions\": []}, "
                    + "{\"irq_pin\": 0, \"bus\": 0, \"qdev_id\": \"\", \"slot\": 1, \"class_info\": {\"class\": 1537, "
                    + "\"desc\": \"ISA bridge\"}, \"id\": {\"device\": 28672, \"subsystem-vendor\": 6900, "
                    + "\"vendor\": 32902, \"subsystem\": 4352}, \"function\": 0, \"regions\": []}, "
                    + "{\"irq_pin\": 0, \"bus\": 0, \"qdev_id\": \"\", \"slot\": 1, \"class_info\": {\"class\": 257, "
                    + "\"desc\": \"IDE controller\"}, \"id\": {\"device\": 28688, \"subsystem-vendor\": 6900, "
                    + "\"vendor\": 32902, \"subsystem\": 4352}, \"function\": 1, \"regions\": [{\"bar\": 4, "
                    + "\"size\": 16, \"address\": 49152, \"type\": \"io\"}]}, "
                    + "{\"irq_pin\": 1, \"bus\": 0, \"qdev_id\": \"\", \"irq\": 9, \"slot\": 1, \"class_info\": "
                    + "{\"class\": 1664, \"desc\": \"Bridge\"}, \"id\": {\"device\": 28947, \"subsystem-vendor\": 6900, "
                    + "\"vendor\": 32902, \"subsystem\": 4352}, \"function\": 3, \"regions\": []}]}]}\r\n";
            assertEquals(expected, json);
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void quitEndsTheProcessAfterTheReply() throws Exception {
        Path sock = dir.resolve("x.sock");
        Process p = start(sock);
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<Map<String, Object>> msgs = c.exchange("{\"execute\":\"quit\",\"id\":7}");
            assertEquals("SHUTDOWN", msgs.get(0).get("event"));
            assertEquals(7L, ((Number) msgs.get(msgs.size() - 1).get("id")).longValue());
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }
}
