package dev.jvmm.devices.net;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.PciConfigSpace;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * An {@link E1000} at 00:03.0 of a {@link TestBoard}, bus mastering on, its NIC joined to a {@link Peer} that
 * records what the device sends; guest RAM holds the rings at {@link #TX_RING} and {@link #RX_RING}.
 */
final class E1000Rig implements AutoCloseable {
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    static final int DEVFN = 3 << 3;
    static final long TX_RING = 0x10000;
    static final long RX_RING = 0x20000;
    static final long TX_BUF = 0x100000;
    static final long RX_BUF = 0x200000;

    /** A backend queue that keeps every frame it gets. */
    static final class Peer extends NetClient {
        final List<byte[]> frames = new CopyOnWriteArrayList<>();

        Peer() {
            this("peer0");
        }

        Peer(String name) {
            super(name, "test", NetClientKind.NETDEV, 0);
        }

        @Override
        public String infoString() {
            return "test";
        }

        @Override
        protected int receive(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.duplicate().get(b);
            frames.add(b);
            return b.length;
        }
    }

    final TestBoard board = new TestBoard();
    final GuestMemory mem = board.memory;
    final E1000 dev;
    final IoHandler mmio;
    final IoHandler io;
    final Peer peer = new Peer();

    E1000Rig() {
        this(E1000.Flags.DEFAULT);
    }

    E1000Rig(E1000.Flags flags) {
        dev = new E1000(mem, board.clock, MAC, flags, "e1000.0", "", Optional.empty());
        board.pci.add(3, 0, dev);
        mmio = dev.bars().get(0).handler();
        io = dev.bars().get(1).handler();
        cfgWrite(PciConfigSpace.COMMAND, 2, 0x7);
        board.net.add(peer);
        board.net.add(dev.nic());
        NetClient.connect(dev.nic(), peer);
        board.net.setRunning(true);
    }

    int cfg(int off, int size) {
        return board.pci.readConfig(0, DEVFN, off, size);
    }

    void cfgWrite(int off, int size, int v) {
        board.pci.writeConfig(0, DEVFN, off, size, v);
    }

    int r(int off) {
        return (int) mmio.read(off, 4);
    }

    void w(int off, int v) {
        mmio.write(off, 4, v & 0xffff_ffffL);
    }

    boolean irq() {
        return (cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_INTERRUPT) != 0;
    }

    /** A TX ring of n descriptors at TX_RING, enabled. */
    void txRing(int n) {
        w(TDBAL, (int) TX_RING);
        w(TDBAH, 0);
        w(TDLEN, n * 16);
        w(TDH, 0);
        w(TDT, 0);
        w(TCTL, TCTL_EN);
    }

    void txDesc(int i, long addr, int lower, int upper) {
        long d = TX_RING + 16L * i;
        mem.writeLong(d, addr);
        mem.writeInt(d + 8, lower);
        mem.writeInt(d + 12, upper);
    }

    /** A context descriptor. */
    void ctxDesc(int i, int ipcss, int ipcso, int ipcse, int tucss, int tucso, int tucse, int cmdLen, int hdrLen,
            int mss) {
        long d = TX_RING + 16L * i;
        mem.writeByte(d, (byte) ipcss);
        mem.writeByte(d + 1, (byte) ipcso);
        mem.writeShort(d + 2, (short) ipcse);
        mem.writeByte(d + 4, (byte) tucss);
        mem.writeByte(d + 5, (byte) tucso);
        mem.writeShort(d + 6, (short) tucse);
        mem.writeInt(d + 8, cmdLen);
        mem.writeByte(d + 12, (byte) 0);
        mem.writeByte(d + 13, (byte) hdrLen);
        mem.writeShort(d + 14, (short) mss);
    }

    /** An RX ring of n descriptors with 2 KiB buffers from RX_BUF, all given to the device, receiver on. */
    void rxRing(int n, int rctl) {
        w(RDBAL, (int) RX_RING);
        w(RDBAH, 0);
        w(RDLEN, n * 16);
        for (int i = 0; i < n; i++) {
            mem.writeLong(RX_RING + 16L * i, RX_BUF + 2048L * i);
            mem.writeLong(RX_RING + 16L * i + 8, 0);
        }
        w(RDH, 0);
        w(RCTL, rctl | RCTL_EN);
        w(RDT, n - 1);
        // QEMU holds frames back for a second of guest time after an RCTL write
        await("receiver ready", () -> dev.nic().canReceive());
    }

    int rxStatus(int i) {
        return mem.readByte(RX_RING + 16L * i + 12) & 0xff;
    }

    int rxLength(int i) {
        return mem.readShort(RX_RING + 16L * i + 8) & 0xffff;
    }

    byte[] rxData(int i, int len) {
        byte[] b = new byte[len];
        mem.read(RX_BUF + 2048L * i, b, 0, len);
        return b;
    }

    /** Sends a frame from the peer to the NIC; returns what the net layer says. */
    int fromPeer(byte[] frame) {
        return peer.send(ByteBuffer.wrap(frame));
    }

    static byte[] frame(String dst, String src, int ethertype, int payload) {
        byte[] f = new byte[14 + payload];
        System.arraycopy(MacAddress.parse(dst).bytes(), 0, f, 0, 6);
        System.arraycopy(MacAddress.parse(src).bytes(), 0, f, 6, 6);
        f[12] = (byte) (ethertype >> 8);
        f[13] = (byte) ethertype;
        for (int i = 0; i < payload; i++) {
            f[14 + i] = (byte) (i * 7 + 1);
        }
        return f;
    }

    static void await(String what, BooleanSupplier cond) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Override
    public void close() {
        dev.close();
        board.close();
    }
}
