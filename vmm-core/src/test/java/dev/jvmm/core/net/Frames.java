package dev.jvmm.core.net;

import java.nio.ByteBuffer;

/** Ethernet, ARP, IPv4, ICMP and UDP frames built and read by tests. */
public final class Frames {
    public static final int ETH_ARP = 0x0806;
    public static final int ETH_IP = 0x0800;

    private Frames() {
    }

    public static int ethType(byte[] f) {
        return f.length < 14 ? -1 : ((f[12] & 0xff) << 8) | (f[13] & 0xff);
    }

    public static int u16(byte[] f, int off) {
        return ((f[off] & 0xff) << 8) | (f[off + 1] & 0xff);
    }

    public static int u32(byte[] f, int off) {
        return (u16(f, off) << 16) | u16(f, off + 2);
    }

    public static byte[] ip(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    public static int ipInt(byte[] ip) {
        return u32(ip, 0);
    }

    /** An ARP request from (mac, ip) for target. */
    public static byte[] arpRequest(byte[] mac, byte[] ip, byte[] target) {
        ByteBuffer b = ByteBuffer.allocate(60);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(mac).putShort((short) ETH_ARP);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(mac).put(ip).put(new byte[6]).put(target);
        return b.array();
    }

    /** An ARP reply from (mac, ip) to (toMac, toIp). */
    public static byte[] arpReply(byte[] mac, byte[] ip, byte[] toMac, byte[] toIp) {
        ByteBuffer b = ByteBuffer.allocate(60);
        b.put(toMac).put(mac).putShort((short) ETH_ARP);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 2);
        b.put(mac).put(ip).put(toMac).put(toIp);
        return b.array();
    }

    public static int checksum(byte[] d, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += u16(d, off + i);
        }
        if ((len & 1) != 0) {
            sum += (d[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** An IPv4 frame with a 20-byte header and the given payload. */
    public static byte[] ipv4(byte[] dstMac, byte[] srcMac, byte[] src, byte[] dst, int proto, byte[] payload) {
        byte[] f = new byte[14 + 20 + payload.length];
        ByteBuffer b = ByteBuffer.wrap(f);
        b.put(dstMac).put(srcMac).putShort((short) ETH_IP);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 1)
                .putShort((short) 0).put((byte) 64).put((byte) proto).putShort((short) 0).put(src).put(dst);
        b.put(payload);
        int cs = checksum(f, 14, 20);
        f[24] = (byte) (cs >> 8);
        f[25] = (byte) cs;
        return f;
    }

    public static byte[] udp(int srcPort, int dstPort, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + data.length))
                .putShort((short) 0).put(data);
        return b.array();
    }

    public static byte[] icmpEcho(int id, int seq, byte[] data) {
        byte[] p = new byte[8 + data.length];
        ByteBuffer.wrap(p).put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id)
                .putShort((short) seq).put(data);
        int cs = checksum(p, 0, p.length);
        p[2] = (byte) (cs >> 8);
        p[3] = (byte) cs;
        return p;
    }

    /** A BOOTP/DHCP DISCOVER (300 bytes of BOOTP) from mac with transaction id xid. */
    public static byte[] dhcpDiscover(byte[] mac, int xid) {
        ByteBuffer b = ByteBuffer.allocate(300);
        b.put((byte) 1).put((byte) 1).put((byte) 6).put((byte) 0).putInt(xid).putShort((short) 0)
                .putShort((short) 0x8000);
        b.position(28);
        b.put(mac);
        b.position(236);
        b.putInt(0x63825363);
        b.put((byte) 53).put((byte) 1).put((byte) 1).put((byte) 255);
        byte[] bootp = b.array();
        byte[] bcast = {-1, -1, -1, -1, -1, -1};
        return ipv4(bcast, mac, ip(0, 0, 0, 0), ip(255, 255, 255, 255), 17, udp(68, 67, bootp));
    }
}
