package dev.jvmm.qmp;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * virtio-serial throughput through a unix socket chardev, printed and not asserted: guest to host
 * (action=vserial-tx: the guest sends the same 32 KiB buffers over and over, the host reads) and host to
 * guest (action=vserial-rx: the host writes, the guest re-posts its receive buffers without reading them and
 * says "done\n" at the end), jvmm vs QEMU in one run, median of interleaved rounds. Timed on the host:
 * from the first byte to the last (guest to host), from the first write to "done" (host to guest).
 */
@Tag("benchmark")
class VirtioSerialBenchmarkTest {
    private static final int BYTES = 256 << 20; // long enough that JIT warm-up is a small share
    private static final int ROUNDS = 3;
    private static final String BUFSIZE = "32768";

    @TempDir
    Path dir;

    /** One run of action in program; returns MB/s. */
    private double once(String program, String action, int round) throws Exception {
        Path kernel = GuestVm.assumeReady();
        Path d = Files.createDirectories(dir.resolve(program.contains("qemu") ? "q" + round : "j" + round)
                .resolve(action));
        Path sock = d.resolve("s.sock");
        List<String> extra = List.of("-chardev", "socket,id=s1,path=" + sock + ",server=on,wait=off",
                "-device", "virtio-serial-pci,id=vs", "-device", "virtserialport,id=p1,chardev=s1,name=bench");
        String append = "action=" + action + " port=1 bytes=" + BYTES + " bufsize=" + BUFSIZE;
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, append, extra), d.resolve("q.sock"));
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            vm.cont();
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long start;
            long end;
            if (action.equals("vserial-tx")) {
                long got = 0;
                buf.limit(1);
                ch.read(buf); // the first byte starts the clock
                start = System.nanoTime();
                got = 1;
                while (got < BYTES) {
                    buf.clear();
                    int n = ch.read(buf);
                    if (n < 0) {
                        throw new AssertionError(program + ": stream ended after " + got + " bytes; " + vm.serial());
                    }
                    got += n;
                }
                end = System.nanoTime();
            } else {
                // wait for the guest to open the port (its receive buffers are posted by then)
                if (!vm.awaitEvent("VSERPORT_CHANGE", 1, 60_000)) {
                    throw new AssertionError(program + ": port never opened; " + vm.serial() + vm.stderr());
                }
                start = System.nanoTime();
                long sent = 0;
                while (sent < BYTES) {
                    buf.clear();
                    buf.limit((int) Math.min(buf.capacity(), BYTES - sent));
                    sent += ch.write(buf);
                }
                ByteBuffer done = ByteBuffer.allocate(5);
                while (done.hasRemaining() && ch.read(done) >= 0) {
                    // "done\n"
                }
                end = System.nanoTime();
            }
            GuestVm.Result r = vm.finish(60_000);
            if (r.status() != 33) {
                throw new AssertionError(program + " " + action + " failed: " + r);
            }
            return BYTES / 1e6 / ((end - start) / 1e9);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    @Test
    void throughput() throws Exception {
        GuestVm.assumeReady();
        String[] actions = {"vserial-tx", "vserial-rx"};
        double[][] q = new double[2][ROUNDS];
        double[][] j = new double[2][ROUNDS];
        boolean qemuOnly = Boolean.getBoolean("jvmm.qemuOnly");
        for (int r = 0; r < ROUNDS; r++) {
            for (int a = 0; a < 2; a++) {
                q[a][r] = once(GuestVm.QEMU, actions[a], r);
                j[a][r] = qemuOnly ? Double.NaN : once(GuestVm.jvmm(), actions[a], r);
            }
        }
        String[] names = {"guest->host", "host->guest"};
        for (int a = 0; a < 2; a++) {
            double jm = median(j[a]);
            double qm = median(q[a]);
            System.out.printf("BENCH virtio-serial %s (unix socket, %d MiB, %s-byte buffers): jvmm %.0f MB/s,"
                    + " QEMU %.0f MB/s; jvmm/QEMU %.2fx (median of %d rounds)%n", names[a], BYTES >> 20, BUFSIZE,
                    jm, qm, jm / qm, ROUNDS);
        }
    }
}
