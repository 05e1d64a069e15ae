package dev.jvmm.core.net.slirp;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * -netdev user's options (QAPI NetdevUserOptions of QEMU 7.2) checked as net_init_slirp and net_slirp_init
 * check them, in the same order and with the same messages, and the SlirpConfig they make.
 */
record SlirpSettings(boolean restricted, boolean ipv4, int net, int mask, int host, int dhcp, int dns,
        boolean ipv6, byte[] prefix6, int prefix6Len, byte[] host6, byte[] dns6, String hostname, String tftp,
        String bootfile, List<String> dnssearch, String domainname, String tftpServerName, List<String> hostfwd,
        List<String> guestfwd) {

    /** Where QEMU 7.2 (Debian) looks for smbd for smb=. */
    static final String SMBD = "/usr/sbin/smbd";

    static SlirpSettings parse(NetdevOptions o) throws NetdevException {
        boolean restricted = o.bool("restrict", false);
        boolean hasIpv4 = o.has("ipv4");
        boolean hasIpv6 = o.has("ipv6");
        boolean v4opt = o.bool("ipv4", true);
        boolean v6opt = o.bool("ipv6", true);
        boolean ipv4 = !((hasIpv6 && v6opt && !hasIpv4) || (hasIpv4 && !v4opt));
        boolean ipv6 = !((hasIpv4 && v4opt && !hasIpv6) || (hasIpv6 && !v6opt));
        Optional<String> ip = o.string("ip");
        String vnetwork = o.string("net").orElse(ip.map(s -> s + "/24").orElse(null));
        String vhost = o.string("host").orElse(null);
        String vnameserver = o.string("dns").orElse(null);
        String vdhcp = o.string("dhcpstart").orElse(null);
        String vprefix6 = o.string("ipv6-prefix").orElse(null);
        long prefixLen = o.number("ipv6-prefixlen", 0, Integer.MAX_VALUE, "int");
        String vhost6 = o.string("ipv6-host").orElse(null);
        String vnameserver6 = o.string("ipv6-dns").orElse(null);
        String hostname = o.string("hostname").orElse(null);
        String tftp = o.string("tftp").orElse(null);
        String bootfile = o.string("bootfile").orElse(null);
        String domainname = o.string("domainname").orElse(null);
        String tftpServerName = o.string("tftp-server-name").orElse(null);
        List<String> dnssearch = o.strings("dnssearch");
        List<String> hostfwd = o.strings("hostfwd");
        List<String> guestfwd = o.strings("guestfwd");
        Optional<String> smb = o.string("smb");
        o.string("smbserver");

        if (!ipv4 && (vnetwork != null || vhost != null || vnameserver != null)) {
            throw new NetdevException("IPv4 disabled but netmask/host/dns provided");
        }
        if (!ipv6 && (vprefix6 != null || vhost6 != null || vnameserver6 != null)) {
            throw new NetdevException("IPv6 disabled but prefix/host6/dns6 provided");
        }
        if (!ipv4 && !ipv6) {
            throw new NetdevException("IPv4 and IPv6 disabled");
        }
        int net = 0x0a000200;
        int mask = 0xffffff00;
        int host = 0x0a000202;
        int dhcp = 0x0a00020f;
        int dns = 0x0a000203;
        if (vnetwork != null) {
            int slash = vnetwork.indexOf('/');
            if (slash < 0) {
                Integer n = Inet.aton(vnetwork);
                if (n == null) {
                    throw new NetdevException("Failed to parse netmask");
                }
                net = n;
                mask = classfulMask(net);
            } else {
                Integer n = Inet.aton(vnetwork.substring(0, slash));
                if (slash >= 20 || n == null) {
                    throw new NetdevException("Failed to parse netmask");
                }
                net = n;
                String m = vnetwork.substring(slash + 1);
                Integer shift = strtolWhole(m);
                if (shift == null) {
                    Integer mk = Inet.aton(m);
                    if (mk == null) {
                        throw new NetdevException("Failed to parse netmask (trailing chars)");
                    }
                    mask = mk;
                } else if (shift < 4 || shift > 32) {
                    throw new NetdevException("Invalid netmask provided (must be in range 4-32)");
                } else {
                    mask = (int) (0xffffffffL << (32 - shift));
                }
            }
            net &= mask;
            host = net | (0x0202 & ~mask);
            dhcp = net | (0x020f & ~mask);
            dns = net | (0x0203 & ~mask);
        }
        if (vhost != null) {
            host = addr(vhost, "Failed to parse host");
        }
        if ((host & mask) != net) {
            throw new NetdevException("Host doesn't belong to network");
        }
        if (vnameserver != null) {
            dns = addr(vnameserver, "Failed to parse DNS");
        }
        if (restricted && (dns & mask) != net) {
            throw new NetdevException("DNS doesn't belong to network");
        }
        if (dns == host) {
            throw new NetdevException("DNS must be different from host");
        }
        if (vdhcp != null) {
            dhcp = addr(vdhcp, "Failed to parse DHCP start address");
        }
        if ((dhcp & mask) != net) {
            throw new NetdevException("DHCP doesn't belong to network");
        }
        if (dhcp == host || dhcp == dns) {
            throw new NetdevException("DHCP must be different from host and DNS");
        }
        byte[] prefix6 = Inet.pton6(vprefix6 == null ? "fec0::" : vprefix6);
        if (prefix6 == null) {
            throw new NetdevException("Failed to parse IPv6 prefix");
        }
        int len6 = prefixLen == 0 ? 64 : (int) prefixLen;
        if (len6 > 126) {
            throw new NetdevException(
                    "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)");
        }
        byte[] host6;
        if (vhost6 != null) {
            host6 = Inet.pton6(vhost6);
            if (host6 == null) {
                throw new NetdevException("Failed to parse IPv6 host");
            }
            if (!Inet.sameNet(prefix6, host6, len6)) {
                throw new NetdevException("IPv6 Host doesn't belong to network");
            }
        } else {
            host6 = prefix6.clone();
            host6[15] |= 2;
        }
        byte[] dns6;
        if (vnameserver6 != null) {
            dns6 = Inet.pton6(vnameserver6);
            if (dns6 == null) {
                throw new NetdevException("Failed to parse IPv6 DNS");
            }
            if (restricted && !Inet.sameNet(prefix6, dns6, len6)) {
                throw new NetdevException("IPv6 DNS doesn't belong to network");
            }
        } else {
            dns6 = prefix6.clone();
            dns6[15] |= 3;
        }
        if (domainname != null && domainname.isEmpty()) {
            throw new NetdevException("'domainname' parameter cannot be empty");
        }
        if (domainname != null && utf8Len(domainname) > 255) {
            throw new NetdevException("'domainname' parameter cannot exceed 255 bytes");
        }
        if (hostname != null && utf8Len(hostname) > 255) {
            throw new NetdevException("'vhostname' parameter cannot exceed 255 bytes");
        }
        if (tftpServerName != null && utf8Len(tftpServerName) > 255) {
            throw new NetdevException("'tftp-server-name' parameter cannot exceed 255 bytes");
        }
        if (smb.isPresent()) {
            // QEMU runs smbd for smb=; jvmm does not, and reports it as QEMU does where smbd is missing.
            if (!Files.exists(Path.of(SMBD))) {
                throw new NetdevException("Could not find '" + SMBD + "', please install it");
            }
            throw new NetdevException("smb= (an automatic Samba server) is not supported");
        }
        return new SlirpSettings(restricted, ipv4, net, mask, host, dhcp, dns, ipv6, prefix6, len6, host6, dns6,
                hostname, tftp, bootfile, dnssearch, domainname, tftpServerName, hostfwd, guestfwd);
    }

    /** The mask QEMU assumes for a network given without one (historic classful rules). */
    private static int classfulMask(int addr) {
        if ((addr & 0x80000000) == 0) {
            return 0xff000000;
        } else if ((addr & 0xfff00000) == 0xac100000) {
            return 0xfff00000;
        } else if ((addr & 0xc0000000) == 0x80000000) {
            return 0xffff0000;
        } else if ((addr & 0xffff0000) == 0xc0a80000) {
            return 0xffff0000;
        } else if ((addr & 0xffff0000) == 0xc6120000) {
            return 0xfffe0000;
        } else if ((addr & 0xe0000000) == 0xe0000000) {
            return 0xffffff00;
        }
        return 0xfffffff0;
    }

    /** strtol(s, &end, 10) with *end == '\0': the value, or null when characters trail. */
    private static Integer strtolWhole(String s) {
        if (!s.matches("\\s*[+-]?\\d+")) {
            return s.isBlank() ? 0 : null;
        }
        try {
            long v = Long.parseLong(s.trim());
            return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    private static int addr(String s, String error) throws NetdevException {
        Integer a = Inet.aton(s);
        if (a == null) {
            throw new NetdevException(error);
        }
        return a;
    }

    private static int utf8Len(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** info network's text for the backend (QEMU's "net=%s,restrict=%s"). */
    String infoString() {
        return "net=" + Inet.ntoa(net) + ",restrict=" + (restricted ? "on" : "off");
    }

    /**
     * Writes the SlirpConfig into cfg; the strings it points at are added to keep, which must stay reachable
     * until slirp_new returns (libslirp copies them).
     */
    void writeConfig(Memory cfg, List<Memory> keep) {
        cfg.clear();
        cfg.setInt(LibSlirp.CFG_VERSION, LibSlirp.CONFIG_VERSION);
        cfg.setInt(LibSlirp.CFG_RESTRICTED, restricted ? 1 : 0);
        cfg.setByte(LibSlirp.CFG_IN_ENABLED, (byte) (ipv4 ? 1 : 0));
        putIn4(cfg, LibSlirp.CFG_VNETWORK, net);
        putIn4(cfg, LibSlirp.CFG_VNETMASK, mask);
        putIn4(cfg, LibSlirp.CFG_VHOST, host);
        cfg.setByte(LibSlirp.CFG_IN6_ENABLED, (byte) (ipv6 ? 1 : 0));
        cfg.write(LibSlirp.CFG_VPREFIX_ADDR6, prefix6, 0, 16);
        cfg.setByte(LibSlirp.CFG_VPREFIX_LEN, (byte) prefix6Len);
        cfg.write(LibSlirp.CFG_VHOST6, host6, 0, 16);
        putString(cfg, LibSlirp.CFG_VHOSTNAME, hostname, keep);
        putString(cfg, LibSlirp.CFG_TFTP_SERVER_NAME, tftpServerName, keep);
        putString(cfg, LibSlirp.CFG_TFTP_PATH, tftp, keep);
        putString(cfg, LibSlirp.CFG_BOOTFILE, bootfile, keep);
        putIn4(cfg, LibSlirp.CFG_VDHCP_START, dhcp);
        putIn4(cfg, LibSlirp.CFG_VNAMESERVER, dns);
        cfg.write(LibSlirp.CFG_VNAMESERVER6, dns6, 0, 16);
        if (!dnssearch.isEmpty()) {
            Memory arr = new Memory((long) (dnssearch.size() + 1) * Native.POINTER_SIZE);
            arr.clear();
            for (int i = 0; i < dnssearch.size(); i++) {
                arr.setPointer((long) i * Native.POINTER_SIZE, cString(dnssearch.get(i), keep));
            }
            keep.add(arr);
            cfg.setPointer(LibSlirp.CFG_VDNSSEARCH, arr);
        }
        putString(cfg, LibSlirp.CFG_VDOMAINNAME, domainname, keep);
        // if_mtu and if_mru 0: libslirp's defaults (1500), as QEMU leaves them.
    }

    /** struct in_addr holds the address in network byte order. */
    static void putIn4(Memory m, long off, int addr) {
        m.setByte(off, (byte) (addr >>> 24));
        m.setByte(off + 1, (byte) (addr >>> 16));
        m.setByte(off + 2, (byte) (addr >>> 8));
        m.setByte(off + 3, (byte) addr);
    }

    private static void putString(Memory cfg, long off, String s, List<Memory> keep) {
        if (s != null) {
            cfg.setPointer(off, cString(s, keep));
        }
    }

    static Memory cString(String s, List<Memory> keep) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        Memory m = new Memory(b.length + 1L);
        m.write(0, b, 0, b.length);
        m.setByte(b.length, (byte) 0);
        keep.add(m);
        return m;
    }

    /** hostfwd= and guestfwd= rules in the order QEMU applies them (each list is walked newest first). */
    List<String[]> forwardsInQemuOrder() {
        List<String[]> out = new ArrayList<>();
        for (int i = guestfwd.size() - 1; i >= 0; i--) {
            out.add(new String[] {"guestfwd", guestfwd.get(i)});
        }
        for (int i = hostfwd.size() - 1; i >= 0; i--) {
            out.add(new String[] {"hostfwd", hostfwd.get(i)});
        }
        return out;
    }
}
