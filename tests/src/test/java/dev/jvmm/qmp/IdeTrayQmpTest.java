package dev.jvmm.qmp;

import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CD-ROM tray conversation: the tiny guest's `action=cd-tray` (tests/guest/src/ide.c) polls GET EVENT
 * STATUS NOTIFICATION and TEST UNIT READY, locks and ejects the tray itself, and prints a cue line before
 * each host step; the host answers each cue with QMP tray and medium commands (eject with and without
 * force on a locked tray, blockdev-open-tray, blockdev-close-tray, blockdev-change-medium,
 * blockdev-remove-medium, blockdev-insert-medium) and query-block. QEMU's transcript must equal the one
 * recorded in tests/reference/ide (the oracle); jvmm's serial lines, DEVICE_TRAY_MOVED events
 * {device, id, tray-open} and replies (query-block reduced to removable, locked, tray_open and the medium)
 * must equal QEMU's. `-Djvmm.recordReference=true` rewrites the reference files from QEMU instead.
 */
class IdeTrayQmpTest {
    private static final int[] SIZES = {3 << 20, 1 << 20, 512 << 10};
    private static final int[] SEEDS = {7, 11, 13};

    @TempDir
    Path dir;

    /** Everything seen, in the order read; each entry prefixed with its kind. */
    record Transcript(List<String> lines, int status) {
        List<String> only(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).toList();
        }
    }

    /** "id": ide-cd with -device id=cd0; "cdrom": -cdrom, addressed as QEMU's default drive ide1-cd0. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"id", "cdrom"})
    void trayConversation(String variant) throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        Path refFile = Path.of(System.getProperty("jvmm.root", "..")).resolve("tests/reference/ide")
                .resolve("cd-tray-" + variant + ".txt");
        Transcript q = run("qemu-system-x86_64", variant, "q");
        if (Boolean.getBoolean("jvmm.recordReference")) {
            Files.writeString(refFile, String.join("\n", q.lines()) + "\nexit: " + q.status() + "\n");
        }
        List<String> ref = new ArrayList<>(Files.readAllLines(refFile));
        assertEquals(ref, withStatus(q), "QEMU's transcript differs from " + refFile);
        assertEquals(33, q.status());
        Assumptions.assumeFalse(Boolean.getBoolean("jvmm.qemuOnly"), "jvmm half skipped: -Djvmm.qemuOnly=true");
        Transcript j = run(System.getProperty("jvmm.launcher", "../bin/jvmm"), variant, "j");
        String hint = hint(j);
        assertEquals(q.only("serial: "), j.only("serial: "), "serial output" + hint);
        assertEquals(unnumbered(q.only("event: ")), unnumbered(j.only("event: ")), "DEVICE_TRAY_MOVED events" + hint);
        assertEquals(unnumbered(q.only("<- ")), unnumbered(j.only("<- ")), "QMP replies" + hint);
        assertEquals(q.status(), j.status(), "exit status" + hint);
    }

    private static List<String> withStatus(Transcript t) {
        List<String> l = new ArrayList<>(t.lines());
        l.add("exit: " + t.status());
        return l;
    }

    /** QEMU names a device without an id by its QOM path; only its shape is compared, not the counter. */
    private static List<String> unnumbered(List<String> l) {
        return l.stream().map(s -> s.replaceAll("/machine/unattached/device\\[\\d+\\]", "/machine/unattached/device[N]"))
                .toList();
    }

    private static String hint(Transcript j) {
        String serial = String.join("\n", j.only("serial: "));
        if (serial.contains("no PIIX3 IDE function")) {
            return " (jvmm exposes no PIIX3 IDE function yet: IDE not wired into PcMachine?)";
        }
        if (serial.contains("no ATAPI device")) {
            return " (jvmm's IDE shows no CD-ROM: -cdrom / ide-cd not attached yet?)";
        }
        return "";
    }

    private Path cdImage(String name, int i) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(SIZES[i]).order(ByteOrder.LITTLE_ENDIAN);
        for (int o = 0; o < SIZES[i]; o += 4) {
            b.putInt(o * 0x9e3779b1 + 0x6a766d6d + SEEDS[i]);   // the guest's pattern (BlkGuest)
        }
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    /** One QMP command; appends "-> cmd", then "event: ..." for each event before the reply and "<- reply". */
    private void exchange(QmpClient c, String cmd, List<String> out) throws IOException {
        out.add("-> " + cmd.replace(dir.toString() + "/", ""));
        c.send(cmd);
        for (String l = c.readLine(10_000); ; l = c.readLine(10_000)) {
            if (l == null) {
                out.add("<- (no reply)");
                return;
            }
            Object m = QmpClient.parse(l);
            if (!(m instanceof Map<?, ?> msg)) {
                out.add("<- " + l);
                return;
            }
            if (msg.containsKey("event")) {
                out.add("event: " + event(msg));
                continue;
            }
            out.add("<- " + reply(msg));
            return;
        }
    }

    private static String event(Map<?, ?> msg) {
        if (!"DEVICE_TRAY_MOVED".equals(msg.get("event"))) {
            return String.valueOf(msg.get("event"));
        }
        Map<?, ?> d = (Map<?, ?>) msg.get("data");
        return "DEVICE_TRAY_MOVED device=" + d.get("device") + " id=" + d.get("id") + " tray-open=" + d.get("tray-open");
    }

    /** Replies as QEMU gives them; query-block reduced to what the tray changes. */
    private String reply(Map<?, ?> msg) {
        if (msg.containsKey("error")) {
            Map<?, ?> e = (Map<?, ?>) msg.get("error");
            return "error " + e.get("class") + ": " + e.get("desc");
        }
        Object r = msg.get("return");
        if (!(r instanceof List<?> devices)) {
            return "return " + (r instanceof Map<?, ?> m && m.isEmpty() ? "{}" : String.valueOf(r));
        }
        StringBuilder sb = new StringBuilder("return");
        for (Object o : devices) {
            Map<?, ?> d = (Map<?, ?>) o;
            sb.append(" [device=").append(d.get("device")).append(" qdev=").append(d.get("qdev"))
                    .append(" removable=").append(d.get("removable")).append(" locked=").append(d.get("locked"))
                    .append(" tray_open=").append(d.get("tray_open"));
            if (d.get("inserted") instanceof Map<?, ?> ins) {
                String file = String.valueOf(ins.get("file")).replace(dir.toString() + "/", "");
                sb.append(" inserted=").append(file).append(" ro=").append(ins.get("ro")).append(" drv=")
                        .append(ins.get("drv"));
            } else {
                sb.append(" inserted=none");
            }
            sb.append(" io-status=").append(d.get("io-status")).append(']');
        }
        return sb.toString();
    }

    private Transcript run(String program, String variant, String tag) throws Exception {
        Path kernel = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(kernel), "guest not built");
        Path iso1 = cdImage("cd1.iso", 0);
        Path iso2 = cdImage("cd2.iso", 1);
        Path iso3 = cdImage("cd3.iso", 2);
        Path sock = dir.resolve(tag + ".sock");
        List<String> cmd = new ArrayList<>(List.of(program, "-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults",
                "-display", "none", "-m", "128", "-serial", "stdio", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel.toString(),
                "-append", "action=cd-tray", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        String target;
        if (variant.equals("id")) {
            cmd.addAll(List.of("-drive", "if=none,id=cdd,file=" + iso1 + ",format=raw,media=cdrom",
                    "-device", "ide-cd,drive=cdd,bus=ide.1,unit=0,id=cd0"));
            target = "\"id\":\"cd0\"";
        } else {
            cmd.addAll(List.of("-cdrom", iso1.toString()));
            target = "\"device\":\"ide1-cd0\"";
        }
        Path stderr = dir.resolve(tag + ".stderr");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
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
        List<String> out = new ArrayList<>();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && p.isAlive() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            try (QmpClient c = QmpClient.negotiated(sock)) {
                // The drive's qdev (an id, or QEMU's QOM path for -cdrom) is what the medium commands take as "id".
                exchange(c, "{\"execute\":\"query-block\"}", out);
                String qdev = out.get(out.size() - 1).replaceAll(".*qdev=(\\S+) .*", "$1");
                String byId = "\"id\":\"" + qdev + "\"";
                end = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < end && p.isAlive()) {
                    String l = lines.poll(50, TimeUnit.MILLISECONDS);
                    if (l == null) {
                        continue;
                    }
                    out.add("serial: " + l);
                    for (String step : steps(l, target, byId, iso2, iso3)) {
                        exchange(c, step, out);
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
            reader.join(2000);
            String l;
            while ((l = lines.poll()) != null) {
                out.add("serial: " + l);
            }
        }
        assertTrue(out.stream().anyMatch(l -> l.startsWith("serial: ")),
                program + " printed nothing; stderr: " + Files.readString(stderr));
        return new Transcript(out, p.exitValue());
    }

    /** The host's answer to each cue line of the guest. */
    private static List<String> steps(String line, String target, String byId, Path iso2, Path iso3) {
        String qb = "{\"execute\":\"query-block\"}";
        return switch (line) {
            case "cd-tray: wait eject" -> List.of("{\"execute\":\"eject\",\"arguments\":{" + target + "}}");
            case "cd-tray: wait close" -> List.of("{\"execute\":\"blockdev-close-tray\",\"arguments\":{" + target + "}}");
            case "cd-tray: wait change" -> List.of("{\"execute\":\"blockdev-change-medium\",\"arguments\":{" + target
                    + ",\"filename\":\"" + iso2 + "\",\"format\":\"raw\"}}");
            case "cd-tray: wait locked eject" -> List.of(qb, "{\"execute\":\"eject\",\"arguments\":{" + target + "}}");
            case "cd-tray: wait guest load" -> List.of(qb);
            case "cd-tray: wait open locked" -> List.of(
                    "{\"execute\":\"blockdev-open-tray\",\"arguments\":{" + target + "}}");
            case "cd-tray: wait force eject" -> List.of(
                    "{\"execute\":\"eject\",\"arguments\":{" + target + ",\"force\":true}}", qb);
            case "cd-tray: wait insert" -> List.of(
                    "{\"execute\":\"blockdev-remove-medium\",\"arguments\":{" + byId + "}}",
                    "{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"cd3\",\"driver\":\"raw\","
                            + "\"read-only\":true,\"file\":{\"driver\":\"file\",\"filename\":\"" + iso3 + "\"}}}",
                    "{\"execute\":\"blockdev-insert-medium\",\"arguments\":{" + byId + ",\"node-name\":\"cd3\"}}",
                    qb,
                    "{\"execute\":\"blockdev-close-tray\",\"arguments\":{" + target + "}}", qb);
            default -> List.of();
        };
    }
}
