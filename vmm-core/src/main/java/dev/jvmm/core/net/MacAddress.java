package dev.jvmm.core.net;

import java.util.HexFormat;

/** A 48-bit Ethernet address, written as QEMU writes it ("52:54:00:12:34:56"). */
public record MacAddress(long bits) {
    public MacAddress {
        if ((bits >>> 48) != 0) {
            throw new IllegalArgumentException("not a 48-bit address");
        }
    }

    /** Parses "xx:xx:xx:xx:xx:xx" (or '-' separated) as QEMU's net_parse_macaddr does; null when malformed. */
    public static MacAddress parse(String text) {
        String[] parts = text.split("[:-]", -1);
        if (parts.length != 6) {
            return null;
        }
        long v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2) {
                return null;
            }
            try {
                v = (v << 8) | Integer.parseInt(p, 16);
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return new MacAddress(v);
    }

    public static MacAddress of(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return new MacAddress(v);
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (bits >>> (40 - 8 * i));
        }
        return b;
    }

    public boolean isMulticast() {
        return ((bits >>> 40) & 1) != 0;
    }

    @Override
    public String toString() {
        byte[] b = bytes();
        HexFormat h = HexFormat.of();
        StringBuilder s = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                s.append(':');
            }
            s.append(h.toHexDigits(b[i]));
        }
        return s.toString();
    }
}
