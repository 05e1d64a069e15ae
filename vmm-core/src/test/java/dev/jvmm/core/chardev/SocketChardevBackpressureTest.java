package dev.jvmm.core.chardev;

import dev.jvmm.core.loop.IoLoop;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The socket backend's output backpressure (isWritable and its hook) and its connection events. */
class SocketChardevBackpressureTest {
    @TempDir
    Path dir;
    IoLoop loop;

    @BeforeEach
    void setUp() {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable: " + Epoll.unavailabilityCause());
        loop = new IoLoop();
    }

    @AfterEach
    void tearDown() {
        if (loop != null) {
            loop.close();
        }
    }

    @Test
    void aPeerThatDoesNotReadMakesItUnwritableUntilItReads() throws Exception {
        Path p = dir.resolve("s.sock");
        SocketChardev c = SocketChardev.server("c", p, false, loop);
        AtomicInteger hooks = new AtomicInteger();
        c.setWritableHook(hooks::incrementAndGet);
        try (SocketChannel peer = SocketChardevTest.connect(p)) {
            assertTrue(c.awaitConnection(5, TimeUnit.SECONDS));
            SocketChardevTest.waitFor(c::isConnected);
            byte[] chunk = new byte[64 * 1024];
            long written = 0;
            // far more than the socket buffers and the high-water mark hold
            while (c.isWritable() && written < (64L << 20)) {
                c.write(chunk, 0, chunk.length);
                written += chunk.length;
                Thread.sleep(1);
            }
            assertFalse(c.isWritable(), "still writable after " + written + " bytes");
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            long read = 0;
            while (read < written) {
                b.clear();
                read += peer.read(b);
            }
            assertEquals(written, read, "nothing lost");
            SocketChardevTest.waitFor(() -> hooks.get() > 0);
            assertTrue(hooks.get() > 0, "the writable hook never ran");
            assertTrue(c.isWritable());
        } finally {
            c.close();
        }
    }

    @Test
    void connectionEventsFollowThePeer() throws Exception {
        Path p = dir.resolve("e.sock");
        SocketChardev c = SocketChardev.server("c", p, false, loop);
        List<Boolean> seen = new CopyOnWriteArrayList<>();
        c.setConnectionListener(seen::add);
        try {
            SocketChannel peer = SocketChardevTest.connect(p);
            SocketChardevTest.waitFor(() -> seen.size() == 1);
            peer.close();
            SocketChardevTest.waitFor(() -> seen.size() == 2);
            SocketChannel again = SocketChardevTest.connect(p);
            SocketChardevTest.waitFor(() -> seen.size() == 3);
            again.close();
            SocketChardevTest.waitFor(() -> seen.size() == 4);
            assertEquals(List.of(true, false, true, false), seen);
            assertTrue(c.isWritable(), "no peer: output is dropped, so never held back");
        } finally {
            c.close();
        }
    }
}
