package dev.jvmm.devices.net;

import dev.jvmm.core.net.NetClient;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static dev.jvmm.devices.net.E1000Regs.*;
import static dev.jvmm.devices.net.E1000QtestComparisonTest.BAR0;
import static dev.jvmm.devices.net.E1000QtestComparisonTest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Reception side by side: QEMU 7.2's e1000 behind a dgram netdev (frames arrive as UDP datagrams; the machine
 * runs a firmware of hlt instructions so that its clock and net layer run) and ours behind a test peer. The same
 * frames through the same filters (own, other, broadcast, multicast in and out of the MTA, a runt, an oversized
 * frame, VLAN tags in and out of the VFTA with stripping, a long frame over two buffers with SECRC): the ring,
 * the buffers and the statistics must match.
 */
@Timeout(120)
class E1000RxQtestComparisonTest {
    static final long RING = 0x20000;
    static final long BUFS = 0x100000;
    static final int DESCS = 16;

    interface Side extends E1000QtestComparisonTest.Side {
        void inject(byte[] frame) throws Exception;

        /** Waits out the RCTL hold-off (a second of guest time). */
        void holdOff() throws Exception;
    }

    static byte[] frame(String dst, int ethertype, int payload) {
        return E1000Rig.frame(dst, "52:54:00:00:00:01", ethertype, payload);
    }

    static byte[] tagged(int vid, int payload) {
        byte[] f = frame("52:54:00:12:34:56", 0x8100, payload);
        f[14] = (byte) (vid >> 8);
        f[15] = (byte) vid;
        f[16] = 0x08;
        f[17] = 0x00;
        return f;
    }

    static void script(Side p, List<String> out) throws Exception {
        p.cfgWrite(0x10, 4, BAR0);
        p.cfgWrite(0x04, 2, 0x7);
        p.write(BAR0 + RDBAL, 4, RING);
        p.write(BAR0 + RDLEN, 4, DESCS * 16);
        for (int i = 0; i < DESCS; i++) {
            p.write(RING + 16L * i, 8, BUFS + 4096L * i);
            p.write(RING + 16L * i + 8, 8, 0);
        }
        String mc = "01:00:5e:00:00:fb";
        int hash = ((0xfb << 8) >> 4) & 0xfff;
        p.write(BAR0 + MTA + 4L * (hash >> 5), 4, 1L << (hash & 31));
        p.write(BAR0 + VFTA, 4, 1 << 5);
        p.write(BAR0 + CTRL, 4, p.read(BAR0 + CTRL, 4) | CTRL_VME);
        p.write(BAR0 + RCTL, 4, RCTL_EN | RCTL_BAM | RCTL_VFE);
        p.write(BAR0 + RDT, 4, DESCS - 1);
        p.holdOff();
        p.inject(frame("52:54:00:12:34:56", 0x0800, 100));
        p.inject(frame("52:54:00:99:99:99", 0x0800, 100));
        p.inject(frame("ff:ff:ff:ff:ff:ff", 0x0806, 46));
        p.inject(frame(mc, 0x0800, 70));
        p.inject(frame("01:00:5e:00:00:01", 0x0800, 70));
        p.inject(frame("52:54:00:12:34:56", 0x0800, 6));
        p.inject(frame("52:54:00:12:34:56", 0x0800, 1600));
        p.inject(tagged(5, 80));
        p.inject(tagged(6, 80));
        out.add("rdh " + hex(p.read(BAR0 + RDH, 4)) + " icr " + hex(p.read(BAR0 + ICR, 4)));
        p.write(BAR0 + RCTL, 4, RCTL_EN | RCTL_BAM | RCTL_LPE | RCTL_SECRC);
        p.holdOff();
        p.inject(frame("52:54:00:12:34:56", 0x0800, 3000));
        out.add("rdh " + hex(p.read(BAR0 + RDH, 4)) + " icr " + hex(p.read(BAR0 + ICR, 4)));
        for (int i = 0; i < DESCS; i++) {
            out.add("desc " + i + " = " + hex(p.read(RING + 16L * i + 8, 8)));
            StringBuilder b = new StringBuilder();
            for (int q = 0; q < 12; q++) {
                b.append(Long.toHexString(p.read(BUFS + 4096L * i + 8L * q, 8))).append(' ');
            }
            b.append("... ").append(Long.toHexString(p.read(BUFS + 4096L * i + 2048 - 8, 8)));
            out.add("buf " + i + " = " + b);
        }
        for (int off = 0x4000; off < 0x4100; off += 4) {
            out.add("stat " + Integer.toHexString(off) + " = " + hex(p.read(BAR0 + off, 4)));
        }
    }

    @Test
    void sameAsQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        assumeTrue(Files.isRegularFile(E1000QtestComparisonTest.ROM), "ipxe-qemu's efi-e1000.rom is missing");
        List<String> qemu = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        Path dir = Files.createTempDirectory("jvmm-e1000");
        Path bios = dir.resolve("hlt.bin");
        byte[] hlt = new byte[65536];
        Arrays.fill(hlt, (byte) 0xf4);
        Files.write(bios, hlt);
        int qemuPort;
        try (DatagramSocket probe = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            qemuPort = probe.getLocalPort();
        }
        try (DatagramSocket us = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             Qtest q = Qtest.start("-bios", bios.toString(), "-m", "64", "-netdev", "dgram,id=n0,local.type=inet,"
                     + "local.host=127.0.0.1,local.port=" + qemuPort + ",remote.type=inet,remote.host=127.0.0.1,"
                     + "remote.port=" + us.getLocalPort(), "-device", "e1000,netdev=n0,addr=4")) {
            script(new QemuSide(q, us, new InetSocketAddress(InetAddress.getLoopbackAddress(), qemuPort)), qemu);
        } finally {
            Files.deleteIfExists(bios);
            Files.deleteIfExists(dir);
        }
        try (TestBoard board = new TestBoard()) {
            E1000 dev = new E1000(board.memory, board.clock, E1000Rig.MAC, E1000.Flags.DEFAULT, "e1000.0", "",
                    Optional.empty());
            board.pci.add(4, 0, dev);
            E1000Rig.Peer peer = new E1000Rig.Peer("n0");
            board.net.add(peer);
            board.net.add(dev.nic());
            NetClient.connect(dev.nic(), peer);
            board.net.setRunning(true);
            script(new OurSide(board, dev, peer), ours);
            dev.close();
        }
        String dump = System.getProperty("jvmm.e1000.dump");
        if (dump != null) {
            Files.write(Path.of(dump + ".rx.qemu"), qemu);
            Files.write(Path.of(dump + ".rx.ours"), ours);
        }
        for (int i = 0; i < Math.min(qemu.size(), ours.size()); i++) {
            assertEquals(qemu.get(i), ours.get(i), "step " + i);
        }
        assertEquals(qemu.size(), ours.size());
    }

    static final class QemuSide implements Side {
        final E1000QtestComparisonTest.QemuSide port;
        final DatagramSocket socket;
        final InetSocketAddress qemu;

        QemuSide(Qtest q, DatagramSocket socket, InetSocketAddress qemu) {
            this.port = new E1000QtestComparisonTest.QemuSide(q);
            this.socket = socket;
            this.qemu = qemu;
        }

        @Override
        public void inject(byte[] frame) throws Exception {
            socket.send(new DatagramPacket(frame, frame.length, qemu));
            Thread.sleep(150);
        }

        @Override
        public void holdOff() throws Exception {
            Thread.sleep(1300);
        }

        @Override
        public long cfgRead(int reg, int size) throws IOException {
            return port.cfgRead(reg, size);
        }

        @Override
        public void cfgWrite(int reg, int size, long v) throws IOException {
            port.cfgWrite(reg, size, v);
        }

        @Override
        public long read(long addr, int size) throws IOException {
            return port.read(addr, size);
        }

        @Override
        public void write(long addr, int size, long v) throws IOException {
            port.write(addr, size, v);
        }

        @Override
        public long in(int p, int size) throws IOException {
            return port.in(p, size);
        }

        @Override
        public void out(int p, int size, long v) throws IOException {
            port.out(p, size, v);
        }
    }

    static final class OurSide implements Side {
        final E1000QtestComparisonTest.OurSide port;
        final E1000 dev;
        final E1000Rig.Peer peer;

        OurSide(TestBoard board, E1000 dev, E1000Rig.Peer peer) {
            this.port = new E1000QtestComparisonTest.OurSide(board, dev);
            this.dev = dev;
            this.peer = peer;
        }

        @Override
        public void inject(byte[] frame) {
            peer.send(ByteBuffer.wrap(frame));
        }

        @Override
        public void holdOff() {
            E1000Rig.await("RCTL hold-off", () -> dev.nic().canReceive());
        }

        @Override
        public long cfgRead(int reg, int size) {
            return port.cfgRead(reg, size);
        }

        @Override
        public void cfgWrite(int reg, int size, long v) {
            port.cfgWrite(reg, size, v);
        }

        @Override
        public long read(long addr, int size) {
            return port.read(addr, size);
        }

        @Override
        public void write(long addr, int size, long v) {
            port.write(addr, size, v);
        }

        @Override
        public long in(int p, int size) {
            return port.in(p, size);
        }

        @Override
        public void out(int p, int size, long v) {
            port.out(p, size, v);
        }
    }
}
