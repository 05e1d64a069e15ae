package dev.jvmm.devices.virtio;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.net.VirtioNet;
import dev.jvmm.devices.net.VirtioNetOptions;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.concurrent.CopyOnWriteArrayList;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.devices.virtio.VirtioPciQtestComparisonTest.BAR1;
import static dev.jvmm.devices.virtio.VirtioPciQtestComparisonTest.BAR4;
import static dev.jvmm.devices.virtio.VirtioPciQtestComparisonTest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same driver script against QEMU 7.2's {@code virtio-net-pci,disable-legacy=on,romfile=} (qtest, slot 4)
 * and against jvmm's: configuration space, features offered, common configuration and queue sizes before and
 * after FEATURES_OK, the device configuration (mac, status, max_virtqueue_pairs, mtu, speed, duplex), the
 * MSI-X table, and control commands with their acks. Every value read must match.
 */
class VirtioNetQtestComparisonTest {
    static final long DESC = 0x10000;
    static final long AVAIL = 0x11000;
    static final long USED = 0x12000;
    static final long CMD = 0x20000;
    static final long ACK = 0x21000;

    static void script(VirtioPciQtestComparisonTest.Port p, List<String> out) throws Exception {
        for (int reg = 0; reg < 256; reg += 4) {
            out.add("cfg " + Integer.toHexString(reg) + " = " + hex(p.cfgRead(reg, 4)));
        }
        p.cfgWrite(0x14, 4, BAR1);
        p.cfgWrite(0x20, 4, BAR4);
        p.cfgWrite(0x24, 4, 0);
        p.cfgWrite(0x04, 2, 0x6);
        long[] offered = new long[2];
        for (int sel = 0; sel < 3; sel++) {
            p.write(BAR4, 4, sel);
            long f = p.read(BAR4 + 4, 4);
            if (sel < 2) {
                offered[sel] = f;
            }
            out.add("device_feature[" + sel + "] = " + hex(f));
        }
        for (int off = 0; off < 0x40; off += 2) {
            out.add("common+" + Integer.toHexString(off) + " w = " + hex(p.read(BAR4 + off, 2)));
        }
        queues(p, out, "before features");
        for (int off = 0; off < 0x20; off++) {
            out.add("device+" + Integer.toHexString(off) + " b = " + hex(p.read(BAR4 + 0x2000 + off, 1)));
        }
        for (int off = 0; off < 0x20; off += 2) {
            out.add("device+" + Integer.toHexString(off) + " w = " + hex(p.read(BAR4 + 0x2000 + off, 2)));
        }
        for (int off = 0; off < 0x60; off += 4) {
            out.add("msix+" + Integer.toHexString(off) + " = " + hex(p.read(BAR1 + off, 4)));
        }
        out.add("pba = " + hex(p.read(BAR1 + 0x800, 4)));
        // a driver taking everything offered
        p.write(BAR4 + 0x14, 1, 1);
        p.write(BAR4 + 0x14, 1, 3);
        for (int sel = 0; sel < 2; sel++) {
            p.write(BAR4 + 0x08, 4, sel);
            p.write(BAR4 + 0x0c, 4, offered[sel]);
        }
        p.write(BAR4 + 0x14, 1, 0xb);
        out.add("status after FEATURES_OK = " + hex(p.read(BAR4 + 0x14, 1)));
        int numq = (int) p.read(BAR4 + 0x12, 2);
        queues(p, out, "after features");
        for (int off = 0; off < 0x12; off += 2) {
            out.add("device after features+" + Integer.toHexString(off) + " = " + hex(p.read(BAR4 + 0x2000 + off, 2)));
        }
        // the control queue: the last one
        int ctrl = numq - 1;
        p.write(BAR4 + 0x16, 2, ctrl);
        p.write(BAR4 + 0x18, 2, 64);
        p.write(BAR4 + 0x20, 8, DESC);
        p.write(BAR4 + 0x28, 8, AVAIL);
        p.write(BAR4 + 0x30, 8, USED);
        p.write(BAR4 + 0x1c, 2, 1);
        p.write(BAR4 + 0x14, 1, 0xf);
        out.add("status DRIVER_OK = " + hex(p.read(BAR4 + 0x14, 1)));
        int used = 0;
        int[][] cmds = {{0, 0, 1, 0}, {0, 5, 1, 1}, {0x42, 0, 1, 0}, {0, 9, 1, 1}, {2, 0, 2, 5}, {2, 0, 2, 0x1000},
            {1, 1, 6, 0x0200}, {1, 1, 5, 0}, {3, 0, 0, 0}, {4, 0, 2, 1}, {5, 0, 8, 0}, {0, 0, 0, 0}};
        for (int[] c : cmds) {
            used = command(p, out, ctrl, used, c[0], c[1], c[2], c[3]);
        }
        out.add("mac after ADDR_SET = " + hex(p.read(BAR4 + 0x2000, 4)) + " " + hex(p.read(BAR4 + 0x2004, 2)));
        out.add("isr = " + hex(p.read(BAR4 + 0x1000, 1)));
        // a chain without room for the ack breaks the device
        desc(p, 0, CMD, 2, 0, 0);
        p.write(AVAIL + 4 + 2 * (used % 64), 2, 0);
        p.write(AVAIL + 2, 2, used + 1);
        p.write(BAR4 + 0x3000 + 4L * ctrl, 2, ctrl);
        long end = System.nanoTime() + 2_000_000_000L;
        while ((p.read(BAR4 + 0x14, 1) & 0x40) == 0 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        out.add("status after short chain = " + hex(p.read(BAR4 + 0x14, 1)) + " used " + hex(p.read(USED + 2, 2)));
        p.write(BAR4 + 0x14, 1, 0);
        out.add("mac after reset = " + hex(p.read(BAR4 + 0x2000, 4)) + " " + hex(p.read(BAR4 + 0x2004, 2)));
        queues(p, out, "after reset");
    }

    static void queues(VirtioPciQtestComparisonTest.Port p, List<String> out, String when) throws Exception {
        int n = (int) p.read(BAR4 + 0x12, 2);
        out.add(when + ": num_queues = " + n);
        for (int q = 0; q < n; q++) {
            p.write(BAR4 + 0x16, 2, q);
            out.add(when + ": queue " + q + " size " + hex(p.read(BAR4 + 0x18, 2)) + " notify_off "
                    + hex(p.read(BAR4 + 0x1e, 2)) + " vector " + hex(p.read(BAR4 + 0x1a, 2)));
        }
    }

    static void desc(VirtioPciQtestComparisonTest.Port p, int i, long addr, int len, int flags, int next)
            throws Exception {
        p.write(DESC + 16L * i, 8, addr);
        p.write(DESC + 16L * i + 8, 4, len);
        p.write(DESC + 16L * i + 12, 2, flags);
        p.write(DESC + 16L * i + 14, 2, next);
    }

    /** One command: class, cmd and dataLen bytes of data (value little-endian, then the bytes after it 0). */
    static int command(VirtioPciQtestComparisonTest.Port p, List<String> out, int ctrl, int used, int cls, int cmd,
                       int dataLen, long value) throws Exception {
        p.write(CMD, 1, cls);
        p.write(CMD + 1, 1, cmd);
        p.write(CMD + 2, 8, value);
        p.write(CMD + 10, 8, 0);
        p.write(ACK, 1, 0x7f);
        desc(p, 0, CMD, 2 + dataLen, 1, 1);
        desc(p, 1, ACK, 1, 2, 0);
        p.write(AVAIL + 4 + 2 * (used % 64), 2, 0);
        p.write(AVAIL + 2, 2, used + 1);
        p.write(BAR4 + 0x3000 + 4L * ctrl, 2, ctrl);
        long end = System.nanoTime() + 2_000_000_000L;
        while (p.read(USED + 2, 2) != used + 1 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        out.add("ctrl " + cls + "/" + cmd + " len " + dataLen + ": used " + hex(p.read(USED + 2, 2)) + " len "
                + hex(p.read(USED + 8 + 8 * (used % 64), 4)) + " ack " + hex(p.read(ACK, 1)) + " status "
                + hex(p.read(BAR4 + 0x14, 1)));
        return used + 1;
    }

    /** A netdev queue without a vnet header, as -netdev user is. */
    static final class Plain extends NetClient {
        Plain() {
            super("n0", "user", NetClientKind.NETDEV, 0);
        }

        @Override
        public String infoString() {
            return "";
        }

        @Override
        protected int receive(ByteBuffer frame) {
            return frame.remaining();
        }
    }

    @Test
    void noNetdev() throws Exception {
        compare(new String[0], "", VirtioNetOptions.defaults("", "/p", MAC), false);
    }

    @Test
    void userNetdev() throws Exception {
        compare(new String[] {"-netdev", "user,id=n0"}, ",netdev=n0", VirtioNetOptions.defaults("", "/p", MAC),
                true);
    }

    /** mq, host_mtu, speed and duplex lengthen the device configuration; status=off and no ctrl_rx trim it. */
    @Test
    void configurationProperties() throws Exception {
        VirtioNetOptions d = VirtioNetOptions.defaults("", "/p", MacAddress.parse("02:11:22:33:44:55"));
        long f = d.features() | 1L << VirtioNet.VIRTIO_NET_F_MQ | 1L << VirtioNet.VIRTIO_NET_F_MTU
                | 1L << VirtioNet.VIRTIO_NET_F_SPEED_DUPLEX;
        f &= ~(1L << VirtioNet.VIRTIO_NET_F_CTRL_RX);
        VirtioNetOptions o = new VirtioNetOptions("", "/p", d.mac(), f, 512, 256, 1400, 1000, VirtioNet.DUPLEX_FULL);
        compare(new String[] {"-netdev", "user,id=n0"}, ",netdev=n0,mac=02:11:22:33:44:55,mq=on,host_mtu=1400,"
                + "speed=1000,duplex=full,ctrl_rx=off,rx_queue_size=512,tx_queue_size=1024", o, true);
    }

    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    void compare(String[] qemuArgs, String deviceArgs, VirtioNetOptions opts, boolean peer) throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        List<String> qemu = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        List<String> argv = new ArrayList<>(List.of("-S", "-m", "128"));
        argv.addAll(List.of(qemuArgs));
        argv.addAll(List.of("-device", "virtio-net-pci,disable-legacy=on,addr=4,romfile=" + deviceArgs));
        try (Qtest q = Qtest.start(argv.toArray(new String[0]))) {
            script(new VirtioPciQtestComparisonTest.QemuPort(q), qemu);
        }
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 128L << 20)))) {
            NetClients net = new NetClients();
            List<NetClient> peers = new ArrayList<>();
            if (peer) {
                Plain p = new Plain();
                net.add(p);
                peers.add(p);
            }
            VirtioNet dev = new VirtioNet(opts, 4, peers, net, null);
            VirtioPciTransport t = new VirtioPciTransport(mem, dev, new VirtioGuest.RecordingMsi(), null, "");
            try {
                script(new VirtioPciQtestComparisonTest.OurPort(t, mem), ours);
            } finally {
                t.close();
            }
        }
        String dump = System.getProperty("jvmm.virtio.dump");
        if (dump != null) {
            Files.write(Path.of(dump + "net.qemu"), qemu);
            Files.write(Path.of(dump + "net.ours"), ours);
        }
        for (int i = 0; i < Math.min(qemu.size(), ours.size()); i++) {
            assertEquals(qemu.get(i), ours.get(i), "step " + i);
        }
        assertEquals(qemu.size(), ours.size());
    }

    /** Frames into and out of the NIC's backend. */
    interface Wire {
        void inject(byte[] frame) throws Exception;

        /** The next frame the guest sent, or null after a while. */
        byte[] capture() throws Exception;
    }

    static final long RING = 0x30000;
    static final long RXBUF = 0x40000;
    static final long TXBUF = 0x50000;

    static long ring(int q) {
        return RING + 0x3000L * q;
    }

    static byte[] frame(byte[] dst, int len, int seed) {
        byte[] f = new byte[len];
        System.arraycopy(dst, 0, f, 0, 6);
        byte[] src = {0x52, 0x55, 10, 0, 2, 2};
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        for (int i = 14; i < len; i++) {
            f[i] = (byte) (i * seed);
        }
        return f;
    }

    /** Receive into mergeable buffers, the filter, and transmit, read back the same way from both. */
    static void wireScript(VirtioPciQtestComparisonTest.Port p, Wire w, List<String> out) throws Exception {
        p.cfgWrite(0x14, 4, BAR1);
        p.cfgWrite(0x20, 4, BAR4);
        p.cfgWrite(0x24, 4, 0);
        p.cfgWrite(0x04, 2, 0x6);
        p.write(BAR4 + 0x14, 1, 1);
        p.write(BAR4 + 0x14, 1, 3);
        p.write(BAR4 + 0x08, 4, 0);
        p.write(BAR4 + 0x0c, 4, 1L << 15 | 1L << 16 | 1L << 17 | 1L << 18 | 1L << 5);
        p.write(BAR4 + 0x08, 4, 1);
        p.write(BAR4 + 0x0c, 4, 1);
        p.write(BAR4 + 0x14, 1, 0xb);
        for (int q = 0; q < 3; q++) {
            p.write(BAR4 + 0x16, 2, q);
            p.write(BAR4 + 0x18, 2, 64);
            p.write(BAR4 + 0x20, 8, q == 2 ? DESC : ring(q));
            p.write(BAR4 + 0x28, 8, q == 2 ? AVAIL : ring(q) + 0x1000);
            p.write(BAR4 + 0x30, 8, q == 2 ? USED : ring(q) + 0x2000);
            p.write(BAR4 + 0x1c, 2, 1);
        }
        p.write(BAR4 + 0x14, 1, 0xf);
        for (int i = 0; i < 8; i++) {
            p.write(ring(0) + 16L * i, 8, RXBUF + 0x100L * i);
            p.write(ring(0) + 16L * i + 8, 4, 40);
            p.write(ring(0) + 16L * i + 12, 2, 2);
            p.write(ring(0) + 0x1000 + 4 + 2L * i, 2, i);
        }
        p.write(ring(0) + 0x1000 + 2, 2, 8);
        p.write(BAR4 + 0x3000, 2, 0);
        Thread.sleep(100);
        byte[] mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
        byte[] other = {0x52, 0x54, 0, 0x12, 0x34, 0x77};
        byte[] bcast = {-1, -1, -1, -1, -1, -1};
        w.inject(frame(mac, 60, 3));
        rxState(p, out, "first frame", 2);
        int used = command(p, out, 2, 0, 0, 0, 1, 0);
        w.inject(frame(other, 60, 5));
        Thread.sleep(300);
        rxState(p, out, "filtered", 2);
        w.inject(frame(bcast, 100, 7));
        rxState(p, out, "broadcast", 5);
        command(p, out, 2, used, 0, 5, 1, 1);
        w.inject(frame(bcast, 60, 9));
        Thread.sleep(300);
        rxState(p, out, "nobcast", 5);
        // transmit: a 12-byte header (NEEDS_CSUM set) and a frame, in two descriptors
        byte[] f = frame(other, 64, 11);
        p.write(TXBUF, 8, 0x22_0000_0001L);
        p.write(TXBUF + 8, 4, 0);
        for (int i = 0; i < f.length; i++) {
            p.write(TXBUF + 0x100 + i, 1, f[i] & 0xff);
        }
        p.write(ring(1), 8, TXBUF);
        p.write(ring(1) + 8, 4, 12);
        p.write(ring(1) + 12, 2, 1);
        p.write(ring(1) + 14, 2, 1);
        p.write(ring(1) + 16, 8, TXBUF + 0x100);
        p.write(ring(1) + 24, 4, f.length);
        p.write(ring(1) + 28, 2, 0);
        p.write(ring(1) + 0x1000 + 4, 2, 0);
        p.write(ring(1) + 0x1000 + 2, 2, 1);
        p.write(BAR4 + 0x3004, 2, 1);
        byte[] sent = w.capture();
        out.add("transmitted " + (sent == null ? "nothing" : HexFormat.of().formatHex(sent)));
        long end = System.nanoTime() + 2_000_000_000L;
        while (p.read(ring(1) + 0x2000 + 2, 2) != 1 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        out.add("tx used " + hex(p.read(ring(1) + 0x2000 + 2, 2)) + " len " + hex(p.read(ring(1) + 0x2000 + 8, 4)));
    }

    /** Waits for the used index to reach want (2 s at most) and records the used ring and buffers. */
    static void rxState(VirtioPciQtestComparisonTest.Port p, List<String> out, String what, int want)
            throws Exception {
        long usedRing = ring(0) + 0x2000;
        long end = System.nanoTime() + 2_000_000_000L;
        while (p.read(usedRing + 2, 2) < want && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        int n = (int) p.read(usedRing + 2, 2);
        StringBuilder b = new StringBuilder(what + ": used " + n);
        for (int i = 0; i < n; i++) {
            int id = (int) p.read(usedRing + 4 + 8L * i, 4);
            b.append(" [").append(id).append(" len ").append(p.read(usedRing + 8 + 8L * i, 4)).append(' ');
            for (int k = 0; k < 40; k += 4) {
                b.append(String.format("%08x", p.read(RXBUF + 0x100L * id + k, 4)));
            }
            b.append(']');
        }
        out.add(b.toString());
    }

    /** A netdev queue recording what the guest sends, as the other end of the wire. */
    static final class Recorder extends NetClient {
        final List<byte[]> frames = new CopyOnWriteArrayList<>();

        Recorder() {
            super("n0", "dgram", NetClientKind.NETDEV, 0);
        }

        @Override
        public String infoString() {
            return "";
        }

        @Override
        protected int receive(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.duplicate().get(b);
            frames.add(b);
            return b.length;
        }
    }

    @Test
    void framesBothWays() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        List<String> qemu = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        int qemuPort;
        try (DatagramSocket probe = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            qemuPort = probe.getLocalPort();
        }
        try (DatagramSocket sock = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            sock.setSoTimeout(2000);
            String netdev = "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=" + qemuPort
                    + ",remote.type=inet,remote.host=127.0.0.1,remote.port=" + sock.getLocalPort();
            // the machine runs (a stopped one holds frames), on firmware that only halts, so nothing but
            // this script touches the function
            Path bios = Files.createTempFile("jvmm-hlt", ".bin");
            byte[] hlt = new byte[64 << 10];
            java.util.Arrays.fill(hlt, (byte) 0xf4);
            Files.write(bios, hlt);
            try (Qtest q = Qtest.start("-m", "128", "-bios", bios.toString(), "-netdev", netdev, "-device",
                    "virtio-net-pci,disable-legacy=on,addr=4,romfile=,netdev=n0")) {
                wireScript(new VirtioPciQtestComparisonTest.QemuPort(q), new Wire() {
                    @Override
                    public void inject(byte[] frame) throws Exception {
                        sock.send(new DatagramPacket(frame, frame.length, InetAddress.getLoopbackAddress(), qemuPort));
                    }

                    @Override
                    public byte[] capture() throws Exception {
                        byte[] buf = new byte[2048];
                        DatagramPacket d = new DatagramPacket(buf, buf.length);
                        try {
                            sock.receive(d);
                        } catch (SocketTimeoutException e) {
                            return null;
                        }
                        return java.util.Arrays.copyOf(buf, d.getLength());
                    }
                }, qemu);
            } finally {
                Files.deleteIfExists(bios);
            }
        }
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, 128L << 20)))) {
            NetClients net = new NetClients();
            Recorder r = new Recorder();
            net.add(r);
            VirtioNet dev = new VirtioNet(VirtioNetOptions.defaults("", "/p", MAC), 4, List.of(r), net, null);
            net.setRunning(true);
            VirtioPciTransport t = new VirtioPciTransport(mem, dev, new VirtioGuest.RecordingMsi(), null, "");
            try {
                wireScript(new VirtioPciQtestComparisonTest.OurPort(t, mem), new Wire() {
                    @Override
                    public void inject(byte[] frame) {
                        r.send(ByteBuffer.wrap(frame));
                    }

                    @Override
                    public byte[] capture() throws Exception {
                        long end = System.nanoTime() + 2_000_000_000L;
                        while (r.frames.isEmpty() && System.nanoTime() < end) {
                            Thread.sleep(1);
                        }
                        return r.frames.isEmpty() ? null : r.frames.remove(0);
                    }
                }, ours);
            } finally {
                t.close();
            }
        }
        String dump = System.getProperty("jvmm.virtio.dump");
        if (dump != null) {
            Files.write(Path.of(dump + "wire.qemu"), qemu);
            Files.write(Path.of(dump + "wire.ours"), ours);
        }
        for (int i = 0; i < Math.min(qemu.size(), ours.size()); i++) {
            assertEquals(qemu.get(i), ours.get(i), "step " + i);
        }
        assertEquals(qemu.size(), ours.size());
    }

}
