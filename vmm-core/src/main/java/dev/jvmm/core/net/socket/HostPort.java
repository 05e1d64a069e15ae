package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.NetdevException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** QEMU's parse_host_port for -netdev socket: "[host]:port", IPv4 only, empty host for any address. */
final class HostPort {
    private HostPort() {
    }

    static InetSocketAddress parse(String text) throws NetdevException {
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new NetdevException("host address '" + text + "' doesn't contain ':' separating host from port");
        }
        String host = text.substring(0, colon);
        String port = text.substring(colon + 1);
        InetAddress addr = address(host);
        int p = strtolPrefix(port);
        if (p < 0) {
            throw new NetdevException("port number '" + port + "' is invalid");
        }
        return new InetSocketAddress(addr, p & 0xffff);
    }

    static InetAddress address(String host) throws NetdevException {
        try {
            if (host.isEmpty()) {
                return InetAddress.getByAddress(new byte[4]);
            }
            if (Character.isDigit(host.charAt(0))) {
                InetAddress a = ipv4Literal(host);
                if (a == null) {
                    throw new NetdevException("host address '" + host + "' is not a valid IPv4 address");
                }
                return a;
            }
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (a instanceof Inet4Address) {
                    return a;
                }
            }
            throw new NetdevException("can't resolve host address '" + host + "'");
        } catch (UnknownHostException e) {
            throw new NetdevException("can't resolve host address '" + host + "'");
        }
    }

    /** A dotted-quad IPv4 literal, or null. */
    static InetAddress ipv4Literal(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (!parts[i].matches("\\d{1,3}")) {
                return null;
            }
            int v = Integer.parseInt(parts[i]);
            if (v > 255) {
                return null;
            }
            b[i] = (byte) v;
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** strtol(s, &r, 0) where only "no digits at all" is an error (-1). */
    private static int strtolPrefix(String s) {
        int i = 0;
        int radix = 10;
        if (s.startsWith("0x") || s.startsWith("0X")) {
            radix = 16;
            i = 2;
        } else if (s.startsWith("0")) {
            radix = 8;
        }
        long v = 0;
        int start = i;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = Math.min(v * radix + Character.digit(s.charAt(i), radix), Integer.MAX_VALUE);
            i++;
        }
        if (i == start) {
            return radix == 16 ? 0 : -1;
        }
        return (int) v;
    }

    /** "a.b.c.d:port" as QEMU prints an address (inet_ntoa and ntohs). */
    static String text(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
