package dev.jvmm.core.chardev;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimpleChardevsTest {
    @TempDir
    Path dir;

    @Test
    void fileTruncatesLikeQemuAndWritesThrough() throws Exception {
        Path p = dir.resolve("serial.log");
        Files.writeString(p, "old content that must go");
        try (FileChardev c = new FileChardev("f", p, false)) {
            assertEquals(0, Files.size(p));
            c.write("abc".getBytes(), 0, 3);
            c.write('\n');
            assertEquals("abc\n", Files.readString(p), "no buffering in the JVM");
            assertEquals("file", c.describe());
        }
    }

    @Test
    void fileAppendKeepsContent() throws Exception {
        Path p = dir.resolve("a.log");
        Files.writeString(p, "one\n");
        try (FileChardev c = new FileChardev("f", p, true)) {
            c.write("two\n".getBytes(), 0, 4);
        }
        assertEquals("one\ntwo\n", Files.readString(p));
    }

    @Test
    void fileCreatesMissingFileAndReportsBadDirectory() {
        Path p = dir.resolve("new.log");
        FileChardev.open("-chardev x", "f", p.toString(), false).close();
        assertTrue(Files.exists(p));
        OptionException e = assertThrows(OptionException.class,
                () -> FileChardev.open("-chardev x", "f", dir.resolve("no/such/f").toString(), false));
        assertEquals("Could not open '" + dir.resolve("no/such/f") + "': No such file or directory", e.getMessage());
    }

    @Test
    void nullDiscards() {
        try (NullChardev n = new NullChardev("n")) {
            n.write("x".getBytes(), 0, 1);
            n.setReceiver(new TestReceiver(1));
            assertEquals("null", n.describe());
            assertEquals("n", n.id());
        }
    }

    @Test
    void stdioWritesEveryByteAndReadsWithBackpressure() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(feed, 4096);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StdioChardev c = new StdioChardev("s", in, out);
        for (byte b : "guest output".getBytes()) {
            c.write(b);
        }
        assertEquals("guest output", out.toString());

        TestReceiver r = new TestReceiver(0);
        c.setReceiver(r);
        String msg = "the quick brown fox jumps over the lazy dog";
        feed.write(msg.getBytes());
        feed.flush();
        Thread.sleep(100);
        assertEquals("", r.text(), "nothing delivered while the frontend has no room");
        assertTrue(r.drainUntil(msg, 5000), "got: " + r.text());
        assertEquals(0, r.overflow());
        c.close();
    }
}
