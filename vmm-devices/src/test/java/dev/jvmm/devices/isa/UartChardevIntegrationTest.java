package dev.jvmm.devices.isa;

import dev.jvmm.core.chardev.SocketChardev;
import dev.jvmm.core.chardev.StdioChardev;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.loop.IoLoop;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A UART wired to real chardev backends: bulk host input through a 16-byte FIFO loses nothing. */
class UartChardevIntegrationTest {
    @TempDir
    Path dir;

    /** Polls LSR.DR and reads RBR like a guest driver until n bytes arrived or time runs out. */
    static String guestRead(PioBus bus, int n, long millis) throws InterruptedException {
        StringBuilder sb = new StringBuilder();
        long end = System.currentTimeMillis() + millis;
        while (sb.length() < n && System.currentTimeMillis() < end) {
            if ((bus.read(0x3fd, 1) & 1) != 0) {
                sb.append((char) bus.read(0x3f8, 1));
            } else {
                Thread.sleep(0, 200_000);
            }
        }
        return sb.toString();
    }

    static String payload() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            sb.append(i % 10);
        }
        return sb.toString();
    }

    @Test
    void socketInputThroughFifoIsLossless() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable");
        Path p = dir.resolve("com1.sock");
        try (IoLoop loop = new IoLoop(); SocketChardev chr = SocketChardev.server("serial0", p, false, loop)) {
            PioBus bus = new PioBus();
            Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, null, chr);
            uart.attach(bus);
            bus.write(0x3fa, 1, 0xc7);   // FIFO on, cleared, trigger 14
            try (SocketChannel host = SocketChannel.open(UnixDomainSocketAddress.of(p))) {
                long end = System.currentTimeMillis() + 5000;
                while (!chr.isConnected() && System.currentTimeMillis() < end) {
                    Thread.sleep(5);
                }
                String msg = payload();
                host.write(ByteBuffer.wrap(msg.getBytes()));
                String got = guestRead(bus, msg.length(), 20000);
                assertEquals(msg, got);
                assertEquals(0, bus.read(0x3fd, 1) & 0x02, "no overrun");
                for (byte b : "bye".getBytes()) {
                    bus.write(0x3f8, 1, b);
                }
                ByteBuffer back = ByteBuffer.allocate(3);
                while (back.hasRemaining() && host.read(back) >= 0) {
                    // read until the 3 bytes are there
                }
                assertEquals("bye", new String(back.array()));
            }
            uart.close();
        }
    }

    @Test
    void concurrentVcpusAndHostInputDoNotDeadlockOrLoseBytes() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable");
        Path p = dir.resolve("stress.sock");
        try (IoLoop loop = new IoLoop(); SocketChardev chr = SocketChardev.server("serial0", p, false, loop);
             SocketChannel host = SocketChannel.open(UnixDomainSocketAddress.of(p))) {
            PioBus bus = new PioBus();
            Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, high -> { }, chr);
            uart.attach(bus);
            bus.write(0x3fa, 1, 0x87);
            bus.write(0x3f9, 1, 0x0f);
            long end = System.currentTimeMillis() + 5000;
            while (!chr.isConnected() && System.currentTimeMillis() < end) {
                Thread.sleep(5);
            }
            int perThread = 5000;
            String input = payload();
            java.util.concurrent.atomic.AtomicInteger received = new java.util.concurrent.atomic.AtomicInteger();
            Runnable vcpu = () -> {
                for (int i = 0; i < perThread; i++) {
                    bus.write(0x3f8, 1, 'x');
                    bus.read(0x3fa, 1);
                    if ((bus.read(0x3fd, 1) & 1) != 0) {
                        synchronized (received) {   // a guest driver serialises LSR check + RBR read
                            if ((bus.read(0x3fd, 1) & 1) != 0) {
                                bus.read(0x3f8, 1);
                                received.incrementAndGet();
                            }
                        }
                    }
                }
            };
            Thread a = new Thread(vcpu);
            Thread b = new Thread(vcpu);
            a.start();
            b.start();
            host.write(ByteBuffer.wrap(input.getBytes()));
            a.join(30000);
            b.join(30000);
            assertTrue(!a.isAlive() && !b.isAlive(), "vCPU threads finished");
            received.addAndGet(guestRead(bus, input.length() - received.get(), 20000).length());
            assertEquals(input.length(), received.get());
            ByteBuffer out = ByteBuffer.allocate(2 * perThread);
            host.configureBlocking(true);
            while (out.hasRemaining() && host.read(out) >= 0) {
                // collect all transmitted bytes
            }
            assertEquals(2 * perThread, out.position());
            uart.close();
        }
    }

    @Test
    void stdioInputWithoutFifoIsLossless() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(feed, 1 << 16);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StdioChardev chr = new StdioChardev("serial0", in, out);
        PioBus bus = new PioBus();
        Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, null, chr);
        uart.attach(bus);
        String msg = payload().substring(0, 500);
        feed.write(msg.getBytes());
        feed.flush();
        assertEquals(msg, guestRead(bus, msg.length(), 20000));
        assertTrue((bus.read(0x3fd, 1) & 0x02) == 0);
        chr.close();
        uart.close();
    }
}
