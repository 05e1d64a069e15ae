package dev.jvmm.core.net.slirp;

import dev.jvmm.core.net.NetdevException;

/**
 * A hostfwd= rule "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" parsed as QEMU 7.2's slirp_hostfwd
 * parses it, with its failure reasons; addresses are host-order ints, 0 for "any" / "the DHCP start".
 */
record HostFwdRule(boolean udp, int hostAddr, int hostPort, int guestAddr, int guestPort) {

    /** The text after the separator, or null when sep is absent (QEMU's get_str_sep). */
    private static final class Cursor {
        String rest;

        Cursor(String s) {
            rest = s;
        }

        String until(char sep, int bufSize) {
            int i = rest.indexOf(sep);
            if (i < 0) {
                return null;
            }
            String part = rest.substring(0, i);
            rest = rest.substring(i + 1);
            return part.length() > bufSize - 1 ? part.substring(0, bufSize - 1) : part;
        }
    }

    static HostFwdRule parse(String rule) throws NetdevException {
        Cursor c = new Cursor(rule);
        String proto = c.until(':', 256);
        if (proto == null) {
            throw syntax(rule, "No : separators");
        }
        boolean udp;
        if (proto.equals("tcp") || proto.isEmpty()) {
            udp = false;
        } else if (proto.equals("udp")) {
            udp = true;
        } else {
            throw syntax(rule, "Bad protocol name");
        }
        String hostAddrText = c.until(':', 256);
        if (hostAddrText == null) {
            throw syntax(rule, "Missing : separator");
        }
        int hostAddr = address(hostAddrText, rule, "Bad host address");
        String hostPortText = c.until('-', 256);
        if (hostPortText == null) {
            throw syntax(rule, "Bad host port separator");
        }
        Long hostPort = strtoiPrefix(hostPortText);
        if (hostPort == null || hostPort < 0 || hostPort > 65535) {
            throw syntax(rule, "Bad host port");
        }
        String guestAddrText = c.until(':', 256);
        if (guestAddrText == null) {
            throw syntax(rule, "Missing guest address");
        }
        int guestAddr = address(guestAddrText, rule, "Bad guest address");
        Long guestPort = strtoiPrefix(c.rest);
        if (guestPort == null || guestPort < 1 || guestPort > 65535) {
            throw syntax(rule, "Bad guest port");
        }
        return new HostFwdRule(udp, hostAddr, hostPort.intValue(), guestAddr, guestPort.intValue());
    }

    /** An IPv4 address in dotted form, or 0 (any) for empty text; bad is QEMU's message for a malformed one. */
    private static int address(String text, String rule, String bad) throws NetdevException {
        if (text.isEmpty()) {
            return 0;
        }
        Integer a = Inet.aton(text);
        if (a == null) {
            throw syntax(rule, bad);
        }
        return a;
    }

    private static NetdevException syntax(String rule, String reason) {
        return new NetdevException("Invalid host forwarding rule '" + rule + "' (" + reason + ")");
    }

    /** hostfwd_remove's "[tcp|udp]:[hostaddr]:hostport"; null when the text is not one ("invalid format"). */
    static HostFwdRule parseRemoval(String rule) {
        Cursor c = new Cursor(rule);
        String proto = c.until(':', 256);
        if (proto == null) {
            return null;
        }
        boolean udp;
        if (proto.equals("tcp") || proto.isEmpty()) {
            udp = false;
        } else if (proto.equals("udp")) {
            udp = true;
        } else {
            return null;
        }
        String hostAddrText = c.until(':', 256);
        if (hostAddrText == null) {
            return null;
        }
        int hostAddr = 0;
        if (!hostAddrText.isEmpty()) {
            Integer a = Inet.aton(hostAddrText);
            if (a == null) {
                return null;
            }
            hostAddr = a;
        }
        Long port = strtoiWhole(c.rest);
        if (port == null) {
            return null;
        }
        return new HostFwdRule(udp, hostAddr, port.intValue(), 0, 0);
    }

    /** qemu_strtoi(s, &end, 0, ...): a leading number (base from its prefix), trailing text allowed. */
    static Long strtoiPrefix(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        int start = i;
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
            i++;
        }
        int radix = 10;
        if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
            if (i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
                radix = 16;
                i += 2;
            }
        } else if (s.startsWith("0", i)) {
            radix = 8;
        }
        int digitsStart = i;
        long v = 0;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = v * radix + Character.digit(s.charAt(i), radix);
            if (v > Integer.MAX_VALUE + 1L) {
                return null; // ERANGE
            }
            i++;
        }
        if (i == digitsStart || i == start) {
            return null; // EINVAL: no digits
        }
        v = neg ? -v : v;
        return v > Integer.MAX_VALUE ? null : v;
    }

    /** qemu_strtoi(s, NULL, 10, ...): the whole text is one decimal number. */
    static Long strtoiWhole(String s) {
        String t = s.stripLeading();
        if (!t.matches("[+-]?\\d+")) {
            return null;
        }
        try {
            return (long) Integer.parseInt(t.startsWith("+") ? t.substring(1) : t);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
