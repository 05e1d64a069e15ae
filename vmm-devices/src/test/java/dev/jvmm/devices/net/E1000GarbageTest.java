package dev.jvmm.devices.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Guest garbage: every walk ends, nothing throws, nothing grows without bound. */
@Timeout(120)
class E1000GarbageTest {
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void transmitRingNonsenseEnds() {
        rig.txRing(8);
        // TDT beyond the ring: one lap, then stop
        rig.w(TDT, 0xffff);
        assertEquals(0, rig.r(TDH));
        // TDLEN 0
        rig.w(TDLEN, 0);
        rig.w(TDT, 5);
        assertEquals(0, rig.r(TDH));
        // TDH beyond the ring
        rig.w(TDLEN, 128);
        rig.w(TDH, 0x8000);
        rig.w(TDT, 1);
        assertTrue(rig.r(TDH) < 8 || rig.r(TDH) == 0x8001);
        // a ring of the largest size, every descriptor a zero-length frame pointing outside RAM
        rig.w(TDLEN, 0xfff80);
        rig.w(TDBAL, 0x100000);
        for (int i = 0; i < 0xfff8; i++) {
            rig.mem.writeLong(0x100000 + 16L * i, 0x7fff_ffff_f000L);
            rig.mem.writeInt(0x100000 + 16L * i + 8, TXD_CMD_EOP | TXD_CMD_RS);
        }
        rig.w(TDH, 0);
        rig.w(TDT, 0xfff7);
        assertEquals(0xfff7, rig.r(TDH));
        // the ring itself outside RAM: zero descriptors
        rig.w(TDBAH, 0x7fff);
        rig.w(TDT, 3);
        assertEquals(3, rig.r(TDH));
    }

    @Test
    void bogusContextAndSegmentationSettingsEnd() {
        rig.txRing(16);
        Random r = new Random(7);
        for (int round = 0; round < 200; round++) {
            for (int i = 0; i < 16; i++) {
                long d = E1000Rig.TX_RING + 16L * i;
                rig.mem.writeLong(d, r.nextBoolean() ? E1000Rig.TX_BUF + r.nextInt(0x10000) : r.nextLong());
                int lower = r.nextInt();
                if (r.nextInt(4) == 0) {
                    lower |= TXD_CMD_DEXT | TXD_CMD_TSE;
                }
                rig.mem.writeInt(d + 8, lower);
                rig.mem.writeInt(d + 12, r.nextInt());
            }
            rig.w(CTRL, r.nextInt());
            rig.w(TDT, (rig.r(TDH) + 1 + r.nextInt(15)) % 16);
        }
        assertTrue(rig.r(TDH) < 16);
    }

    @Test
    void receiveRingNonsenseEnds() {
        rig.rxRing(8, RCTL_BAM | RCTL_UPE | RCTL_MPE | RCTL_LPE | RCTL_SBP);
        byte[] f = E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:00:00:01", 0x0800, 1500);
        // null buffer addresses: skipped until the ring runs out
        for (int i = 0; i < 8; i++) {
            rig.mem.writeLong(E1000Rig.RX_RING + 16L * i, 0);
        }
        rig.fromPeer(f);
        // buffers outside RAM and a ring outside RAM
        rig.w(RDT, (rig.r(RDH) + 7) % 8);
        for (int i = 0; i < 8; i++) {
            rig.mem.writeLong(E1000Rig.RX_RING + 16L * i, 0x7fff_0000_0000L);
        }
        rig.fromPeer(f);
        rig.w(RDBAH, 0x7fff);
        rig.fromPeer(f);
        // RDLEN 0 and RDH beyond the ring
        rig.w(RDLEN, 0);
        rig.w(RDH, 0x9000);
        rig.w(RDT, 0x9001);
        rig.fromPeer(f);
        // 256-byte buffers and a 16 KiB frame over the largest ring
        rig.w(RDBAH, 0);
        rig.w(RDLEN, 0xfff80);
        rig.w(RDH, 0);
        rig.w(RDT, 0xfff0);
        rig.w(RCTL, RCTL_EN | RCTL_SZ_256 | RCTL_LPE | RCTL_BAM);
        for (int i = 0; i < 70; i++) {
            rig.mem.writeLong(E1000Rig.RX_RING + 16L * i, E1000Rig.RX_BUF + 256L * i);
        }
        rig.dev.lock.lock();
        try {
            rig.dev.rx.receive(java.nio.ByteBuffer.wrap(E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:00:00:01",
                    0x0800, 16000)), false);
        } finally {
            rig.dev.lock.unlock();
        }
        assertEquals(63, rig.r(RDH), "16018 bytes and the FCS in 256-byte buffers");
        // descriptors 63-69 have buffers, then null ones are skipped round the 65528-entry ring to 0-55
        int mpc = rig.r(MPC);
        rig.dev.lock.lock();
        try {
            rig.dev.rx.receive(java.nio.ByteBuffer.wrap(E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:00:00:01",
                    0x0800, 16000)), false);
        } finally {
            rig.dev.lock.unlock();
        }
        assertEquals(56, rig.r(RDH));
        assertEquals(mpc, rig.r(MPC));
    }

    @Test
    void oddAccessesToBothBars() {
        Random r = new Random(11);
        for (int i = 0; i < 20000; i++) {
            int size = 1 << r.nextInt(4);
            long off = r.nextInt(E1000.MMIO_SIZE + 16);
            if ((off >> 2) == (TCTL >> 2) || (off >> 2) == (TDT >> 2)) {
                continue;
            }
            if (r.nextBoolean()) {
                rig.mmio.read(off, size);
                rig.io.read(off & 0x3f, size);
            } else {
                rig.mmio.write(off, size, r.nextLong());
                rig.io.write(off & 0x3f, size, r.nextLong());
            }
        }
        assertTrue(rig.dev.nic().queuedFrames() <= dev.jvmm.core.net.NetQueue.MAX_FRAMES);
    }
}
