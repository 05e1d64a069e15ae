package dev.jvmm.devices.net;

/**
 * RFC 1071 Internet checksums over an Ethernet frame's IPv4 header and its TCP or UDP segment, as QEMU 7.2's
 * net_checksum_calculate (net/checksum.c) fills them in, including its shortcuts: the TCP or UDP header is
 * taken to follow a 20-byte IP header, and fragments get no transport checksum.
 */
final class NetChecksum {
    static final int CSUM_IP = 1;
    static final int CSUM_TCP = 2;
    static final int CSUM_UDP = 4;
    private static final int ETH_HLEN = 14;
    private static final int VLAN_HLEN = 4;
    private static final int ETH_P_IP = 0x0800;
    private static final int ETH_P_VLAN = 0x8100;
    private static final int ETH_P_DVLAN = 0x88a8;
    private static final int IP_HLEN = 20;
    private static final int IP_PROTO_TCP = 6;
    private static final int IP_PROTO_UDP = 17;
    private static final int TCP_HLEN = 20;
    private static final int UDP_HLEN = 8;

    private NetChecksum() {
    }

    /**
     * QEMU's work_around_broken_dhclient test: a header flagged NEEDS_CSUM on a normal-sized IPv4 UDP frame
     * from the DHCP server port, which dhclient would otherwise drop for its missing checksum.
     */
    static boolean isDhcpReplyNeedingChecksum(byte flags, byte[] f, int off, int size) {
        return (flags & VirtioNet.VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 && size > 27 && size < 1500
                && at(f, off, size, 12) == 0x08 && at(f, off, size, 13) == 0x00
                && at(f, off, size, 23) == IP_PROTO_UDP && at(f, off, size, 34) == 0 && at(f, off, size, 35) == 67;
    }

    /** Byte i of a frame; past its end -1, which matches no test. */
    private static int at(byte[] f, int off, int size, int i) {
        return i < size ? f[off + i] & 0xff : -1;
    }

    /** Fills in the checksums csumFlags asks for in the frame at f[off, off + length). */
    static void calculate(byte[] f, int off, int length, int csumFlags) {
        if (length < ETH_HLEN) {
            return;
        }
        int macHdr = switch (be16(f, off + 12)) {
            case ETH_P_VLAN -> ETH_HLEN + VLAN_HLEN;
            case ETH_P_DVLAN -> length >= ETH_HLEN + VLAN_HLEN && be16(f, off + ETH_HLEN + 2) == ETH_P_VLAN
                    ? ETH_HLEN + 2 * VLAN_HLEN : ETH_HLEN + VLAN_HLEN;
            default -> ETH_HLEN;
        };
        length -= macHdr;
        if (length < IP_HLEN) {
            return;
        }
        int ip = off + macHdr;
        if ((f[ip] & 0xf0) != 0x40) {
            return;
        }
        int ihl = (f[ip] & 0x0f) * 4;
        if ((csumFlags & CSUM_IP) != 0 && ihl <= length) {
            f[ip + 10] = 0;
            f[ip + 11] = 0;
            put16(f, ip + 10, finish(add(f, ip, ihl, 0)));
        }
        // more fragments, or an offset: a fragment of a datagram
        if ((be16(f, ip + 6) & 0x3fff) != 0) {
            return;
        }
        int ipLen = be16(f, ip + 2);
        if (length < ipLen) {
            return;
        }
        ipLen -= ihl;
        int proto = f[ip + 9] & 0xff;
        int l4 = ip + IP_HLEN;
        int sumAt;
        if (proto == IP_PROTO_TCP && (csumFlags & CSUM_TCP) != 0 && ipLen >= TCP_HLEN) {
            sumAt = l4 + 16;
        } else if (proto == IP_PROTO_UDP && (csumFlags & CSUM_UDP) != 0 && ipLen >= UDP_HLEN) {
            sumAt = l4 + 6;
        } else {
            return;
        }
        if (l4 + ipLen > off + macHdr + length) {
            return;
        }
        f[sumAt] = 0;
        f[sumAt + 1] = 0;
        // pseudo header: addresses, protocol, length
        long sum = add(f, ip + 12, 8, 0) + proto + ipLen;
        sum = add(f, l4, ipLen, sum);
        int c = finish(sum);
        put16(f, sumAt, c == 0 ? 0xffff : c);
    }

    private static long add(byte[] b, int off, int len, long sum) {
        for (int i = 0; i < len; i++) {
            sum += (i & 1) == 0 ? (b[off + i] & 0xff) << 8 : b[off + i] & 0xff;
        }
        return sum;
    }

    private static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) ~sum & 0xffff;
    }

    private static int be16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }
}
