package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;

import java.nio.charset.StandardCharsets;

/** Bounds-checked little-endian reads from an image file, and checked copies into guest RAM. */
final class Image {
    final byte[] data;

    Image(byte[] data) {
        this.data = data;
    }

    int length() {
        return data.length;
    }

    void need(long offset, long len, String what) {
        if (offset < 0 || len < 0 || offset + len > data.length) {
            throw new ImageError("file is truncated (" + what + " at offset " + offset + " needs " + len
                    + " bytes, file has " + data.length + ")");
        }
    }

    int u8(long off) {
        need(off, 1, "byte");
        return data[(int) off] & 0xff;
    }

    int u16(long off) {
        need(off, 2, "field");
        return (data[(int) off] & 0xff) | (data[(int) off + 1] & 0xff) << 8;
    }

    long u32(long off) {
        need(off, 4, "field");
        int o = (int) off;
        return ((data[o] & 0xffL) | (data[o + 1] & 0xffL) << 8 | (data[o + 2] & 0xffL) << 16
                | (data[o + 3] & 0xffL) << 24);
    }

    long u64(long off) {
        return u32(off) | u32(off + 4) << 32;
    }

    /** Copies file bytes [offset, offset+len) to gpa, after checking both ends. */
    void copyTo(GuestMemory mem, long offset, long len, long gpa, String what) {
        need(offset, len, what);
        checkRam(mem, gpa, len, what);
        mem.write(gpa, data, (int) offset, (int) len);
    }

    static void checkRam(GuestMemory mem, long gpa, long len, String what) {
        if (len > 0 && !mem.contains(gpa, len)) {
            throw new ImageError(String.format("%s (0x%x+0x%x) does not fit in guest RAM", what, gpa, len));
        }
    }

    /** Writes s NUL-terminated at gpa; returns the bytes written. */
    static int writeCString(GuestMemory mem, long gpa, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        checkRam(mem, gpa, z.length, "command line");
        mem.write(gpa, z, 0, z.length);
        return z.length;
    }
}
