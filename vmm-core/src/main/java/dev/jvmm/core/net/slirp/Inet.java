package dev.jvmm.core.net.slirp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** The address parsers libc gives QEMU: inet_aton (IPv4 in its old forms) and inet_pton (IPv6). */
final class Inet {
    private Inet() {
    }

    /**
     * inet_aton: "a.b.c.d", "a.b.c", "a.b" or "a", each part decimal, octal (leading 0) or hex (0x); the
     * address as a host-order int, or null when s is not one.
     */
    static Integer aton(String s) {
        if (s.isEmpty()) {
            return null;
        }
        String[] parts = s.split("\\.", -1);
        if (parts.length > 4) {
            return null;
        }
        long[] v = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            Long n = number(parts[i]);
            if (n == null) {
                return null;
            }
            v[i] = n;
        }
        long max = 0xffffffffL >>> (8 * (parts.length - 1));
        for (int i = 0; i < parts.length - 1; i++) {
            if (v[i] > 0xff) {
                return null;
            }
        }
        if (v[parts.length - 1] > max) {
            return null;
        }
        long addr = v[parts.length - 1];
        for (int i = 0; i < parts.length - 1; i++) {
            addr |= v[i] << (24 - 8 * i);
        }
        return (int) addr;
    }

    private static Long number(String p) {
        if (p.isEmpty()) {
            return null;
        }
        int radix = 10;
        String digits = p;
        if (p.startsWith("0x") || p.startsWith("0X")) {
            radix = 16;
            digits = p.substring(2);
            if (digits.isEmpty()) {
                return 0L;
            }
        } else if (p.length() > 1 && p.charAt(0) == '0') {
            radix = 8;
            digits = p.substring(1);
        }
        try {
            long n = Long.parseLong(digits, radix);
            return n < 0 || n > 0xffffffffL ? null : n;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** inet_pton(AF_INET6): the 16 bytes, or null. Only literal text is accepted (no name lookup). */
    static byte[] pton6(String s) {
        if (s.indexOf(':') < 0 || !s.matches("[0-9A-Fa-f:.]+")) {
            return null;
        }
        try {
            InetAddress a = InetAddress.getByName(s);
            if (a instanceof Inet6Address) {
                return a.getAddress();
            }
            return null; // an IPv4-mapped literal Java folds to IPv4
        } catch (UnknownHostException e) {
            return null;
        }
    }

    static String ntoa(int addr) {
        return ((addr >>> 24) & 0xff) + "." + ((addr >>> 16) & 0xff) + "." + ((addr >>> 8) & 0xff) + "."
                + (addr & 0xff);
    }

    /** QEMU's in6_equal_net: the first len bits of a and b agree. */
    static boolean sameNet(byte[] a, byte[] b, int len) {
        for (int bit = 0; bit < len; bit++) {
            int mask = 0x80 >>> (bit & 7);
            if ((a[bit >> 3] & mask) != (b[bit >> 3] & mask)) {
                return false;
            }
        }
        return true;
    }
}
