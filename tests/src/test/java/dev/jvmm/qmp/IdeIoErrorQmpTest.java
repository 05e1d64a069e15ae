package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An IDE read that fails once in the block layer with rerror=stop: the tiny guest's `action=ide-read` (DMA,
 * or PIO with pio=1) reads a qcow2 image through a blkdebug node that fails the read of one host sector once
 * with EIO. QEMU emits BLOCK_IO_ERROR and STOP (status io-error, io-status failed); `cont` retries the
 * request, which now succeeds, and the guest prints the checksum of the data. QEMU's transcript must equal
 * tests/reference/ide/ioerror-*.txt; jvmm's serial output, events and replies must equal QEMU's.
 * `-Djvmm.recordReference=true` rewrites the reference files from QEMU.
 */
class IdeIoErrorQmpTest {
    @TempDir
    Path dir;

    private static List<String> qemuTranscript(Transcript q) {
        List<String> got = new ArrayList<>(q.lines());
        got.add("serial:");
        got.addAll(q.serial());
        got.add("exit: " + q.status());
        return got;
    }

    record Transcript(List<String> lines, List<String> serial, int status) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"dma", "pio"})
    void readErrorStopsAndRetries(String mode) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        Path refFile = Path.of(System.getProperty("jvmm.root", "..")).resolve("tests/reference/ide")
                .resolve("ioerror-" + mode + ".txt");
        List<String> reference = Files.exists(refFile) ? Files.readAllLines(refFile) : List.of();
        Transcript q = run("qemu-system-x86_64", mode, "q");
        List<String> got = qemuTranscript(q);
        if (!got.equals(reference) && !Boolean.getBoolean("jvmm.recordReference")) {
            // QEMU stops the VM for the error from its I/O thread while the vCPU runs on: on a busy host the
            // guest can poll the PIO status in between and give up (status 0x50, no DRQ). That race is QEMU's;
            // its transcript is taken again once before it is held against the reference.
            q = run("qemu-system-x86_64", mode, "q2");
            got = qemuTranscript(q);
        }
        if (Boolean.getBoolean("jvmm.recordReference")) {
            Files.writeString(refFile, String.join("\n", got) + "\n");
        }
        assertEquals(reference, got, "QEMU's transcript differs from " + refFile);
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        Transcript j = run(System.getProperty("jvmm.launcher", "../bin/jvmm"), mode, "j");
        String hint = String.join("\n", j.serial()).contains("no PIIX3 IDE function")
                ? " (jvmm exposes no PIIX3 IDE function yet: IDE not wired into PcMachine?)" : "";
        assertEquals(q.serial(), j.serial(), "serial output" + hint);
        assertEquals(q.lines(), j.lines(), "QMP events and replies" + hint);
        assertEquals(q.status(), j.status(), "exit status" + hint);
    }

    private static String reduce(Map<?, ?> msg) {
        if (msg.containsKey("event")) {
            Object data = msg.get("data");
            return "event: " + msg.get("event") + (data instanceof Map<?, ?> d ? " " + new java.util.TreeMap<>(d) : "");
        }
        if (msg.containsKey("error")) {
            Map<?, ?> e = (Map<?, ?>) msg.get("error");
            return "<- error " + e.get("class") + ": " + e.get("desc");
        }
        Object r = msg.get("return");
        if (r instanceof List<?> devices) {
            StringBuilder sb = new StringBuilder("<- return");
            for (Object o : devices) {
                Map<?, ?> d = (Map<?, ?>) o;
                sb.append(" [device=").append(d.get("device")).append(" qdev=").append(d.get("qdev"))
                        .append(" io-status=").append(d.get("io-status")).append(']');
            }
            return sb.toString();
        }
        if (r instanceof Map<?, ?> m && m.containsKey("status")) {
            return "<- return status=" + m.get("status") + " running=" + m.get("running");
        }
        return "<- return " + r;
    }

    private Transcript run(String program, String mode, String tag) throws Exception {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        // Guest offset 1 MiB lands in the image's second data run, host sectors 2688..2815 (qemu-img map):
        // away from sector 0, which firmware may read at boot.
        Path img = dir.resolve(tag + ".qcow2");
        String qemuImg = "qemu-img";
        exec(qemuImg, "create", "-q", "-f", "qcow2", img.toString(), "16M");
        exec("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 1M 64k", img.toString());
        Path sock = dir.resolve(tag + ".sock");
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-m", "128", "-serial", "stdio", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(),
                "-append", "action=ide-read start=2048 sectors=64" + (mode.equals("pio") ? " pio=1" : ""),
                "-blockdev", "driver=qcow2,node-name=dbg,file.driver=blkdebug,file.inject-error.0.event=read_aio,"
                        + "file.inject-error.0.errno=5,file.inject-error.0.sector=2700,file.inject-error.0.once=on,"
                        + "file.image.driver=file,file.image.filename=" + img,
                "-device", "ide-hd,drive=dbg,bus=ide.0,unit=0,rerror=stop,id=disk0",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        Path stdout = dir.resolve(tag + ".out");
        Path stderr = dir.resolve(tag + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        List<String> out = new ArrayList<>();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && p.isAlive() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                end = System.currentTimeMillis() + 30_000;
                while (System.currentTimeMillis() < end && p.isAlive()) {
                    String l = c.readLine(200);
                    if (l == null) {
                        continue;
                    }
                    Map<?, ?> m = (Map<?, ?>) QmpClient.parse(l);
                    out.add(reduce(m));
                    if ("STOP".equals(m.get("event"))) {
                        for (String command : List.of("{\"execute\":\"query-status\"}", "{\"execute\":\"query-block\"}",
                                "{\"execute\":\"cont\"}")) {
                            out.add("-> " + command);
                            for (Map<String, Object> r : c.exchange(command)) {
                                out.add(reduce(r));
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // The VMM exited and closed the monitor; what was read is kept.
            }
        } finally {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
        List<String> serial = Files.readAllLines(stdout, StandardCharsets.UTF_8);
        if (serial.isEmpty()) {
            serial = List.of("(no serial output; stderr: " + Files.readString(stderr).strip() + ")");
        }
        return new Transcript(out, serial, p.exitValue());
    }

    private static void exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            out = String.join("\n", r.lines().toList());
        }
        Assumptions.assumeTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, cmd[0] + " failed: " + out);
    }
}
