package dev.jvmm.devices.net;

import dev.jvmm.core.net.NetQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Arrays;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reception: the filters, padding, size limits, VLAN stripping, interrupts and a full ring. */
@Timeout(120)
class E1000RxTest {
    private static final String OWN = "52:54:00:12:34:56";
    private static final String OTHER = "52:54:00:99:99:99";
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    private int received() {
        int n = 0;
        while (n < 64 && (rig.rxStatus(n) & RXD_STAT_DD) != 0) {
            n++;
        }
        return n;
    }

    @Test
    void filtersUnicastBroadcastMulticastPromiscuous() {
        rig.rxRing(32, 0);
        rig.fromPeer(E1000Rig.frame(OWN, OTHER, 0x0800, 100));
        assertEquals(1, received(), "own address (RA[0])");
        rig.fromPeer(E1000Rig.frame(OTHER, OTHER, 0x0800, 100));
        rig.fromPeer(E1000Rig.frame("ff:ff:ff:ff:ff:ff", OTHER, 0x0806, 46));
        assertEquals(1, received(), "other unicast and broadcast without BAM dropped");
        rig.w(RCTL, rig.r(RCTL) | RCTL_BAM);
        E1000Rig.await("receiver ready", () -> rig.dev.nic().canReceive());
        rig.fromPeer(E1000Rig.frame("ff:ff:ff:ff:ff:ff", OTHER, 0x0806, 46));
        assertEquals(2, received(), "broadcast with BAM");
        // 01:00:5e:00:00:fb with MO=0: hash bits 47:36 of the address
        byte[] mc = E1000Rig.frame("01:00:5e:00:00:fb", OTHER, 0x0800, 60);
        rig.fromPeer(mc);
        assertEquals(2, received(), "multicast not in the MTA");
        int hash = (((mc[5] & 0xff) << 8 | (mc[4] & 0xff)) >> 4) & 0xfff;
        rig.w(MTA + 4 * (hash >> 5), 1 << (hash & 31));
        rig.fromPeer(mc);
        assertEquals(3, received(), "multicast in the MTA");
        // a second exact address in RA[1]
        rig.w(RA + 8, 0x99005452);
        rig.w(RA + 12, RAH_AV | 0x9999);
        rig.fromPeer(E1000Rig.frame(OTHER, OWN, 0x0800, 60));
        assertEquals(4, received(), "RA[1]");
        rig.w(RCTL, rig.r(RCTL) | RCTL_UPE);
        E1000Rig.await("receiver ready", () -> rig.dev.nic().canReceive());
        rig.fromPeer(E1000Rig.frame("52:54:00:01:01:01", OWN, 0x0800, 60));
        assertEquals(5, received(), "unicast promiscuous");
        assertEquals(RXD_STAT_DD | RXD_STAT_EOP | RXD_STAT_IXSM, rig.rxStatus(0));
        assertEquals(114 + 4, rig.rxLength(0), "frame plus FCS room");
        assertArrayEquals(E1000Rig.frame(OWN, OTHER, 0x0800, 100), rig.rxData(0, 114));
        assertEquals(5, rig.r(RDH));
        assertEquals(5, rig.r(TPR));
    }

    @Test
    void runtsArePaddedAndSecrcDropsFcsRoom() {
        rig.rxRing(8, RCTL_SECRC);
        byte[] runt = E1000Rig.frame(OWN, OTHER, 0x0800, 6);
        rig.fromPeer(runt);
        assertEquals(60, rig.rxLength(0));
        byte[] want = Arrays.copyOf(runt, 60);
        assertArrayEquals(want, rig.rxData(0, 60));
    }

    @Test
    void longFramesNeedLpeAndSpanBuffers() {
        rig.rxRing(8, 0);
        byte[] big = E1000Rig.frame(OWN, OTHER, 0x0800, 3000);
        rig.fromPeer(big);
        assertEquals(0, received(), "3014 bytes without LPE");
        assertEquals(1, rig.r(ROC));
        rig.w(RCTL, rig.r(RCTL) | RCTL_LPE);
        E1000Rig.await("receiver ready", () -> rig.dev.nic().canReceive());
        rig.fromPeer(big);
        assertEquals(2, received());
        assertEquals(2048, rig.rxLength(0));
        assertEquals(RXD_STAT_DD, rig.rxStatus(0) & (RXD_STAT_DD | RXD_STAT_EOP));
        assertEquals(big.length + 4 - 2048, rig.rxLength(1));
        assertEquals(RXD_STAT_DD | RXD_STAT_EOP | RXD_STAT_IXSM, rig.rxStatus(1));
        byte[] got = new byte[big.length];
        rig.mem.read(E1000Rig.RX_BUF, got, 0, 2048);
        rig.mem.read(E1000Rig.RX_BUF + 2048, got, 2048, big.length - 2048);
        assertArrayEquals(big, got);
    }

    private static byte[] tagged(int vid) {
        byte[] f = E1000Rig.frame(OWN, OTHER, 0x8100, 64);
        f[14] = (byte) (vid >> 8);
        f[15] = (byte) vid;
        f[16] = 0x08;
        f[17] = 0x00;
        return f;
    }

    @Test
    void vlanFilterTableAndStripping() {
        rig.rxRing(8, RCTL_VFE);
        rig.fromPeer(tagged(5));
        assertEquals(0, received(), "VLAN 5 not in the VFTA");
        rig.w(VFTA, 1 << 5);
        rig.fromPeer(tagged(5));
        assertEquals(1, received());
        assertEquals(0, rig.rxStatus(0) & RXD_STAT_VP, "not stripped without VME");
        rig.w(CTRL, rig.r(CTRL) | CTRL_VME);
        byte[] f = tagged(5);
        rig.fromPeer(f);
        assertEquals(RXD_STAT_VP, rig.rxStatus(1) & RXD_STAT_VP);
        assertEquals(5, rig.mem.readShort(E1000Rig.RX_RING + 16 + 14));
        assertEquals(f.length - 4 + 4, rig.rxLength(1));
        byte[] want = new byte[f.length - 4];
        System.arraycopy(f, 0, want, 0, 12);
        System.arraycopy(f, 16, want, 12, f.length - 16);
        assertArrayEquals(want, rig.rxData(1, want.length));
    }

    @Test
    void rxInterruptAndThresholdCauses() {
        rig.rxRing(8, 0);
        rig.w(IMS, ICR_RXT0);
        rig.fromPeer(E1000Rig.frame(OWN, OTHER, 0x0800, 100));
        E1000Rig.await("RXT0", rig::irq);
        int icr = rig.r(ICR);
        assertEquals(ICR_RXT0, icr & ICR_RXT0);
        assertFalse(rig.irq());
    }

    @Test
    void floodIntoAFullRingIsBoundedAndDrainsWhenRdtMoves() {
        rig.rxRing(8, 0);
        byte[] f = E1000Rig.frame(OWN, OTHER, 0x0800, 1000);
        for (int i = 0; i < NetQueue.MAX_FRAMES + 5000; i++) {
            rig.fromPeer(f);
        }
        assertEquals(7, rig.r(RDH), "seven descriptors were free");
        assertTrue(rig.dev.nic().queuedFrames() <= NetQueue.MAX_FRAMES);
        assertTrue(rig.dev.nic().droppedFrames() > 0);
        int queued = rig.dev.nic().queuedFrames();
        // the driver hands the seven buffers back: seven queued frames come in
        for (int i = 0; i < 8; i++) {
            rig.mem.writeLong(E1000Rig.RX_RING + 16L * i + 8, 0);
        }
        rig.w(RDT, 6);
        assertEquals(6, rig.r(RDH));
        assertEquals(queued - 7, rig.dev.nic().queuedFrames());
    }

    @Test
    void receiverOffHoldsFramesInTheQueue() {
        rig.rxRing(8, 0);
        rig.w(RCTL, 0);
        assertFalse(rig.dev.nic().canReceive());
        assertEquals(0, rig.fromPeer(E1000Rig.frame(OWN, OTHER, 0x0800, 100)), "queued, as e1000_can_receive");
        assertEquals(1, rig.dev.nic().queuedFrames());
        assertEquals(0, received());
        rig.w(RCTL, RCTL_EN);
        E1000Rig.await("held frame delivered after the RCTL hold-off", () -> received() == 1);
    }
}
