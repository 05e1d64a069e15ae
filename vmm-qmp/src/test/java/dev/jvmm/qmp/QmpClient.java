package dev.jvmm.qmp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A raw QMP test client over a UNIX socket: sends lines, reads CRLF-terminated messages. */
final class QmpClient implements AutoCloseable {
    final SocketChannel ch;
    private final Selector sel;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    boolean eof;

    QmpClient(Path path) throws IOException {
        ch = connect(path);
        ch.configureBlocking(false);
        sel = Selector.open();
        ch.register(sel, SelectionKey.OP_READ);
    }

    /**
     * Connects, retrying for a few seconds: a server's socket file appears at bind(), a moment before it
     * listens.
     */
    private static SocketChannel connect(Path path) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return SocketChannel.open(UnixDomainSocketAddress.of(path));
            } catch (java.net.ConnectException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** Connects and negotiates; returns the greeting. */
    static QmpClient negotiated(Path path) throws IOException {
        QmpClient c = new QmpClient(path);
        c.readLine(5000);
        c.send("{\"execute\":\"qmp_capabilities\"}");
        c.readLine(5000);
        return c;
    }

    void send(String line) throws IOException {
        sendRaw((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void sendRaw(byte[] b) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(b);
        while (bb.hasRemaining()) {
            if (ch.write(bb) == 0) {
                // Server's receive buffer is full: let it read while we wait for room.
                drainInto(10);
            }
        }
    }

    private void drainInto(long ms) throws IOException {
        if (sel.select(ms) > 0) {
            sel.selectedKeys().clear();
            ByteBuffer buf = ByteBuffer.allocate(65536);
            int n;
            try {
                n = ch.read(buf);
            } catch (java.net.SocketException e) {
                n = -1; // reset by a peer that exited
            }
            if (n < 0) {
                eof = true;
                return;
            }
            byte[] a = buf.array();
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (a[i] == '\n') {
                    partial.write(a, start, i + 1 - start);
                    start = i + 1;
                    byte[] p = partial.toByteArray();
                    partial.reset();
                    if (p.length < 2 || p[p.length - 2] != '\r') {
                        throw new AssertionError("message not terminated by CRLF");
                    }
                    lines.add(new String(p, 0, p.length - 2, StandardCharsets.UTF_8));
                }
            }
            partial.write(a, start, n - start);
        }
    }

    /** The next message (without CRLF), or null after timeout/EOF. Fails if a line lacks CRLF. */
    String readLine(long timeoutMs) throws IOException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (lines.isEmpty() && !eof && System.currentTimeMillis() < end) {
            drainInto(Math.max(1, end - System.currentTimeMillis()));
        }
        return lines.poll();
    }

    /** Parses the next message. */
    @SuppressWarnings("unchecked")
    Map<String, Object> read(long timeoutMs) throws IOException {
        String l = readLine(timeoutMs);
        if (l == null) {
            return null;
        }
        return (Map<String, Object>) parse(l);
    }

    /** Sends a command and collects everything up to and including its reply (events before it too). */
    List<Map<String, Object>> exchange(String line) throws IOException {
        send(line);
        List<Map<String, Object>> out = new ArrayList<>();
        while (true) {
            Map<String, Object> m = read(5000);
            if (m == null) {
                return out;
            }
            out.add(m);
            if (m.containsKey("return") || m.containsKey("error")) {
                return out;
            }
        }
    }

    /** The last message of an exchange (the reply). */
    Map<String, Object> command(String line) throws IOException {
        List<Map<String, Object>> l = exchange(line);
        return l.isEmpty() ? null : l.get(l.size() - 1);
    }

    static Object parse(String s) {
        List<Object> got = new ArrayList<>();
        JsonStreamDecoder d = new JsonStreamDecoder(new JsonStreamDecoder.Sink() {
            public void value(Object v) {
                got.add(v);
            }

            public void error(String desc) {
                throw new AssertionError("bad JSON from server: " + desc + ": " + s);
            }
        });
        byte[] b = (s + "\n").getBytes(StandardCharsets.UTF_8);
        d.feed(b, 0, b.length);
        return got.get(0);
    }

    @Override
    public void close() throws IOException {
        sel.close();
        ch.close();
    }
}
