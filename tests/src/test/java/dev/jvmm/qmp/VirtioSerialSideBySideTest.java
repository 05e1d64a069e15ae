package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-serial end to end, QEMU 7.2 and jvmm with the same command line: the tiny guest (action=vserial*)
 * does the MULTIPORT handshake, opens its ports, greets each host-open one and echoes data until "bye\n";
 * the host side is a unix socket (server, and client with reconnect=), a file, null, a pty. The guest's
 * serial output (every control message, in order), the VSERPORT_CHANGE events and the data must match.
 */
class VirtioSerialSideBySideTest {
    private static final Pattern PTY = Pattern.compile("char device redirected to (/dev/pts/\\d+) \\(label (\\w+)\\)");

    @TempDir
    Path dir;

    private final List<java.io.Closeable> toClose = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void closeHostEnds() throws IOException {
        for (java.io.Closeable c : toClose) {
            c.close();
        }
    }

    /** One VMM's run: what the guest printed, the VSERPORT_CHANGE events, and what the host side saw. */
    private record Run(GuestVm.Result result, List<Map<String, Object>> portEvents, byte[] hostData) {
    }

    /** What the host side of a run does once the VMM is up (stopped) and until the guest ends. */
    private interface Host {
        /** Called with the VMM stopped; returns what to do after cont (may be null). */
        Session prepare(GuestVm vm, Path runDir) throws Exception;
    }

    private interface Session {
        byte[] talk() throws Exception;
    }

    private Run run(String program, String append, List<String> extra, Host host) throws Exception {
        Path kernel = GuestVm.assumeReady();
        Path runDir = Files.createDirectories(dir.resolve(program.contains("qemu") ? "qemu" : "jvmm"));
        List<String> args = new ArrayList<>();
        for (String a : extra) {
            args.add(a.replace("@DIR@", runDir.toString()));
        }
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, append, args), runDir.resolve("q.sock"))) {
            Session s = host == null ? null : host.prepare(vm, runDir);
            vm.cont();
            byte[] data = s == null ? new byte[0] : s.talk();
            GuestVm.Result r = withoutPtyLine(vm.finish(60_000));
            List<Map<String, Object>> ev = r.events().stream()
                    .filter(e -> "VSERPORT_CHANGE".equals(e.get("event"))).toList();
            return new Run(r, ev, data);
        }
    }

    /** QEMU announces a pty on stdout, where the guest's serial output also goes; that line is left out. */
    private static GuestVm.Result withoutPtyLine(GuestVm.Result r) {
        List<String> serial = r.serial().stream().filter(l -> !PTY.matcher(l).find()).toList();
        return new GuestVm.Result(r.status(), serial, r.events(), r.replies(), r.stderr());
    }

    /** Runs QEMU then jvmm and checks they agree; returns both. */
    private Run[] both(String append, List<String> extra, Host host) throws Exception {
        Run q = run(GuestVm.QEMU, append, extra, host);
        assertEquals(33, q.result().status(), "QEMU run: " + q.result());
        Run j = run(GuestVm.jvmm(), append, extra, host);
        assertEquals(q.result().serial(), j.result().serial(), "guest output differs; jvmm stderr: "
                + j.result().stderr());
        assertEquals(q.result().status(), j.result().status());
        assertEquals(q.portEvents(), j.portEvents(), "VSERPORT_CHANGE events differ");
        assertArrayEquals(q.hostData(), j.hostData(), "host side data differs");
        return new Run[] {q, j};
    }

    private static List<String> controller(String... ports) {
        List<String> l = new ArrayList<>(List.of("-device", "virtio-serial-pci,id=vs"));
        for (String p : ports) {
            l.add("-device");
            l.add(p);
        }
        return l;
    }

    private static List<String> with(List<String> head, List<String> tail) {
        List<String> l = new ArrayList<>(head);
        l.addAll(tail);
        return l;
    }

    @Test
    void fileNullConsoleAndPortWithoutChardev() throws Exception {
        List<String> extra = with(List.of("-chardev", "file,id=f,path=@DIR@/out.txt", "-chardev", "null,id=n"),
                controller("virtserialport,id=p1,chardev=f,name=org.test.file", "virtconsole,id=con,chardev=n",
                        "virtserialport,id=p2,name=nochardev", "virtserialport,name=anonymous"));
        Run[] r = both("action=vserial linger=1500", extra, (vm, d) -> () -> new byte[0]);
        assertTrue(r[1].result().serial().contains("vserial: ctrl port=1 PORT_NAME value=1 name=org.test.file"));
        assertEquals("hello from port 1\n", Files.readString(dir.resolve("jvmm/out.txt")));
        assertEquals(Files.readString(dir.resolve("qemu/out.txt")), Files.readString(dir.resolve("jvmm/out.txt")));
        // each port with an id opens then closes; the anonymous one reports nothing
        assertEquals(6, r[1].portEvents().size(), "events: " + r[1].portEvents());
    }

    @Test
    void emergencyWriteReachesTheConsole() throws Exception {
        // the console greets through its queue ("hello from port 0"), then writes "!\n" through emerg_wr
        List<String> extra = with(List.of("-chardev", "file,id=c,path=@DIR@/console.txt"),
                controller("virtconsole,id=con,chardev=c"));
        both("action=vserial emerg=1 linger=1500", extra, (vm, d) -> () -> new byte[0]);
        String q = Files.readString(dir.resolve("qemu/console.txt"));
        assertEquals("hello from port 0\n!\n", q);
        assertEquals(q, Files.readString(dir.resolve("jvmm/console.txt")));
    }

    @Test
    void queryChardevShowsPortsAsQemuDoes() throws Exception {
        // a console's frontend is open from the start, a serial port's only once the guest opens it; a chardev
        // no device uses has none
        Path kernel = GuestVm.assumeReady();
        List<String> extra = with(List.of("-chardev", "null,id=port", "-chardev", "null,id=con", "-chardev",
                "null,id=spare"),
                controller("virtserialport,id=p1,chardev=port", "virtconsole,id=c0,chardev=con"));
        List<Object> seen = new ArrayList<>();
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            Path d = Files.createDirectories(dir.resolve("qc-" + seen.size()));
            try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, "action=vserial", extra),
                    d.resolve("q.sock"))) {
                Object reply = vm.command("{\"execute\":\"query-chardev\"}");
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> list =
                        (List<Map<String, Object>>) ((Map<String, Object>) reply).get("return");
                seen.add(list.stream().filter(c -> !String.valueOf(c.get("label")).startsWith("compat_monitor"))
                        .sorted(java.util.Comparator.comparing(c -> String.valueOf(c.get("label")))).toList());
            }
        }
        assertEquals(seen.get(0), seen.get(1));
        assertEquals(4, ((List<?>) seen.get(1)).size(), "con, port, serial0 and spare: " + seen.get(1));
    }

    /** The host connects to the VMM's listening socket before the guest runs and talks through it. */
    private Host socketClientOfServer(byte[] send) {
        return (vm, d) -> {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            toClose.add(ch);
            ch.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
            return () -> echoConversation(ch, send);
        };
    }

    /** Reads the greeting, sends data ending with "bye\n", reads the echo; returns greeting + echo. */
    private static byte[] echoConversation(SocketChannel ch, byte[] send) throws IOException {
        return conversation(ch, send, 0);
    }

    /**
     * The channel's own read and write, from two threads (Channels' streams on one SocketChannel would
     * serialise them and deadlock). sipPauseMs > 0 reads in small sips after a long pause (a slow reader).
     */
    private static byte[] conversation(SocketChannel ch, byte[] send, int sipPauseMs) throws IOException {
        // the channel stays open (closed after the run): a host leaving early is a PORT_OPEN 0 the guest prints
        try {
            ByteBuffer hello = ByteBuffer.allocate(18);
            while (hello.hasRemaining() && ch.read(hello) >= 0) {
                // the greeting first
            }
            Thread writer = new Thread(() -> {
                try {
                    ByteBuffer b = ByteBuffer.wrap(send);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                } catch (IOException e) {
                    // the reader's length check reports it
                }
            });
            writer.start();
            ByteBuffer got = ByteBuffer.allocate(send.length);
            if (sipPauseMs > 0) {
                Thread.sleep(1500); // nothing read at first: everything backs up to the guest and beyond
                got.limit(0);
            }
            while (got.position() < send.length) {
                if (sipPauseMs > 0) {
                    got.limit(Math.min(send.length, got.position() + 8192));
                    Thread.sleep(sipPauseMs);
                }
                if (ch.read(got) < 0) {
                    break;
                }
            }
            writer.join(30_000);
            return with2(Arrays.copyOf(hello.array(), hello.position()), Arrays.copyOf(got.array(), got.position()));
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }

    private static byte[] lines(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append("line ").append(i).append(" of the echo test\n");
        }
        return b.append("bye\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void socketServerEcho() throws Exception {
        byte[] send = lines(200);
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/s1.sock,server=on,wait=off"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run[] r = both("action=vserial echo=1 linger=1500", extra, socketClientOfServer(send));
        byte[] expect = with2("hello from port 1\n".getBytes(StandardCharsets.US_ASCII), send);
        assertArrayEquals(expect, r[1].hostData());
        assertTrue(r[1].result().serial().contains("vserial: port 1 echoed " + send.length + " bytes"));
    }

    private static byte[] with2(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void twoPortsEchoAtOnce() throws Exception {
        byte[] a = lines(300);
        byte[] b = new String(lines(150), StandardCharsets.US_ASCII).toUpperCase().replace("BYE", "bye")
                .getBytes(StandardCharsets.US_ASCII);
        Host host = (vm, d) -> {
            SocketChannel c1 = SocketChannel.open(StandardProtocolFamily.UNIX);
            c1.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
            SocketChannel c2 = SocketChannel.open(StandardProtocolFamily.UNIX);
            c2.connect(UnixDomainSocketAddress.of(d.resolve("s2.sock")));
            toClose.add(c1);
            toClose.add(c2);
            return () -> {
                AtomicReference<byte[]> second = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        second.set(conversation(c2, b, 0));
                    } catch (IOException e) {
                        second.set(new byte[0]);
                    }
                });
                t.start();
                byte[] first = conversation(c1, a, 0);
                t.join(60_000);
                return with2(first, second.get());
            };
        };
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/s1.sock,server=on,wait=off",
                "-chardev", "socket,id=s2,path=@DIR@/s2.sock,server=on,wait=off", "-chardev", "null,id=n"),
                controller("virtconsole,id=con,chardev=n,name=console", "virtserialport,id=p1,chardev=s1,name=one",
                        "virtserialport,id=p2,chardev=s2,name=two,nr=4"));
        Run[] r = both("action=vserial echo=14 linger=1500", extra, host);
        byte[] hello1 = "hello from port 1\n".getBytes(StandardCharsets.US_ASCII);
        byte[] hello4 = "hello from port 4\n".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(with2(with2(hello1, a), with2(hello4, b)), r[1].hostData());
    }

    /** Sends data on ch and reads as many bytes back (the guest's echo). */
    private static byte[] echoOnce(SocketChannel ch, byte[] data) throws IOException {
        ch.write(ByteBuffer.wrap(data));
        ByteBuffer got = ByteBuffer.allocate(data.length);
        while (got.hasRemaining() && ch.read(got) >= 0) {
            // until the whole echo is back
        }
        return got.array();
    }

    /** Whether a PORT_OPEN 1 for port 1 follows its PORT_OPEN 0 in the guest's output. */
    private static boolean reopened(List<String> serial) {
        int closed = serial.indexOf("vserial: ctrl port=1 PORT_OPEN value=0");
        return closed >= 0 && serial.subList(closed, serial.size()).contains("vserial: ctrl port=1 PORT_OPEN value=1");
    }

    @Test
    void hostLeavesAndComesBack() throws Exception {
        // the guest hears PORT_OPEN 0 when the host's connection ends and PORT_OPEN 1 when the next one comes
        byte[] part1 = "first connection\n".getBytes(StandardCharsets.US_ASCII);
        byte[] part2 = "second connection\nbye\n".getBytes(StandardCharsets.US_ASCII);
        Host host = (vm, d) -> () -> {
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            try (SocketChannel c1 = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c1.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
                ByteBuffer hello = ByteBuffer.allocate(18);
                while (hello.hasRemaining() && c1.read(hello) >= 0) {
                    // the greeting
                }
                seen.write(hello.array());
                seen.write(echoOnce(c1, part1));
            }
            if (!vm.awaitSerial("PORT_OPEN value=0", 20_000)) {
                throw new AssertionError("the guest never heard the host leave: " + vm.serial());
            }
            SocketChannel c2 = SocketChannel.open(StandardProtocolFamily.UNIX);
            toClose.add(c2);
            c2.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
            // data only once the guest has heard of the new connection, so the output has one order
            long end = System.currentTimeMillis() + 20_000;
            while (!reopened(vm.serial()) && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            seen.write(echoOnce(c2, part2));
            return seen.toByteArray();
        };
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/s1.sock,server=on,wait=off"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run[] r = both("action=vserial echo=1 linger=1500", extra, host);
        List<String> serial = r[1].result().serial();
        int closed = serial.indexOf("vserial: ctrl port=1 PORT_OPEN value=0");
        assertTrue(closed > 0 && serial.get(closed + 1).equals("vserial: ctrl port=1 PORT_OPEN value=1"),
                serial.toString());
    }

    @Test
    void socketClientReconnects() throws Exception {
        byte[] send = lines(50);
        // the host listens; the VMM connects, loses its first connection and comes back after reconnect=1
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/host.sock,reconnect=1"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run q = runWithListener(GuestVm.QEMU, extra);
        Run j = runWithListener(GuestVm.jvmm(), extra);
        assertEquals(33, q.result().status(), "QEMU: " + q.result());
        assertEquals(q.result().serial(), j.result().serial(), "jvmm stderr: " + j.result().stderr());
        assertEquals(q.portEvents(), j.portEvents());
        assertArrayEquals(q.hostData(), j.hostData());
        assertArrayEquals(with2("hello from port 1\n".getBytes(StandardCharsets.US_ASCII), send), j.hostData());
    }

    /** Like {@link #run} for a VMM that is a socket client: the host's listener is bound before the VMM starts. */
    private Run runWithListener(String program, List<String> extra) throws Exception {
        Path kernel = GuestVm.assumeReady();
        Path runDir = Files.createDirectories(dir.resolve(program.contains("qemu") ? "qemu-c" : "jvmm-c"));
        List<String> args = new ArrayList<>();
        for (String a : extra) {
            args.add(a.replace("@DIR@", runDir.toString()));
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        toClose.add(server);
        server.bind(UnixDomainSocketAddress.of(runDir.resolve("host.sock")));
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, "action=vserial echo=1 linger=1500", args),
                runDir.resolve("q.sock"))) {
            SocketChannel first = vm.acceptFrom(server, 20_000);
            first.close();
            SocketChannel second = vm.acceptFrom(server, 20_000);
            toClose.add(second);
            server.close();
            Thread.sleep(300);
            vm.cont();
            byte[] data = echoConversation(second, lines(50));
            GuestVm.Result r = vm.finish(60_000);
            return new Run(r, r.events().stream().filter(e -> "VSERPORT_CHANGE".equals(e.get("event"))).toList(),
                    data);
        } finally {
            server.close();
        }
    }

    @Test
    void slowHostReaderLosesNothing() throws Exception {
        // 512 KiB through the guest's echo while the host reads in small sips with pauses: the VMM must hold
        // the guest's transmit buffers (and so stop taking the host's input) instead of dropping anything
        byte[] send = new byte[512 * 1024 + 4];
        for (int i = 0; i < send.length - 4; i++) {
            send[i] = (byte) ('a' + (i * 7 + i / 4096) % 26);
        }
        System.arraycopy("bye\n".getBytes(StandardCharsets.US_ASCII), 0, send, send.length - 4, 4);
        Host host = (vm, d) -> {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            toClose.add(ch);
            ch.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
            return () -> conversation(ch, send, 2);
        };
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/s1.sock,server=on,wait=off"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run[] r = both("action=vserial echo=1 timeout=60000 linger=1500", extra, host);
        assertArrayEquals(with2("hello from port 1\n".getBytes(StandardCharsets.US_ASCII), send), r[1].hostData());
    }

    @Test
    void malformedControlMessagesAreIgnored() throws Exception {
        byte[] send = lines(20);
        List<String> extra = with(List.of("-chardev", "socket,id=s1,path=@DIR@/s1.sock,server=on,wait=off"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run[] r = both("action=vserial-abuse echo=1 linger=1500", extra, socketClientOfServer(send));
        assertTrue(r[1].result().serial().contains("vserial: abuse ignored"), r[1].result().serial().toString());
        assertTrue(r[1].result().stderr().contains("virtio-serial-bus: Unexpected port id 1000 for device vs.0"),
                r[1].result().stderr());
        assertTrue(r[1].result().stderr().contains("virtio-serial-bus: Guest failure in adding device vs.0"),
                r[1].result().stderr());
    }

    @Test
    void ptyEcho() throws Exception {
        byte[] send = lines(20);
        Host host = (vm, d) -> {
            Matcher m = null;
            for (int i = 0; i < 100; i++) {
                // QEMU prints the line on stdout (qemu_printf), jvmm on stderr
                m = PTY.matcher(vm.stderr() + String.join("\n", vm.serial()));
                if (m.find()) {
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(m != null && m.find(0), "no pty announced: " + vm.stderr());
            Path pty = Path.of(m.group(1));
            InputStream in = Files.newInputStream(pty);
            OutputStream out = Files.newOutputStream(pty);
            Thread.sleep(2500); // QEMU notices an opened pty on a 1 s timer
            // kept open until the guest is done: a closing pty is a host-side close the guest would hear of
            toClose.add(in);
            toClose.add(out);
            return () -> {
                byte[] hello = in.readNBytes(18);
                out.write(send);
                out.flush();
                return with2(hello, in.readNBytes(send.length));
            };
        };
        List<String> extra = with(List.of("-chardev", "pty,id=s1"),
                controller("virtserialport,id=p1,chardev=s1,name=echo"));
        Run[] r = both("action=vserial echo=1 linger=1500", extra, host);
        assertArrayEquals(with2("hello from port 1\n".getBytes(StandardCharsets.US_ASCII), send), r[1].hostData());
    }
}
