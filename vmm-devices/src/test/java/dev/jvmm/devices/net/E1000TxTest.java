package dev.jvmm.devices.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Arrays;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Transmission: legacy descriptors, checksum offload, TCP segmentation and VLAN insertion. */
@Timeout(60)
class E1000TxTest {
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    static int sum16(byte[] b, int off, int len, long start) {
        long sum = start;
        for (int i = 0; i < len; i++) {
            sum += (i & 1) == 0 ? (b[off + i] & 0xff) << 8 : b[off + i] & 0xff;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    static int be16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    static long be32(byte[] b, int at) {
        return ((long) be16(b, at) << 16 | be16(b, at + 2)) & 0xffff_ffffL;
    }

    /** Ethernet + IPv4 (20 bytes) + TCP (20 bytes) with payload bytes, checksums left to the device. */
    static byte[] tcpFrame(int payload, int ipTotal, int pseudo) {
        byte[] f = E1000Rig.frame("52:54:00:aa:bb:cc", "52:54:00:12:34:56", 0x0800, 40 + payload);
        f[14] = 0x45;
        f[15] = 0;
        f[16] = (byte) (ipTotal >> 8);
        f[17] = (byte) ipTotal;
        f[18] = 0x12;
        f[19] = 0x34; // id
        f[20] = 0x40;
        f[21] = 0;
        f[22] = 64;
        f[23] = 6;
        f[24] = 0;
        f[25] = 0;
        byte[] ips = {10, 0, 2, 15, 10, 0, 2, 2};
        System.arraycopy(ips, 0, f, 26, 8);
        f[34] = 0x12;
        f[35] = 0x34;
        f[36] = 0x00;
        f[37] = 0x50;
        f[38] = 0x01;
        f[39] = 0x02;
        f[40] = 0x03;
        f[41] = 0x04; // seq
        Arrays.fill(f, 42, 46, (byte) 0);
        f[46] = 0x50;
        f[47] = 0x19; // FIN, PSH, ACK
        f[48] = 0x10;
        f[49] = 0;
        f[50] = (byte) (pseudo >> 8);
        f[51] = (byte) pseudo;
        f[52] = 0;
        f[53] = 0;
        return f;
    }

    /** The pseudo-header sum (addresses, protocol 6, and tcpLength when given) as Linux leaves it. */
    static int pseudo(byte[] f, int tcpLength) {
        long s = be16(f, 26) + be16(f, 28) + be16(f, 30) + be16(f, 32) + 6 + tcpLength;
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static void assertTcpChecksums(byte[] seg) {
        assertEquals(0xffff, sum16(seg, 14, 20, 0), "IP header checksum");
        int tcpLen = seg.length - 34;
        assertEquals(0xffff, sum16(seg, 34, tcpLen, pseudo(seg, tcpLen)), "TCP checksum");
    }

    @Test
    void legacyDescriptorsSendFramesAndWriteBackDone() {
        rig.txRing(8);
        byte[] f1 = E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:12:34:56", 0x0806, 46);
        byte[] f2 = E1000Rig.frame("52:54:00:aa:bb:cc", "52:54:00:12:34:56", 0x0800, 100);
        rig.mem.write(E1000Rig.TX_BUF, f1, 0, f1.length);
        // the second frame in two pieces
        rig.mem.write(E1000Rig.TX_BUF + 0x1000, f2, 0, 50);
        rig.mem.write(E1000Rig.TX_BUF + 0x2000, f2, 50, f2.length - 50);
        rig.txDesc(0, E1000Rig.TX_BUF, f1.length | TXD_CMD_EOP | TXD_CMD_RS, 0);
        rig.txDesc(1, E1000Rig.TX_BUF + 0x1000, 50, 0);
        rig.txDesc(2, E1000Rig.TX_BUF + 0x2000, (f2.length - 50) | TXD_CMD_EOP | TXD_CMD_RS, 0);
        rig.w(IMS, ICR_TXDW);
        rig.w(TDT, 3);
        assertEquals(2, rig.peer.frames.size());
        assertArrayEquals(f1, rig.peer.frames.get(0));
        assertArrayEquals(f2, rig.peer.frames.get(1));
        assertEquals(3, rig.r(TDH));
        assertEquals(TXD_STAT_DD, rig.mem.readInt(E1000Rig.TX_RING + 12) & 0xff);
        assertEquals(0, rig.mem.readInt(E1000Rig.TX_RING + 16 + 12) & 0xff, "no RS, no write-back");
        assertEquals(TXD_STAT_DD, rig.mem.readInt(E1000Rig.TX_RING + 32 + 12) & 0xff);
        assertTrue(rig.irq());
        assertEquals(ICR_TXDW | ICR_TXQE, rig.r(ICR));
        assertEquals(2, rig.r(TPT));
        assertEquals(1, rig.r(BPTC));
    }

    @Test
    void checksumOffloadFillsIpAndTcpChecksums() {
        rig.txRing(8);
        byte[] f = tcpFrame(300, 340, 0);
        int ph = pseudo(f, 320);
        f[50] = (byte) (ph >> 8);
        f[51] = (byte) ph;
        rig.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
        rig.ctxDesc(0, 14, 24, 33, 34, 50, 0, TXD_CMD_DEXT | TXD_CMD_IP | TXD_CMD_TCP, 0, 0);
        rig.txDesc(1, E1000Rig.TX_BUF, f.length | TXD_CMD_DEXT | TXD_DTYP_D | TXD_CMD_EOP,
                (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8);
        rig.w(TDT, 2);
        assertEquals(1, rig.peer.frames.size());
        assertTcpChecksums(rig.peer.frames.get(0));
    }

    @Test
    void tsoSplitsIntoMssSegmentsWithFixedHeaders() {
        rig.txRing(8);
        int payload = 2500;
        int mss = 1000;
        byte[] f = tcpFrame(payload, 0, 0);
        int ph = pseudo(f, 0);
        f[50] = (byte) (ph >> 8);
        f[51] = (byte) ph;
        rig.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
        rig.ctxDesc(0, 14, 24, 33, 34, 50, 0,
                TXD_CMD_DEXT | TXD_CMD_TSE | TXD_CMD_IP | TXD_CMD_TCP | payload, 54, mss);
        // header and payload in two data descriptors, as Linux maps them
        rig.txDesc(1, E1000Rig.TX_BUF, 54 | TXD_CMD_DEXT | TXD_DTYP_D | TXD_CMD_TSE,
                (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8);
        rig.txDesc(2, E1000Rig.TX_BUF + 54, payload | TXD_CMD_DEXT | TXD_DTYP_D | TXD_CMD_TSE | TXD_CMD_EOP
                | TXD_CMD_RS, (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8);
        rig.w(TDT, 3);
        assertEquals(3, rig.peer.frames.size());
        int[] sizes = {1000, 1000, 500};
        int offset = 0;
        for (int i = 0; i < 3; i++) {
            byte[] seg = rig.peer.frames.get(i);
            assertEquals(54 + sizes[i], seg.length, "segment " + i);
            assertEquals(40 + sizes[i], be16(seg, 16), "IP total length");
            assertEquals(0x1234 + i, be16(seg, 18), "IP id");
            assertEquals(0x01020304L + offset, be32(seg, 38), "TCP sequence");
            assertEquals(i == 2 ? 0x19 : 0x10, seg[47] & 0xff, "PSH/FIN on the last segment only");
            assertArrayEquals(Arrays.copyOfRange(f, 54 + offset, 54 + offset + sizes[i]),
                    Arrays.copyOfRange(seg, 54, seg.length));
            assertTcpChecksums(seg);
            offset += sizes[i];
        }
        assertEquals(TXD_STAT_DD, rig.mem.readInt(E1000Rig.TX_RING + 32 + 12) & 0xff);
        assertEquals(1, rig.r(TSCTC));
    }

    @Test
    void vlanTagInsertedWithVme() {
        rig.txRing(8);
        rig.w(CTRL, rig.r(CTRL) | CTRL_VME);
        byte[] f = E1000Rig.frame("52:54:00:aa:bb:cc", "52:54:00:12:34:56", 0x0800, 50);
        rig.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
        rig.txDesc(0, E1000Rig.TX_BUF, f.length | TXD_CMD_EOP | TXD_CMD_VLE, 0x0123 << 16);
        rig.w(TDT, 1);
        byte[] out = rig.peer.frames.get(0);
        assertEquals(f.length + 4, out.length);
        assertArrayEquals(Arrays.copyOfRange(f, 0, 12), Arrays.copyOfRange(out, 0, 12));
        assertEquals(0x8100, be16(out, 12));
        assertEquals(0x0123, be16(out, 14));
        assertArrayEquals(Arrays.copyOfRange(f, 12, f.length), Arrays.copyOfRange(out, 16, out.length));
    }

    @Test
    void phyLoopbackReceivesOwnFrames() {
        rig.rxRing(8, RCTL_BAM);
        rig.w(MDIC, 1 << 21 | MDIC_OP_WRITE | 0x1140 | E1000Phy.BMCR_LOOPBACK);
        rig.txRing(8);
        byte[] f = E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:12:34:56", 0x0806, 46);
        rig.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
        rig.txDesc(0, E1000Rig.TX_BUF, f.length | TXD_CMD_EOP, 0);
        rig.w(TDT, 1);
        assertEquals(0, rig.peer.frames.size());
        assertEquals(RXD_STAT_DD | RXD_STAT_EOP | RXD_STAT_IXSM, rig.rxStatus(0));
        assertArrayEquals(f, rig.rxData(0, f.length));
    }
}
