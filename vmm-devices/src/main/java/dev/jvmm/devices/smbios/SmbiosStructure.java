package dev.jvmm.devices.smbios;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One SMBIOS structure being encoded (DMTF SMBIOS 3.x, section 6.1.2 "Structure header format" and 6.1.3
 * "Text strings"): the formatted area (type, length, handle, then the type's fields, little-endian) followed
 * by the string-set, each string NUL-terminated, the set ending in one more NUL (two when it is empty).
 *
 * <p>A string field holds the 1-based number of its string; an absent or empty value gets 0 and adds nothing,
 * as QEMU's table builder does.
 */
final class SmbiosStructure {
    /** Offset of the type byte in every structure header. */
    static final int HEADER_TYPE = 0;
    /** Offset of the formatted-area length byte. */
    static final int HEADER_LENGTH = 1;
    /** Offset of the 16-bit handle. */
    static final int HEADER_HANDLE = 2;
    /** Size of the header: type, length, handle. */
    static final int HEADER_SIZE = 4;

    private final byte[] formatted;
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private int stringCount;

    SmbiosStructure(int type, int length, int handle) {
        formatted = new byte[length];
        u8(HEADER_TYPE, type);
        u8(HEADER_LENGTH, length);
        u16(HEADER_HANDLE, handle);
    }

    SmbiosStructure u8(int offset, int value) {
        formatted[offset] = (byte) value;
        return this;
    }

    SmbiosStructure u16(int offset, int value) {
        u8(offset, value);
        u8(offset + 1, value >>> 8);
        return this;
    }

    SmbiosStructure u32(int offset, long value) {
        u16(offset, (int) value);
        u16(offset + 2, (int) (value >>> 16));
        return this;
    }

    SmbiosStructure u64(int offset, long value) {
        u32(offset, value);
        u32(offset + 4, value >>> 32);
        return this;
    }

    /** Adds value to the string-set and stores its number at offset; null or "" stores 0. */
    SmbiosStructure string(int offset, String value) {
        u8(offset, addString(value == null ? null : value.getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    /** Adds raw string bytes (no NUL inside) with no field pointing at them, as type 11's list does. */
    int addString(byte[] value) {
        if (value == null || value.length == 0) {
            return 0;
        }
        strings.writeBytes(value);
        strings.write(0);
        return ++stringCount;
    }

    /** The whole structure: formatted area, strings, terminator. */
    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(formatted.length + strings.size() + 2);
        out.writeBytes(formatted);
        out.writeBytes(strings.toByteArray());
        out.write(0);
        if (stringCount == 0) {
            out.write(0);
        }
        return out.toByteArray();
    }
}
