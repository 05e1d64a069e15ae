package dev.jvmm.devices.ide;

import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.Reader;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same tray conversation with QEMU 7.2 (qtest for the guest's packet commands, QMP for the host's tray
 * commands) and with our AtapiCdrom under the block graph's medium commands: the guest-visible replies, the QMP
 * outcomes (GenericError texts) and the DEVICE_TRAY_MOVED events must be the same, in the same order.
 */
class TrayQmpComparisonTest {
    static final String ID = "mycd";
    static final int CD1 = 300;
    static final int CD2 = 100;

    /** One step: a guest packet command (cdb) or a host command. */
    record Step(int[] cdb, String qmp, String qmpArgs) {
        static Step guest(int... cdb) {
            return new Step(cdb, null, null);
        }

        static Step host(String cmd, String args) {
            return new Step(null, cmd, args);
        }
    }

    static final int[] GESN = {AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8};
    static final int[] TUR = {AtapiCdrom.TEST_UNIT_READY};
    static final int[] SENSE = {AtapiCdrom.REQUEST_SENSE, 0, 0, 0, 18};
    static final int[] CAPACITY = {AtapiCdrom.READ_CAPACITY};

    static List<Step> steps() {
        String id = "\"id\": \"" + ID + "\"";
        return List.of(
                Step.guest(AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1),
                Step.host("eject", id),
                Step.guest(GESN), Step.guest(GESN),
                Step.host("blockdev-open-tray", id),
                Step.guest(GESN),
                Step.host("blockdev-open-tray", id + ", \"force\": true"),
                Step.guest(GESN), Step.guest(TUR), Step.guest(SENSE),
                Step.host("blockdev-remove-medium", id),
                Step.host("blockdev-remove-medium", id),
                Step.host("blockdev-insert-medium", id + ", \"node-name\": \"cd2\""),
                Step.host("blockdev-insert-medium", id + ", \"node-name\": \"cd2\""),
                Step.host("blockdev-close-tray", id),
                Step.host("blockdev-close-tray", id),
                Step.host("blockdev-remove-medium", id),
                Step.guest(GESN), Step.guest(TUR), Step.guest(TUR), Step.guest(TUR), Step.guest(SENSE),
                Step.guest(TUR), Step.guest(CAPACITY),
                Step.host("eject", id),
                Step.host("blockdev-close-tray", id),
                Step.guest(GESN), Step.guest(TUR), Step.guest(SENSE),
                Step.guest(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 2),
                Step.guest(GESN),
                Step.guest(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 3),
                Step.guest(TUR));
    }

    interface Side {
        String guest(int[] cdb) throws Exception;

        String host(String cmd, String args) throws Exception;

        /** Tray events since the last call, as "tray-open=true". */
        List<String> events() throws Exception;
    }

    static List<String> run(Side side) throws Exception {
        List<String> out = new ArrayList<>();
        for (Step s : steps()) {
            out.add(s.cdb != null ? "guest " + Integer.toHexString(s.cdb[0]) + ": " + side.guest(s.cdb)
                    : "host " + s.qmp + ": " + side.host(s.qmp, s.qmpArgs));
            out.addAll(side.events());
        }
        return out;
    }

    /** A PIO packet command on the secondary master: data and the task file afterwards. */
    static String packet(IoPort p, int[] cdb) throws Exception {
        p.out(0x176, 0xa0);
        p.out(0x171, 0);
        p.out(0x174, 0xfe);
        p.out(0x175, 0xff);
        p.out(0x177, 0xa0);
        int[] c = java.util.Arrays.copyOf(cdb, 12);
        for (int i = 0; i < 12; i += 2) {
            p.outw(0x170, c[i] | c[i + 1] << 8);
        }
        p.settle();
        StringBuilder sb = new StringBuilder();
        while ((p.in(0x376) & IdeDevice.STATUS_DRQ) != 0) {
            int n = p.in(0x174) | p.in(0x175) << 8;
            for (int i = 0; i < (n + 1) / 2; i++) {
                int w = p.inw(0x170);
                sb.append(String.format("%02x%02x", w & 0xff, w >>> 8));
            }
        }
        sb.append(" regs");
        for (int r = 1; r <= 7; r++) {
            sb.append(' ').append(Integer.toHexString(p.in(0x170 + r)));
        }
        return sb.toString();
    }

    interface IoPort {
        int in(int port) throws Exception;

        int inw(int port) throws Exception;

        void out(int port, int v) throws Exception;

        void outw(int port, int v) throws Exception;

        default void settle() throws Exception {
        }
    }

    /** jvmm's side: the AtapiCdrom on a drive of a real block graph, the host commands run by the graph. */
    static final class Ours implements Side, IoPort {
        final CdromRig rig;
        final IdeGuest g;

        Ours(Path iso1, Path iso2) {
            rig = new CdromRig("file=" + iso1 + ",if=none,id=cd0,format=raw,readonly=on",
                    "driver=raw,node-name=cd2,read-only=on,file.driver=file,file.filename=" + iso2);
            g = rig.g;
        }

        @Override
        public String guest(int[] cdb) throws Exception {
            return packet(this, cdb);
        }

        @Override
        public String host(String cmd, String args) {
            String r = rig.host(cmd, args.contains("\"force\": true"), "cd2");
            // the QEMU side keeps only the fact of an insert-medium error
            return cmd.equals("blockdev-insert-medium") && r.startsWith("error") ? "error" : r;
        }

        @Override
        public List<String> events() {
            return rig.events();
        }

        @Override
        public int in(int port) {
            return g.in(port);
        }

        @Override
        public int inw(int port) {
            return g.inw(port);
        }

        @Override
        public void out(int port, int v) {
            g.out(port, v);
        }

        @Override
        public void outw(int port, int v) {
            g.outw(port, v);
        }
    }

    static final class Qemu implements Side, IoPort {
        private static final Pattern DESC = Pattern.compile("\"desc\": \"([^\"]*)\"");
        private static final Pattern TRAY = Pattern.compile("\"tray-open\": (true|false)");
        final Qtest q;
        final BufferedReader qmpIn;
        final Writer qmpOut;
        final List<String> events = new ArrayList<>();

        Qemu(Qtest q, SocketChannel ch) throws IOException {
            this.q = q;
            Reader r = Channels.newReader(ch, StandardCharsets.UTF_8);
            qmpIn = new BufferedReader(r);
            qmpOut = Channels.newWriter(ch, StandardCharsets.UTF_8);
            qmpIn.readLine(); // greeting
            qmp("qmp_capabilities", "");
        }

        String qmp(String cmd, String args) throws IOException {
            qmpOut.write("{\"execute\": \"" + cmd + "\", \"arguments\": {" + args + "}}\n");
            qmpOut.flush();
            while (true) {
                String line = qmpIn.readLine();
                if (line == null) {
                    throw new IOException("QMP closed");
                }
                if (line.contains("\"event\"")) {
                    Matcher m = TRAY.matcher(line);
                    if (line.contains("DEVICE_TRAY_MOVED") && m.find()) {
                        events.add("DEVICE_TRAY_MOVED tray-open=" + m.group(1));
                    }
                    continue;
                }
                if (line.contains("\"error\"")) {
                    Matcher m = DESC.matcher(line);
                    return cmd.equals("blockdev-insert-medium") ? "error" : "error: " + (m.find() ? m.group(1) : line);
                }
                return "ok";
            }
        }

        @Override
        public String guest(int[] cdb) throws Exception {
            return packet(this, cdb);
        }

        @Override
        public String host(String cmd, String args) throws IOException {
            return qmp(cmd, args);
        }

        @Override
        public List<String> events() throws IOException {
            qmp("query-status", ""); // events of guest commands arrive before this reply
            List<String> l = new ArrayList<>(events);
            events.clear();
            return l;
        }

        @Override
        public int in(int port) throws IOException {
            return (int) (long) Long.decode(q.command("inb 0x" + Integer.toHexString(port)));
        }

        @Override
        public int inw(int port) throws IOException {
            return (int) (long) Long.decode(q.command("inw 0x" + Integer.toHexString(port)));
        }

        @Override
        public void out(int port, int v) throws IOException {
            q.command("outb 0x" + Integer.toHexString(port) + " 0x" + Integer.toHexString(v));
        }

        @Override
        public void outw(int port, int v) throws IOException {
            q.command("outw 0x" + Integer.toHexString(port) + " 0x" + Integer.toHexString(v));
        }

        @Override
        public void settle() throws InterruptedException {
            Thread.sleep(20); // QEMU reads the medium asynchronously
        }
    }

    static void image(Path p, int blocks, int seed) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            byte[] b = new byte[blocks * 2048];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (i * seed + (i >> 11));
            }
            f.write(b);
        }
    }

    @Test
    void trayConversationMatchesQemu(@TempDir Path dir) throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        Path iso1 = dir.resolve("cd1.iso");
        Path iso2 = dir.resolve("cd2.iso");
        image(iso1, CD1, 3);
        image(iso2, CD2, 5);
        Path sock = dir.resolve("qmp.sock");
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128",
                "-drive", "file=" + iso1 + ",if=none,id=cd0,format=raw,readonly=on",
                "-device", "ide-cd,drive=cd0,id=" + ID + ",bus=ide.1,unit=0",
                "-blockdev", "driver=raw,node-name=cd2,read-only=on,file.driver=file,file.filename=" + iso2,
                "-qmp", "unix:" + sock + ",server=on,wait=off")) {
            q.command("endianness"); // QEMU is up once qtest answers
            for (int i = 0; i < 100 && !Files.exists(sock); i++) {
                Thread.sleep(20);
            }
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(sock));
                qemu = run(new Qemu(q, ch));
            }
        }
        Ours ours = new Ours(iso1, iso2);
        List<String> mine;
        try {
            mine = run(ours);
        } finally {
            ours.rig.close();
        }
        assertEquals(String.join("\n", qemu), String.join("\n", mine));
    }


}
