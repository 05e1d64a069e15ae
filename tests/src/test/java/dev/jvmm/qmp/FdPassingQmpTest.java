package dev.jvmm.qmp;

import dev.jvmm.core.fd.UnixMessages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Descriptors passed to a real jvmm with SCM_RIGHTS on its QMP socket (getfd, add-fd, /dev/fdset/N), and
 * -add-fd with -drive file=/dev/fdset/N under the tiny guest's virtio-blk check. The expected replies are
 * QEMU 7.2's for the same conversation (fd numbers aside).
 */
class FdPassingQmpTest {
    @TempDir
    Path dir;

    private Process start(List<String> extra, String redirect) throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing");
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "exec \"$@\" " + redirect, "jvmm",
                System.getProperty("jvmm.launcher", "../bin/jvmm"), "-nodefaults", "-display", "none",
                "-kernel", kernel.toString()));
        cmd.addAll(extra);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static String n(String reply) {
        if (reply == null) {
            return "<the connection ended>";
        }
        return reply.replaceAll("\"fd\": \\d+", "\"fd\": N");
    }

    /** The conversation: each command, the descriptors sent with it, the reply QEMU 7.2 gives (fd numbers as N). */
    private record Step(String command, String fds, String expected) {
    }

    private static final List<Step> CONVERSATION = List.of(
            new Step("{\"execute\":\"qmp_capabilities\"}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"fd1\"}}", "",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"No file descriptor supplied via SCM_RIGHTS\"}}"),
            new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"fd1\"}}", "ro", "{\"return\": {}}"),
            new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"1fd\"}}", "ro",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'fdname' expects a name not "
                            + "starting with a digit\"}}"),
            new Step("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd1\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd1\"}}", "",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"File descriptor named 'fd1' not found\"}}"),
            new Step("{\"execute\":\"add-fd\"}", "",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"No file descriptor supplied via SCM_RIGHTS\"}}"),
            new Step("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":-1}}", "ro",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'fdset-id' expects a non-negative "
                            + "value\"}}"),
            new Step("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3,\"opaque\":\"rdonly\"}}", "ro",
                    "{\"return\": {\"fd\": N, \"fdset-id\": 3}}"),
            new Step("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3}}", "rw",
                    "{\"return\": {\"fd\": N, \"fdset-id\": 3}}"),
            new Step("{\"execute\":\"add-fd\"}", "ro", "{\"return\": {\"fd\": N, \"fdset-id\": 0}}"),
            new Step("{\"execute\":\"add-fd\"}", "ro", "{\"return\": {\"fd\": N, \"fdset-id\": 1}}"),
            new Step("{\"execute\":\"query-fdsets\"}", "", "{\"return\": [{\"fds\": [{\"fd\": N, \"opaque\": \"rdonly\"}, "
                    + "{\"fd\": N}], \"fdset-id\": 3}, {\"fds\": [{\"fd\": N}], \"fdset-id\": 1}, {\"fds\": [{\"fd\": N}], "
                    + "\"fdset-id\": 0}]}"),
            new Step("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":\"d3\",\"file\":"
                    + "{\"driver\":\"file\",\"filename\":\"/dev/fdset/3\"}}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"f0\","
                    + "\"filename\":\"/dev/fdset/0\"}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    + "\"Could not dup FD for /dev/fdset/0 flags 2: Permission denied\"}}"),
            new Step("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"f9\","
                    + "\"filename\":\"/dev/fdset/9\"}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    + "\"Could not dup FD for /dev/fdset/9 flags 2: No such file or directory\"}}"),
            new Step("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"fx\","
                    + "\"filename\":\"/dev/fdset/x\"}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    + "\"Could not parse fdset /dev/fdset/x\"}}"),
            new Step("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":7}}", "", "{\"error\": {\"class\": "
                    + "\"GenericError\", \"desc\": \"File descriptor named 'fdset-id:7' not found\"}}"),
            new Step("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0,\"fd\":9999}}", "", "{\"error\": "
                    + "{\"class\": \"GenericError\", \"desc\": \"File descriptor named 'fdset-id:0, fd:9999' not found\"}}"),
            // Paused (-S): a removed descriptor stays until the machine runs.
            new Step("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":1}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"query-fdsets\"}", "", "{\"return\": [{\"fds\": [{\"fd\": N, \"opaque\": \"rdonly\"}, "
                    + "{\"fd\": N}], \"fdset-id\": 3}, {\"fds\": [{\"fd\": N}], \"fdset-id\": 1}, {\"fds\": [{\"fd\": N}], "
                    + "\"fdset-id\": 0}]}"),
            new Step("{\"execute\":\"cont\"}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0}}", "", "{\"return\": {}}"),
            // Set 3 has a duplicate in use by d3: its descriptors go, the set stays until d3 closes.
            new Step("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":3}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"query-fdsets\"}", "", "{\"return\": [{\"fds\": [], \"fdset-id\": 3}, "
                    + "{\"fds\": [{\"fd\": N}], \"fdset-id\": 1}]}"),
            new Step("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"d3\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"query-fdsets\"}", "", "{\"return\": [{\"fds\": [{\"fd\": N}], \"fdset-id\": 1}]}"),
            // a listening socket passed with getfd serves a chardev added at run time; removed, its file goes
            new Step("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"lfd\"}}", "listen", "{\"return\": {}}"),
            new Step("{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"c7\",\"backend\":{\"type\":\"socket\","
                    + "\"data\":{\"addr\":{\"type\":\"fd\",\"data\":{\"str\":\"lfd\"}}}}}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c7\"}}", "", "{\"return\": {}}"),
            // a chardev added at run time backs a virtio-serial port added later; the port holds it until unplugged
            new Step("{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"vsc\",\"backend\":{\"type\":\"null\","
                    + "\"data\":{}}}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtserialport\",\"chardev\":\"vsc\","
                    + "\"id\":\"vp1\",\"name\":\"p1\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtserialport\",\"chardev\":\"vsc\","
                    + "\"id\":\"vp2\"}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Property "
                    + "'virtserialport.chardev' can't take value 'vsc': Device 'vsc' is in use\"}}"),
            new Step("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"isa-serial\",\"chardev\":\"vsc\","
                    + "\"id\":\"s1\"}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Bus 'isa.0' "
                    + "does not support hotplugging\"}}"),
            new Step("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"vsc\"}}", "", "{\"error\": {\"class\": "
                    + "\"GenericError\", \"desc\": \"Chardev 'vsc' is busy\"}}"),
            // the port follows a new backend; one that cannot open leaves it as it was
            new Step("{\"execute\":\"chardev-change\",\"arguments\":{\"id\":\"vsc\",\"backend\":{\"type\":\"file\","
                    + "\"data\":{\"out\":\"/dev/null\"}}}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"chardev-change\",\"arguments\":{\"id\":\"vsc\",\"backend\":{\"type\":\"file\","
                    + "\"data\":{\"out\":\"/nonexistent/x\"}}}}", "", "{\"error\": {\"class\": \"GenericError\", "
                    + "\"desc\": \"Could not open '/nonexistent/x': No such file or directory\"}}"),
            new Step("{\"execute\":\"chardev-change\",\"arguments\":{\"id\":\"sc\",\"backend\":{\"type\":\"file\","
                    + "\"data\":{\"out\":\"/dev/null\"}}}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"chardev-change\",\"arguments\":{\"id\":\"dc\",\"backend\":{\"type\":\"null\","
                    + "\"data\":{}}}}", "", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Chardev user "
                    + "does not support chardev hotswap\"}}"),
            new Step("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"vp1\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"query-status\"}", "", "{\"return\": {\"status\": \"running\", \"singlestep\": "
                    + "false, \"running\": true}}"),
            new Step("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"vp1\"}}", "", "{\"error\": {\"class\": "
                    + "\"DeviceNotFound\", \"desc\": \"Device 'vp1' not found\"}}"),
            // QEMU lets the chardev go when the unplugged port is finalized, a moment after DEVICE_DELETED
            new Step("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"vsc\"}}", "until",
                    "{\"return\": {}}"),
            // objects added while the machine runs: the machine's RAM backend is in use, an added one is not
            new Step("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-ram\",\"id\":\"m0\","
                    + "\"size\":1073741824}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/m0\",\"property\":\"size\"}}", "",
                    "{\"return\": 1073741824}"),
            new Step("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"pc.ram\"}}", "", "{\"error\": {\"class\": "
                    + "\"GenericError\", \"desc\": \"object 'pc.ram' is in use, can not be deleted\"}}"),
            new Step("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"m0\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/m0\",\"property\":\"size\"}}", "",
                    "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device '/objects/m0' not found\"}}"),
            new Step("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"iothread\",\"id\":\"io1\"}}", "",
                    "{\"return\": {}}"),
            new Step("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/io1\",\"property\":\"poll-max-ns\"}}",
                    "", "{\"return\": 32768}"),
            new Step("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"io1\"}}", "", "{\"return\": {}}"),
            new Step("{\"execute\":\"quit\"}", "", "{\"return\": {}}"));

    /** Runs the conversation on a monitor socket; the replies with fd numbers as N. */
    private List<String> converse(Process p, Path sock, Path img) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(sock) && System.nanoTime() < end && p.isAlive()) {
            Thread.sleep(20);
        }
        int ro = FdClient.Sys.open(img.toString(), FdClient.O_CLOEXEC);
        int rw = FdClient.Sys.open(img.toString(), FdClient.O_RDWR | FdClient.O_CLOEXEC);
        Path lsock = img.resolveSibling("l.sock");
        int listen = QmpRuntimeResourcesSideBySideTest.listener(lsock);
        List<String> replies = new ArrayList<>();
        try (FdClient c = new FdClient(sock)) {
            assertTrue(c.reply().startsWith("{\"QMP\""));
            for (Step s : CONVERSATION) {
                int[] fds = switch (s.fds()) {
                    case "ro" -> new int[] {ro};
                    case "rw" -> new int[] {rw};
                    case "listen" -> new int[] {listen};
                    default -> new int[0];
                };
                String reply = n(c.exec(s.command(), fds));
                // "until": the step is asked again, for a bounded while, until it gets its answer
                for (int tries = 0; s.fds().equals("until") && !s.expected().equals(reply) && tries < 100; tries++) {
                    Thread.sleep(20);
                    reply = n(c.exec(s.command(), fds));
                }
                replies.add(reply);
            }
        } finally {
            UnixMessages.closeFd(ro);
            UnixMessages.closeFd(rw);
            UnixMessages.closeFd(listen);
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "quit did not end the process");
        assertFalse(Files.exists(lsock), "a removed chardev's listening socket file is gone");
        return replies;
    }

    @Test
    void getfdAddFdAndFdSetPathsAnswerAsQemu() throws Exception {
        Path img = dir.resolve("d.raw");
        Files.write(img, new byte[1 << 20]);
        List<String> expected = CONVERSATION.stream().map(Step::expected).toList();
        Path sock = dir.resolve("j.sock");
        Process p = start(List.of("-S", "-append", "action=idle", "-device", "virtio-serial-pci,id=vs", "-chardev",
                "null,id=dc", "-device", "isa-debugcon,chardev=dc", "-chardev", "null,id=sc", "-device",
                "isa-serial,chardev=sc", "-qmp",
                "unix:" + sock + ",server=on,wait=off"), "");
        try {
            assertEquals(expected, converse(p, sock, img));
        } finally {
            p.destroyForcibly();
        }
        String qemu = qemu();
        if (qemu != null) {
            Path qsock = dir.resolve("q.sock");
            Process q = new ProcessBuilder(qemu, "-enable-kvm", "-S", "-nodefaults", "-display", "none", "-kernel",
                    kernel().toString(), "-append", "action=idle", "-device", "virtio-serial-pci,id=vs",
                    "-chardev", "null,id=dc", "-device", "isa-debugcon,chardev=dc", "-chardev", "null,id=sc", "-device",
                "isa-serial,chardev=sc", "-qmp",
                    "unix:" + qsock + ",server=on,wait=off")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                assertEquals(expected, converse(q, qsock, img), "QEMU 7.2 answers differently now");
            } finally {
                q.destroyForcibly();
            }
        }
    }

    private static Path kernel() {
        return Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
    }

    private static String qemu() {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, "qemu-system-x86_64"))) {
                return Path.of(d, "qemu-system-x86_64").toString();
            }
        }
        return null;
    }

    /**
     * Two commands in one message with the descriptor, then the client's sending side shut down: QEMU keeps the
     * descriptor for the command that takes one (add-fd, not qmp_capabilities) and answers both before closing.
     */
    @Test
    void aDescriptorWaitsForTheCommandThatTakesItEvenFromAHalfClosedClient() throws Exception {
        Path sock = dir.resolve("h.sock");
        Path img = dir.resolve("d.raw");
        Files.write(img, new byte[4096]);
        Process p = start(List.of("-S", "-append", "action=idle", "-qmp", "unix:" + sock + ",server=on,wait=off"),
                "");
        int ro = -1;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(sock) && System.nanoTime() < end && p.isAlive()) {
                Thread.sleep(20);
            }
            ro = FdClient.Sys.open(img.toString(), FdClient.O_CLOEXEC);
            try (FdClient c = new FdClient(sock)) {
                assertTrue(c.reply().startsWith("{\"QMP\""));
                c.send("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"add-fd\",\"arguments\":"
                        + "{\"fdset-id\":1}}", ro);
                c.shutdownOutput();
                assertEquals("{\"return\": {}}", c.reply());
                assertEquals("{\"return\": {\"fd\": N, \"fdset-id\": 1}}", n(c.reply()));
            }
            try (FdClient c = new FdClient(sock)) {
                assertTrue(c.reply().startsWith("{\"QMP\""));
                assertEquals("{\"return\": {}}", c.exec("{\"execute\":\"qmp_capabilities\"}"));
                assertEquals("{\"return\": [{\"fds\": [{\"fd\": N}], \"fdset-id\": 1}]}",
                        n(c.exec("{\"execute\":\"query-fdsets\"}")), "paused: the set outlives the client");
            }
        } finally {
            UnixMessages.closeFd(ro);
            p.destroyForcibly();
        }
    }

    @Test
    void addFdOnTheCommandLineBacksADriveTheGuestWritesAndReads() throws Exception {
        Path img = dir.resolve("d.raw");
        Files.write(img, new byte[16 << 20]);
        Process p = start(List.of("-append", "action=blk", "-serial", "stdio", "-add-fd", "fd=3,set=4,opaque=disk",
                "-drive", "file=/dev/fdset/4,format=raw,if=none,id=d0", "-device",
                "virtio-blk-pci,drive=d0,serial=jvmm-disk-0", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"),
                "3<>" + img);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the guest did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("blk: read back ok") && out.contains("blk: ok"), out);
        assertEquals(33, p.exitValue(), out);
    }

    /** A file chardev on an fd set writes through the manager's descriptor (here opened O_APPEND). */
    @Test
    void aSerialFileChardevWritesThroughTheDescriptorOfItsSet() throws Exception {
        Path log = dir.resolve("serial.log");
        Files.writeString(log, "before\n");
        Process p = start(List.of("-append", "action=panic-exit", "-add-fd", "fd=3,set=5", "-chardev",
                "file,id=c0,path=/dev/fdset/5", "-serial", "chardev:c0", "-device",
                "isa-debug-exit,iobase=0xf4,iosize=4"), "3>>" + log);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the guest did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(15, p.exitValue(), out);
        String written = Files.readString(log);
        assertTrue(written.startsWith("before\njvmm-tiny: boot=pvh") && written.contains("jvmm-tiny: exit 7"), written);
    }

    @Test
    void fdSetPathsThatCannotOpenFailAsInQemu() throws Exception {
        Process p = start(List.of("-chardev", "file,id=c0,path=/dev/fdset/x"), "");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("jvmm: -chardev file,id=c0,path=/dev/fdset/x: Could not open '/dev/fdset/x': "
                + "Invalid argument"), out);
        Path img = dir.resolve("ro.raw");
        Files.write(img, new byte[4096]);
        p = start(List.of("-add-fd", "fd=3,set=5", "-chardev", "file,id=c0,path=/dev/fdset/5"), "3<" + img);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("jvmm: -chardev file,id=c0,path=/dev/fdset/5: Could not open '/dev/fdset/5': "
                + "Permission denied"), out);
        assertEquals(1, p.exitValue());
    }

    @Test
    void aDriveOnAMissingFdSetFailsAsInQemu() throws Exception {
        Process p = start(List.of("-drive", "file=/dev/fdset/7,format=raw,if=none"), "");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("jvmm: -drive file=/dev/fdset/7,format=raw,if=none: Could not dup FD for "
                + "/dev/fdset/7 flags 2: No such file or directory"), out);
        assertEquals(1, p.exitValue());
    }
}
