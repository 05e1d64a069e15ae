package dev.jvmm.libvirt;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Reads a domain's serial console through the pty that libvirt reports (virsh ttyconsole), as virsh console
 * does, without a terminal of our own. The slave is set raw with no echo first: an echoing pty would send the
 * guest its own output back as serial input. Open it before the guest prints: QEMU and jvmm drop pty output
 * while no one holds the slave open (QEMU looks once a second).
 */
final class PtyConsole implements AutoCloseable {
    private final InputStream in;
    private final StringBuilder text = new StringBuilder();
    private final Thread reader;

    PtyConsole(String pty) throws IOException, InterruptedException {
        in = new FileInputStream(pty);
        Process stty = new ProcessBuilder("stty", "-F", pty, "raw", "-echo").redirectErrorStream(true).start();
        if (!stty.waitFor(10, TimeUnit.SECONDS) || stty.exitValue() != 0) {
            stty.destroyForcibly();
            in.close();
            throw new IOException("stty -F " + pty + " raw -echo failed");
        }
        reader = new Thread(this::pump, "pty-" + pty);
        reader.setDaemon(true);
        reader.start();
    }

    private void pump() {
        byte[] b = new byte[4096];
        try {
            int n;
            while ((n = in.read(b)) > 0) {
                synchronized (text) {
                    text.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
                    text.notifyAll();
                }
            }
        } catch (IOException ignored) {
            // EIO once the VMM closes the master: the console has ended.
        }
    }

    String text() {
        synchronized (text) {
            return text.toString();
        }
    }

    /** How often {@code needle} has been printed. */
    int count(String needle) {
        String t = text();
        int n = 0;
        for (int i = t.indexOf(needle); i >= 0; i = t.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

    /** Waits until {@code needle} has appeared {@code times} times; false after {@code seconds}. */
    boolean await(String needle, int times, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        synchronized (text) {
            while (count(needle) < times) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                text.wait(Math.min(left, 200));
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
