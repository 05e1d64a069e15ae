package dev.jvmm.devices.net;

import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * 8254x manual section 3.3 ("Packet Transmission"): the transmit descriptor ring walked on a TDT or TCTL write
 * as QEMU 7.2's start_xmit, process_tx_desc and xmit_seg do it: legacy descriptors, TCP/IP context descriptors
 * (one set for checksum offload, one for TCP segmentation) and data descriptors, IP and TCP/UDP checksum
 * insertion, TSO segmentation with IP length/id and TCP sequence fix-ups, and VLAN tag insertion. A frame is
 * at most 64 KiB (further data is dropped, as in QEMU), and one walk visits each descriptor of the ring at most
 * once, whatever TDH, TDT and TDLEN say. The caller holds {@link E1000}'s lock.
 */
final class E1000Tx {
    /** QEMU's tx.data: the frame being built. */
    static final int MAX_FRAME = 0x10000;
    /** The frame starts 4 bytes into {@link #buf}, leaving room for a tag to be inserted in front. */
    private static final int DATA = 4;

    /** One set of context-descriptor fields (QEMU's e1000x_txd_props). */
    static final class Props {
        int ipcss;
        int ipcso;
        int ipcse;
        int tucss;
        int tucso;
        int tucse;
        int paylen;
        int hdrLen;
        int mss;
        boolean ip;
        boolean tcp;
        boolean tse;

        void read(ByteBuffer d) {
            int op = d.getInt(8);
            ipcss = d.get(0) & 0xff;
            ipcso = d.get(1) & 0xff;
            ipcse = d.getShort(2) & 0xffff;
            tucss = d.get(4) & 0xff;
            tucso = d.get(5) & 0xff;
            tucse = d.getShort(6) & 0xffff;
            paylen = op & 0xfffff;
            hdrLen = d.get(13) & 0xff;
            mss = d.getShort(14) & 0xffff;
            ip = (op & TXD_CMD_IP) != 0;
            tcp = (op & TXD_CMD_TCP) != 0;
            tse = (op & TXD_CMD_TSE) != 0;
        }

        void clear() {
            ipcss = ipcso = ipcse = tucss = tucso = tucse = paylen = hdrLen = mss = 0;
            ip = tcp = tse = false;
        }

        void save(StateWriter w) {
            w.u8("ipcss", ipcss).u8("ipcso", ipcso).u16("ipcse", ipcse).u8("tucss", tucss).u8("tucso", tucso)
                    .u16("tucse", tucse).u32("paylen", paylen).u8("hdr-len", hdrLen).u16("mss", mss)
                    .bool("ip", ip).bool("tcp", tcp).bool("tse", tse);
        }

        void load(StateReader r) throws StateException {
            ipcss = r.u8("ipcss");
            ipcso = r.u8("ipcso");
            ipcse = r.u16("ipcse");
            tucss = r.u8("tucss");
            tucso = r.u8("tucso");
            tucse = r.u16("tucse");
            paylen = r.u32("paylen", 0, 0xfffff);
            hdrLen = r.u8("hdr-len");
            mss = r.u16("mss");
            ip = r.bool("ip");
            tcp = r.bool("tcp");
            tse = r.bool("tse");
        }
    }

    private final E1000 dev;
    private final int[] mac;
    final byte[] buf = new byte[DATA + MAX_FRAME];
    private final ByteBuffer frame = ByteBuffer.wrap(buf);
    final byte[] header = new byte[256];
    final byte[] vlanHeader = new byte[4];
    private final byte[] descBytes = new byte[DESC_SIZE];
    private final ByteBuffer desc = ByteBuffer.wrap(descBytes).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] statusBytes = new byte[4];
    final Props props = new Props();
    final Props tsoProps = new Props();
    int size;
    boolean vlanNeeded;
    int sumNeeded;
    boolean cptse;
    int tsoFrames;
    private boolean busy;

    E1000Tx(E1000 dev, int[] mac) {
        this.dev = dev;
        this.mac = mac;
    }

    void reset() {
        java.util.Arrays.fill(buf, (byte) 0);
        java.util.Arrays.fill(header, (byte) 0);
        java.util.Arrays.fill(vlanHeader, (byte) 0);
        props.clear();
        tsoProps.clear();
        size = 0;
        vlanNeeded = false;
        sumNeeded = 0;
        cptse = false;
        tsoFrames = 0;
        busy = false;
    }

    private long ringBase() {
        return ((long) mac[w(TDBAH)] << 32) + (mac[w(TDBAL)] & ~0xfL & 0xffff_ffffL);
    }

    /** start_xmit: descriptors from TDH up to TDT, then TXQE (and TXDW for reported ones) in ICS. */
    void startXmit() {
        if ((mac[w(TCTL)] & TCTL_EN) == 0 || busy) {
            return;
        }
        busy = true;
        int tdhStart = mac[w(TDH)];
        int cause = ICR_TXQE;
        while (mac[w(TDH)] != mac[w(TDT)]) {
            long base = ringBase() + (long) DESC_SIZE * (mac[w(TDH)] & 0xffff_ffffL);
            dev.dmaRead(base, descBytes, 0, DESC_SIZE);
            processDescriptor();
            cause |= writeback(base);
            int tdh = mac[w(TDH)] + 1;
            if ((long) tdh * DESC_SIZE >= (mac[w(TDLEN)] & 0xffff_ffffL)) {
                tdh = 0;
            }
            mac[w(TDH)] = tdh;
            // bogus TDT/TDLEN: stop after one lap or when the ring never held TDH
            if (tdh == tdhStart || (tdhStart & 0xffff_ffffL) >= (mac[w(TDLEN)] & 0xffff_ffffL) / DESC_SIZE) {
                break;
            }
        }
        busy = false;
        dev.irq.setIcs(cause);
    }

    private int writeback(long base) {
        int lower = desc.getInt(8);
        if ((lower & (TXD_CMD_RS | TXD_CMD_RPS)) == 0) {
            return 0;
        }
        int upper = (desc.getInt(12) | TXD_STAT_DD) & ~(TXD_STAT_EC | TXD_STAT_LC | TXD_STAT_TU);
        ByteBuffer.wrap(statusBytes).order(ByteOrder.LITTLE_ENDIAN).putInt(0, upper);
        dev.dmaWrite(base + 12, statusBytes, 0, 4);
        return ICR_TXDW;
    }

    /** process_tx_desc for the descriptor in {@link #desc}. */
    private void processDescriptor() {
        int lower = desc.getInt(8);
        int dtype = lower & (TXD_CMD_DEXT | TXD_DTYP_D);
        int splitSize = lower & 0xffff;
        dev.irq.noteTxIde(lower & TXD_CMD_IDE);
        if (dtype == TXD_CMD_DEXT) {
            if ((lower & TXD_CMD_TSE) != 0) {
                tsoProps.read(desc);
                dev.useTsoForMigration(true);
                tsoFrames = 0;
            } else {
                props.read(desc);
                dev.useTsoForMigration(false);
            }
            return;
        } else if (dtype == (TXD_CMD_DEXT | TXD_DTYP_D)) {
            if (size == 0) {
                sumNeeded = (desc.getInt(12) >>> 8) & 0xff;
            }
            cptse = (lower & TXD_CMD_TSE) != 0;
        } else {
            cptse = false;
        }
        if ((mac[w(CTRL)] & CTRL_VME) != 0 && (lower & TXD_CMD_VLE) != 0
                && (cptse || (lower & TXD_CMD_EOP) != 0)) {
            vlanNeeded = true;
            putBe16(vlanHeader, 0, mac[w(VET)]);
            putBe16(vlanHeader, 2, desc.getShort(14));
        }
        long addr = desc.getLong(0);
        if (cptse) {
            int msh = tsoProps.hdrLen + tsoProps.mss;
            int bytes;
            do {
                bytes = splitSize;
                if (size >= msh) {
                    break;
                }
                if (size + bytes > msh) {
                    bytes = msh - size;
                }
                bytes = Math.min(MAX_FRAME - size, bytes);
                dev.dmaRead(addr, buf, DATA + size, bytes);
                int sz = size + bytes;
                if (sz >= tsoProps.hdrLen && size < tsoProps.hdrLen) {
                    System.arraycopy(buf, DATA, header, 0, tsoProps.hdrLen);
                }
                size = sz & 0xffff; // QEMU's tx.size is 16 bits
                addr += bytes;
                if (sz == msh) {
                    xmitSeg();
                    System.arraycopy(header, 0, buf, DATA, tsoProps.hdrLen);
                    size = tsoProps.hdrLen;
                }
                splitSize -= bytes;
            } while (bytes != 0 && splitSize != 0);
        } else {
            int n = Math.min(MAX_FRAME - size, splitSize);
            dev.dmaRead(addr, buf, DATA + size, n);
            size = (size + n) & 0xffff;
        }
        if ((lower & TXD_CMD_EOP) == 0) {
            return;
        }
        if (!(cptse && size < tsoProps.hdrLen)) {
            xmitSeg();
        }
        tsoFrames = 0;
        sumNeeded = 0;
        vlanNeeded = false;
        size = 0;
        cptse = false;
    }

    /** xmit_seg: fix up one segment's headers and checksums and send it. */
    private void xmitSeg() {
        Props p = cptse ? tsoProps : props;
        if (cptse) {
            int css = p.ipcss;
            if (p.ip) {
                putBe16(buf, DATA + css + 2, size - css);
                putBe16(buf, DATA + css + 4, getBe16(buf, DATA + css + 4) + tsoFrames);
            } else {
                putBe16(buf, DATA + css + 4, size - css);
            }
            css = p.tucss;
            int len = (size - css) & 0xffff;
            if (p.tcp) {
                long sofar = (long) tsoFrames * p.mss;
                int at = DATA + css + 4;
                putBe32(buf, at, (int) (getBe32(buf, at) + sofar));
                if (((p.paylen - sofar) & 0xffff_ffffL) > p.mss) {
                    buf[DATA + css + 13] &= ~9; // PSH, FIN only on the last segment
                } else if (tsoFrames != 0) {
                    dev.incReg(TSCTC);
                }
            } else {
                putBe16(buf, DATA + css + 4, len);
            }
            if ((sumNeeded & TXD_POPTS_TXSM) != 0) {
                // the pseudo-header sum the driver left lacks the length
                int at = DATA + p.tucso;
                int phsum = getBe16(buf, at) + len;
                phsum = (phsum >>> 16) + (phsum & 0xffff);
                putBe16(buf, at, phsum);
            }
            tsoFrames = (tsoFrames + 1) & 0xffff;
        }
        if ((sumNeeded & TXD_POPTS_TXSM) != 0) {
            putSum(size, p.tucso, p.tucss, p.tucse);
        }
        if ((sumNeeded & TXD_POPTS_IXSM) != 0) {
            putSum(size, p.ipcso, p.ipcss, p.ipcse);
        }
        if (vlanNeeded) {
            System.arraycopy(buf, DATA, buf, 0, 4);
            System.arraycopy(buf, DATA + 4, buf, DATA, 8);
            System.arraycopy(vlanHeader, 0, buf, DATA + 8, 4);
            send(0, size + 4);
        } else {
            send(DATA, size);
        }
        dev.incReg(TPT);
        dev.grow8Reg(TOTL, size + 4);
        int[] m = mac;
        m[w(GPTC)] = m[w(TPT)];
        m[w(GOTCL)] = m[w(TOTL)];
        m[w(GOTCH)] = m[w(TOTH)];
    }

    /** e1000_send_packet: to the peer, or back to our own receive path in PHY loopback. */
    private void send(int off, int len) {
        frame.limit(off + len).position(off);
        dev.transmit(frame, buf, off, len);
        int d0 = buf[off] & 0xff;
        boolean broadcast = true;
        for (int i = 0; i < 6; i++) {
            broadcast &= buf[off + i] == (byte) 0xff;
        }
        if (broadcast) {
            dev.incReg(BPTC);
        } else if ((d0 & 1) != 0) {
            dev.incReg(MPTC);
        }
        dev.sizeStats(PTC64, len + 4); // FCS included, as QEMU 7.2 counts
    }

    /** QEMU's putsum: the Internet checksum of bytes css..n (or ..cse) stored big-endian at sloc. */
    private void putSum(int n, int sloc, int css, int cse) {
        if (cse != 0 && cse < n) {
            n = cse + 1;
        }
        if ((sloc & 0xffff_ffffL) < ((n - 1) & 0xffff_ffffL)) {
            long sum = 0;
            int len = n - css;
            for (int i = 0; i < len; i++) {
                int b = buf[DATA + css + i] & 0xff;
                sum += (i & 1) == 0 ? b << 8 : b;
            }
            while ((sum >>> 16) != 0) {
                sum = (sum & 0xffff) + (sum >>> 16);
            }
            int v = (int) ~sum & 0xffff;
            putBe16(buf, DATA + sloc, v == 0 ? 0xffff : v);
        }
    }

    static int getBe16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    static void putBe16(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }

    static long getBe32(byte[] b, int at) {
        return ((long) getBe16(b, at) << 16 | getBe16(b, at + 2)) & 0xffff_ffffL;
    }

    static void putBe32(byte[] b, int at, int v) {
        putBe16(b, at, v >>> 16);
        putBe16(b, at + 2, v);
    }

    void save(StateWriter w) {
        w.begin("props");
        props.save(w);
        w.end().begin("tso-props");
        tsoProps.save(w);
        w.end();
        w.u16("size", size).u16("tso-frames", tsoFrames).u8("sum-needed", sumNeeded).bool("vlan-needed", vlanNeeded)
                .bool("cptse", cptse).bytes("vlan-header", vlanHeader).bytes("header", header)
                .bytes("data", buf, DATA, size);
    }

    void load(StateReader r) throws StateException {
        r.begin("props");
        props.load(r);
        r.end();
        r.begin("tso-props");
        tsoProps.load(r);
        r.end();
        int sz = r.u16("size");
        tsoFrames = r.u16("tso-frames");
        sumNeeded = r.u8("sum-needed");
        vlanNeeded = r.bool("vlan-needed");
        cptse = r.bool("cptse");
        r.bytes("vlan-header", vlanHeader);
        r.bytes("header", header);
        byte[] data = r.bytes("data");
        if (data.length != sz) {
            throw r.invalid("data", data.length + " bytes for a frame of " + sz);
        }
        System.arraycopy(data, 0, buf, DATA, sz);
        size = sz;
        busy = false;
    }
}
