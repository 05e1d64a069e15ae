package dev.jvmm.devices.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * 8254x manual section 3.2 ("Packet Reception") as QEMU 7.2's e1000_receive_iov does it: frames shorter than
 * 60 bytes padded, oversized ones dropped unless RCTL.LPE (16 KiB) or SBP allows them, the VLAN, broadcast,
 * promiscuous, exact (RA) and inexact (MTA) filters, the tag stripped into the descriptor with CTRL.VME, and
 * the frame spread over as many receive buffers (RCTL size) as it needs, FCS room included unless SECRC.
 * A ring without room for the frame is an overrun (RXO, MPC, RNBC); a ring too small for it ends after one lap.
 * The caller holds {@link E1000}'s lock.
 */
final class E1000Rx {
    /** ETH_ZLEN: what shorter frames are padded to. */
    static final int MIN_FRAME = 60;
    /** The largest frame taken at all (what a TSO-capable backend can hand over); longer ones are dropped. */
    static final int MAX_FRAME = 65536;
    /** Largest frame with RCTL.LPE clear (1518 plus a VLAN tag) and with it set. */
    static final int MAX_ETHERNET_VLAN_SIZE = 1522;
    static final int MAX_ETHERNET_LPE_SIZE = 16384;

    private final E1000 dev;
    private final int[] mac;
    private final byte[] frame = new byte[MAX_FRAME];
    private final byte[] descBytes = new byte[DESC_SIZE];
    private final ByteBuffer desc = ByteBuffer.wrap(descBytes).order(ByteOrder.LITTLE_ENDIAN);
    /** Receive buffer size from RCTL; 0 until the first RCTL write, as QEMU's rxbuf_size. */
    int rxbufSize;
    /** RCTL.RDMTS as a shift of RDLEN: the RXDMT0 threshold. */
    int rxbufMinShift = 1;

    E1000Rx(E1000 dev, int[] mac) {
        this.dev = dev;
        this.mac = mac;
    }

    /** e1000x_rxbufsize. */
    static int bufferSize(int rctl) {
        return switch (rctl & (RCTL_BSEX | RCTL_SZ_256)) {
            case RCTL_BSEX | RCTL_SZ_1024 -> 16384;
            case RCTL_BSEX | RCTL_SZ_512 -> 8192;
            case RCTL_BSEX | RCTL_SZ_256 -> 4096;
            case RCTL_SZ_1024 -> 1024;
            case RCTL_SZ_512 -> 512;
            case RCTL_SZ_256 -> 256;
            default -> 2048;
        };
    }

    void setRctl(int v) {
        rxbufSize = bufferSize(v);
        rxbufMinShift = ((v / RCTL_RDMTS_QUAT) & 3) + 1;
    }

    /** e1000_has_rxbufs: whether descriptors from RDH to RDT hold totalSize bytes. */
    boolean hasRxbufs(long totalSize) {
        int rdh = mac[w(RDH)];
        int rdt = mac[w(RDT)];
        if (totalSize <= (rxbufSize & 0xffff_ffffL)) {
            return rdh != rdt;
        }
        int bufs;
        if (Integer.compareUnsigned(rdh, rdt) < 0) {
            bufs = rdt - rdh;
        } else if (Integer.compareUnsigned(rdh, rdt) > 0) {
            bufs = (int) ((mac[w(RDLEN)] & 0xffff_ffffL) / DESC_SIZE) + rdt - rdh;
        } else {
            return false;
        }
        return totalSize <= ((bufs * rxbufSize) & 0xffff_ffffL);
    }

    private long ringBase() {
        return ((long) mac[w(RDBAH)] << 32) + (mac[w(RDBAL)] & ~0xfL & 0xffff_ffffL);
    }

    /**
     * One frame from the backend (position to limit). Returns its length when it was stored or dropped, 0 when
     * the device holds frames back (the RCTL flush delay) and the net layer should queue it.
     */
    int receive(ByteBuffer in, boolean flushDelay) {
        int len = in.remaining();
        if ((mac[w(STATUS)] & STATUS_LU) == 0 || (mac[w(RCTL)] & RCTL_EN) == 0) {
            return len;
        }
        if (flushDelay) {
            return 0;
        }
        if (len > MAX_FRAME) {
            dev.incReg(ROC);
            return len;
        }
        in.get(in.position(), frame, 0, len);
        receiveFrame(len);
        return len;
    }

    /** The frame copied into {@link #frame}; false when it went nowhere. */
    private boolean receiveFrame(int len) {
        int size = len;
        if (size < MIN_FRAME) {
            java.util.Arrays.fill(frame, size, MIN_FRAME, (byte) 0);
            size = MIN_FRAME;
        }
        if (oversized(size) || !filter()) {
            return false;
        }
        int start = 0;
        int vlanSpecial = 0;
        int vlanStatus = 0;
        if ((mac[w(CTRL)] & CTRL_VME) != 0 && isVlan()) {
            vlanSpecial = E1000Tx.getBe16(frame, 14);
            System.arraycopy(frame, 0, frame, 4, 12);
            start = 4;
            vlanStatus = RXD_STAT_VP;
            size -= 4;
        }
        int rdhStart = mac[w(RDH)];
        long descOffset = 0;
        long totalSize = size + ((mac[w(RCTL)] & RCTL_SECRC) != 0 ? 0 : 4);
        if (!hasRxbufs(totalSize)) {
            overrun();
            return false;
        }
        long ringDescs = (mac[w(RDLEN)] & 0xffff_ffffL) / DESC_SIZE;
        do {
            long descSize = Math.min(totalSize - descOffset, rxbufSize & 0xffff_ffffL);
            long base = ringBase() + (long) DESC_SIZE * (mac[w(RDH)] & 0xffff_ffffL);
            dev.dmaRead(base, descBytes, 0, DESC_SIZE);
            desc.putShort(14, (short) vlanSpecial);
            int status = descBytes[12] & ~RXD_STAT_DD;
            long ba = desc.getLong(0);
            if (ba != 0) {
                if (descOffset < size) {
                    int copy = (int) Math.min(size - descOffset, rxbufSize & 0xffff_ffffL);
                    dev.dmaWrite(ba, frame, start + (int) descOffset, copy);
                }
                descOffset += descSize;
                desc.putShort(8, (short) descSize);
                if (descOffset >= totalSize) {
                    status |= RXD_STAT_EOP | RXD_STAT_IXSM;
                } else {
                    status &= ~RXD_STAT_EOP;
                }
            }
            descBytes[12] = (byte) (status | vlanStatus | RXD_STAT_DD);
            dev.dmaWrite(base, descBytes, 0, DESC_SIZE);
            int rdh = mac[w(RDH)] + 1;
            if ((rdh & 0xffff_ffffL) * DESC_SIZE >= (mac[w(RDLEN)] & 0xffff_ffffL)) {
                rdh = 0;
            }
            mac[w(RDH)] = rdh;
            if (rdh == rdhStart || (rdhStart & 0xffff_ffffL) >= ringDescs) {
                overrun();
                return false;
            }
        } while (descOffset < totalSize);

        dev.sizeStats(PRC64, (int) totalSize);
        dev.incReg(TPR);
        mac[w(GPRC)] = mac[w(TPR)];
        dev.grow8Reg(TORL, size + 4);
        mac[w(GORCL)] = mac[w(TORL)];
        mac[w(GORCH)] = mac[w(TORH)];

        int cause = ICR_RXT0;
        long rdt = mac[w(RDT)] & 0xffff_ffffL;
        long rdh = mac[w(RDH)] & 0xffff_ffffL;
        if (rdt < rdh) {
            rdt += ringDescs;
        }
        if ((((rdt - rdh) & 0xffff_ffffL) * DESC_SIZE) <= ((mac[w(RDLEN)] & 0xffff_ffffL) >>> rxbufMinShift)) {
            cause |= ICR_RXDMT0;
        }
        dev.irq.setIcs(cause);
        return true;
    }

    private void overrun() {
        dev.incReg(RNBC);
        dev.incReg(MPC);
        dev.irq.setIcs(ICR_RXO);
    }

    /** e1000x_is_oversized: counted in ROC. */
    private boolean oversized(int size) {
        int rctl = mac[w(RCTL)];
        if ((size > MAX_ETHERNET_LPE_SIZE || (size > MAX_ETHERNET_VLAN_SIZE && (rctl & RCTL_LPE) == 0))
                && (rctl & RCTL_SBP) == 0) {
            dev.incReg(ROC);
            return true;
        }
        return false;
    }

    private boolean isVlan() {
        return E1000Tx.getBe16(frame, 12) == (mac[w(VET)] & 0xffff);
    }

    /** QEMU 7.2's receive_filter: VLAN table, then promiscuous and broadcast modes, then RA and MTA. */
    private boolean filter() {
        int rctl = mac[w(RCTL)];
        boolean bcast = true;
        for (int i = 0; i < 6; i++) {
            bcast &= frame[i] == (byte) 0xff;
        }
        boolean mcast = (frame[0] & 1) != 0;
        if (isVlan() && (rctl & RCTL_VFE) != 0) {
            int vid = E1000Tx.getBe16(frame, 14);
            int vfta = mac[w(VFTA) + ((vid >>> 5) & 0x7f)];
            if ((vfta & (1 << (vid & 0x1f))) == 0) {
                return false;
            }
        }
        if (!bcast && !mcast && (rctl & RCTL_UPE) != 0) {
            return true;
        }
        if (mcast && (rctl & RCTL_MPE) != 0) {
            dev.incReg(MPRC);
            return true;
        }
        if (bcast && (rctl & RCTL_BAM) != 0) {
            dev.incReg(BPRC);
            return true;
        }
        return groupFilter(rctl);
    }

    /** e1000x_rx_group_filter: the 16 receive addresses, then the 4096-bit multicast table. */
    private boolean groupFilter(int rctl) {
        for (int i = 0; i < RA_WORDS; i += 2) {
            int lo = mac[w(RA) + i];
            int hi = mac[w(RA) + i + 1];
            if ((hi & RAH_AV) == 0) {
                continue;
            }
            boolean match = true;
            for (int b = 0; b < 6; b++) {
                int v = b < 4 ? lo >>> (8 * b) : hi >>> (8 * (b - 4));
                match &= frame[b] == (byte) v;
            }
            if (match) {
                return true;
            }
        }
        int shift = switch ((rctl >>> RCTL_MO_SHIFT) & 3) {
            case 0 -> 4;
            case 1 -> 3;
            case 2 -> 2;
            default -> 0;
        };
        int f = ((((frame[5] & 0xff) << 8) | (frame[4] & 0xff)) >>> shift) & 0xfff;
        if ((mac[w(MTA) + (f >>> 5)] & (1 << (f & 0x1f))) != 0) {
            dev.incReg(MPRC);
            return true;
        }
        return false;
    }
}
