package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * block_resize over QMP while the tiny guest's virtio-blk driver waits for a configuration change
 * (action=blk-resize: ISR polling, or an MSI-X config interrupt with msix=1): the guest must see the new
 * capacity and read the new last sector; the same conversation under QEMU and jvmm gives the same serial
 * output, replies and exit status, and the image file grows on disk.
 */
class VirtioBlkResizeTest {
    private static final long OLD_SIZE = 16L << 20;
    private static final long NEW_SIZE = 32L << 20;
    /** Sent in order once the guest waits; the first two are refused. */
    private static final List<String> COMMANDS = List.of(
            "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"nosuch\",\"size\":33554432}}",
            "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"d0\",\"size\":-512}}",
            "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"d0\",\"size\":" + NEW_SIZE + "}}");

    @TempDir
    Path dir;

    record Run(List<String> serial, List<String> replies, int status, long fileSize) {
    }

    @ParameterizedTest(name = "msix={0}")
    @ValueSource(ints = {0, 1})
    void guestSeesTheNewCapacity(int msix) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        Run q = run("qemu-system-x86_64", msix, "q");
        assertEquals(List.of("jvmm-tiny: boot=pvh", "cmdline: action=blk-resize msix=" + msix, "memory: 128 MiB",
                "blk: pci 00:02.0", "blk-resize: capacity 32768", "blk-resize: waiting for a config change",
                "blk-resize: config change, capacity 65536", "blk-resize: last sector readable"), q.serial(),
                "QEMU's serial output");
        assertEquals(List.of(
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Cannot find device='nosuch' nor node-name=''\"}}",
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'size' expects a >0 size\"}}",
                "{\"return\": {}}"), q.replies(), "QEMU's replies");
        assertEquals(33, q.status());
        assertEquals(NEW_SIZE, q.fileSize());
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        Run j = run(System.getProperty("jvmm.launcher", "../bin/jvmm"), msix, "j");
        String hint = j.serial().contains("blk: no virtio-blk device")
                ? " (jvmm has no virtio-blk device yet: not wired into the PC machine?)" : "";
        assertEquals(q.serial(), j.serial(), "serial output" + hint);
        assertEquals(q.replies(), j.replies(), "QMP replies" + hint);
        assertEquals(q.status(), j.status(), "exit status" + hint);
        assertEquals(q.fileSize(), j.fileSize(), "image size after block_resize" + hint);
    }

    /** Sends a command and returns its reply line as sent (events before it are skipped). */
    private static String reply(QmpClient c, String command) throws java.io.IOException {
        c.send(command);
        for (String l = c.readLine(10_000); l != null; l = c.readLine(10_000)) {
            if (l.startsWith("{\"return\"") || l.startsWith("{\"error\"")) {
                return l;
            }
        }
        return "(no reply)";
    }

    private Run run(String program, int msix, String tag) throws Exception {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        Path img = dir.resolve(tag + ".raw");
        Files.deleteIfExists(img);
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.allocate(1), OLD_SIZE - 1); // sparse 16 MiB
        }
        Path sock = dir.resolve(tag + ".sock");
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-S", "-m", "128", "-serial", "stdio", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(),
                "-append", "action=blk-resize msix=" + msix,
                "-drive", "file=" + img + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,id=vd0",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        Path stderr = dir.resolve(tag + ".stderr");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        GuestVm.StdoutLines out = GuestVm.stdoutLines(p);
        LinkedBlockingQueue<String> lines = out.lines();
        Thread reader = out.reader();
        List<String> serial = new ArrayList<>();
        List<String> replies = new ArrayList<>();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && p.isAlive() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                c.command("{\"execute\":\"cont\"}");
                boolean sent = false;
                end = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < end && p.isAlive()) {
                    String l = lines.poll(50, TimeUnit.MILLISECONDS);
                    if (l == null) {
                        continue;
                    }
                    serial.add(l);
                    if (!sent && l.equals("blk-resize: waiting for a config change")) {
                        sent = true;
                        for (String command : COMMANDS) {
                            replies.add(reply(c, command));
                        }
                    }
                }
            } catch (java.io.IOException e) {
                // The VMM exited and closed the monitor; what was read is kept.
            }
        } finally {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2000);
            String l;
            while ((l = lines.poll()) != null) {
                serial.add(l);
            }
        }
        assertTrue(!serial.isEmpty(), program + " printed nothing; stderr: " + Files.readString(stderr));
        return new Run(serial, replies, p.exitValue(), Files.size(img));
    }
}
