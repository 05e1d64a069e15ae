package dev.jvmm.core.chardev;

import org.junit.jupiter.api.Test;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PtyChardevTest {
    @Test
    void masterAndSlaveCarryBytesBothWays() throws Exception {
        PtyChardev c = openOrSkip();
        try {
            assertTrue(c.slavePath().startsWith("/dev/pts/"), c.slavePath());
            assertEquals("pty:" + c.slavePath(), c.describe());
            TestReceiver r = new TestReceiver(0);
            c.setReceiver(r);
            try (FileOutputStream toGuest = new FileOutputStream(c.slavePath());
                 FileInputStream fromGuest = new FileInputStream(c.slavePath())) {
                long end = System.currentTimeMillis() + 5000;
                while (!c.isConnected() && System.currentTimeMillis() < end) {
                    Thread.sleep(10);
                }
                assertTrue(c.isConnected(), "slave open is noticed");
                // raw mode: no echo, no line buffering, no CR/LF translation
                toGuest.write("abc\r\n".getBytes());
                toGuest.flush();
                Thread.sleep(100);
                assertEquals("", r.text(), "held back while the frontend has no room");
                assertTrue(r.drainUntil("abc\r\n", 5000), r.text());
                c.write("out\n".getBytes(), 0, 4);
                byte[] buf = new byte[4];
                int n = 0;
                while (n < 4) {
                    int k = fromGuest.read(buf, n, 4 - n);
                    if (k < 0) {
                        break;
                    }
                    n += k;
                }
                assertEquals("out\n", new String(buf, 0, n));
            }
        } finally {
            c.close();
        }
    }

    @Test
    void outputWithoutSlaveIsDroppedWithoutBlocking() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/ptmx")), "no /dev/ptmx on this host");
        PtyChardev c = new PtyChardev("p1");
        try {
            Thread.sleep(300);
            byte[] big = new byte[1 << 16];
            long t = System.nanoTime();
            for (int i = 0; i < 64; i++) {
                c.write(big, 0, big.length);
            }
            assertTrue(System.nanoTime() - t < 3_000_000_000L);
        } finally {
            c.close();
        }
    }

    /** Opening and closing the slave are connection events for the frontend. */
    @Test
    void openingAndClosingTheSlaveAreConnectionEvents() throws Exception {
        PtyChardev c = openOrSkip();
        List<Boolean> seen = new CopyOnWriteArrayList<>();
        c.setConnectionListener(seen::add);
        try {
            try (FileOutputStream slave = new FileOutputStream(c.slavePath())) {
                waitFor(() -> seen.contains(true));
            }
            waitFor(() -> seen.size() >= 2);
            assertEquals(List.of(true, false), seen);
        } finally {
            c.close();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (!cond.getAsBoolean() && System.currentTimeMillis() < end) {
            Thread.sleep(10);
        }
    }

    /** A fresh pty, or the test is skipped where the host has none. */
    private static PtyChardev openOrSkip() {
        assumeTrue(Files.exists(Path.of("/dev/ptmx")), "no /dev/ptmx on this host");
        try {
            return new PtyChardev("p0");
        } catch (IOException e) {
            assumeTrue(false, "cannot open a pty here: " + e.getMessage());
            throw new AssertionError(e);
        }
    }
}
