package dev.jvmm.devices.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * ACPI 6.4 section 20 "ACPI Machine Language (AML) specification": a small encoder for the terms a DSDT
 * needs (names, integers, strings, packages, buffers, Scope, Device, Method, Return) and section 6.4
 * resource descriptors (I/O, IRQ, word/dword address spaces). Every method returns the encoded bytes, so
 * terms compose by nesting calls.
 */
public final class Aml {
    // Section 20.2.3 data objects and 20.2.5 term objects.
    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int NAME_OP = 0x08;
    static final int BYTE_PREFIX = 0x0a;
    static final int WORD_PREFIX = 0x0b;
    static final int DWORD_PREFIX = 0x0c;
    static final int STRING_PREFIX = 0x0d;
    static final int QWORD_PREFIX = 0x0e;
    static final int SCOPE_OP = 0x10;
    static final int BUFFER_OP = 0x11;
    static final byte PACKAGE_OP = 0x12;
    static final int METHOD_OP = 0x14;
    static final byte EXT_OP_PREFIX = 0x5b;
    static final int DEVICE_OP = 0x82;
    static final int RETURN_OP = 0xa4;
    // Section 20.2.2 name objects.
    static final int ROOT_CHAR = '\\';
    static final int PARENT_PREFIX_CHAR = '^';
    static final int DUAL_NAME_PREFIX = 0x2e;
    static final int MULTI_NAME_PREFIX = 0x2f;
    static final byte NULL_NAME = 0x00;
    /** Section 20.2.4: the longest package length a PkgLength can encode (28 bits). */
    static final int MAX_PKG_LENGTH = (1 << 28) - 1;

    // Section 6.4.2 small and 6.4.3 large resource descriptors.
    static final int IRQ_NO_FLAGS_DESCRIPTOR = 0x22;
    static final int IO_DESCRIPTOR = 0x47;
    static final int END_TAG = 0x79;
    static final int DMA_DESCRIPTOR = 0x2a;
    static final int EXTENDED_INTERRUPT_DESCRIPTOR = 0x89;
    static final int QWORD_ADDRESS_DESCRIPTOR = 0x8a;
    static final int INTERRUPT_CONSUMER = 0x01;
    static final int INTERRUPT_SHARED = 0x08;
    static final int DWORD_ADDRESS_DESCRIPTOR = 0x87;
    static final int WORD_ADDRESS_DESCRIPTOR = 0x88;
    static final int IO_DECODE16 = 0x01;
    static final int RESOURCE_TYPE_MEMORY = 0;
    static final int RESOURCE_TYPE_IO = 1;
    static final int RESOURCE_TYPE_BUS = 2;

    private Aml() {
    }

    /** Concatenates terms into one term list. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * Section 20.2.4 PkgLength for a body of bodyLength bytes; the encoded length counts the PkgLength bytes
     * themselves.
     */
    public static byte[] pkgLength(int bodyLength) {
        if (bodyLength < 0) {
            throw new IllegalArgumentException("negative package length");
        }
        for (int extra = 0; extra <= 3; extra++) {
            int total = bodyLength + 1 + extra;
            int limit = extra == 0 ? 0x3f : (1 << (4 + 8 * extra)) - 1;
            if (total <= limit) {
                byte[] r = new byte[1 + extra];
                if (extra == 0) {
                    r[0] = (byte) total;
                } else {
                    r[0] = (byte) ((extra << 6) | (total & 0x0f));
                    for (int i = 1; i <= extra; i++) {
                        r[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                    }
                }
                return r;
            }
        }
        throw new IllegalArgumentException("package too long: " + bodyLength);
    }

    /** A PkgLength-prefixed body. */
    static byte[] withPkgLength(byte[] body) {
        return concat(pkgLength(body.length), body);
    }

    /** One 4-character name segment: upper case letters, digits and '_', padded with '_'. */
    static byte[] nameSeg(String seg) {
        if (seg.isEmpty() || seg.length() > 4) {
            throw new IllegalArgumentException("bad AML name segment '" + seg + "'");
        }
        byte[] r = new byte[4];
        for (int i = 0; i < 4; i++) {
            char c = i < seg.length() ? seg.charAt(i) : '_';
            boolean lead = c == '_' || (c >= 'A' && c <= 'Z');
            if (!lead && !(i > 0 && c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("bad AML name segment '" + seg + "'");
            }
            r[i] = (byte) c;
        }
        return r;
    }

    /** Section 20.2.2 NameString: "\\_SB.PCI0", "^COM1", "_HID", "\\" alone for the root. */
    public static byte[] name(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX_CHAR);
                i++;
            }
        }
        String rest = path.substring(i);
        if (rest.isEmpty()) {
            out.write(NULL_NAME);
            return out.toByteArray();
        }
        String[] segs = rest.split("\\.", -1);
        if (segs.length == 2) {
            out.write(DUAL_NAME_PREFIX);
        } else if (segs.length > 2) {
            if (segs.length > 255) {
                throw new IllegalArgumentException("name path too deep");
            }
            out.write(MULTI_NAME_PREFIX);
            out.write(segs.length);
        }
        for (String s : segs) {
            out.writeBytes(nameSeg(s));
        }
        return out.toByteArray();
    }

    /** Section 20.2.3 ComputationalData: the shortest encoding of an unsigned integer. */
    public static byte[] integer(long value) {
        if (value == 0) {
            return new byte[] {ZERO_OP};
        }
        if (value == 1) {
            return new byte[] {ONE_OP};
        }
        if (value >= 0 && value <= 0xff) {
            return new byte[] {BYTE_PREFIX, (byte) value};
        }
        if (value >= 0 && value <= 0xffff) {
            return concat(new byte[] {WORD_PREFIX}, le(value, 2));
        }
        if (value >= 0 && value <= 0xffffffffL) {
            return concat(new byte[] {DWORD_PREFIX}, le(value, 4));
        }
        return concat(new byte[] {QWORD_PREFIX}, le(value, 8));
    }

    /** A null-terminated ASCII string. */
    public static byte[] string(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0 || c > 0x7f) {
                throw new IllegalArgumentException("AML strings are ASCII without NUL");
            }
        }
        return concat(new byte[] {STRING_PREFIX}, s.getBytes(StandardCharsets.US_ASCII), new byte[] {0});
    }

    /** Section 20.2.5.1 DefName: Name(name, object). */
    public static byte[] nameDecl(String name, byte[] object) {
        return concat(new byte[] {NAME_OP}, name(name), object);
    }

    /** Scope(name) { terms }. */
    public static byte[] scope(String name, byte[]... terms) {
        return concat(new byte[] {SCOPE_OP}, withPkgLength(concat(name(name), concat(terms))));
    }

    /** Device(name) { terms }. */
    public static byte[] device(String name, byte[]... terms) {
        return concat(new byte[] {(byte) EXT_OP_PREFIX, (byte) DEVICE_OP},
                withPkgLength(concat(name(name), concat(terms))));
    }

    /** Method(name, argCount, NotSerialized or Serialized) { terms }. */
    public static byte[] method(String name, int argCount, boolean serialized, byte[]... terms) {
        if (argCount < 0 || argCount > 7) {
            throw new IllegalArgumentException("methods take 0 to 7 arguments");
        }
        int flags = argCount | (serialized ? 0x08 : 0);
        return concat(new byte[] {METHOD_OP},
                withPkgLength(concat(name(name), new byte[] {(byte) flags}, concat(terms))));
    }

    /** Return(object). */
    public static byte[] ret(byte[] object) {
        return concat(new byte[] {(byte) RETURN_OP}, object);
    }

    /** Package() { elements } (at most 255 elements, a DefPackage). */
    public static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException("package has more than 255 elements");
        }
        return concat(new byte[] {(byte) PACKAGE_OP},
                withPkgLength(concat(new byte[] {(byte) elements.length}, concat(elements))));
    }

    /** Buffer() { bytes }. */
    public static byte[] buffer(byte[] data) {
        return concat(new byte[] {BUFFER_OP}, withPkgLength(concat(integer(data.length), data)));
    }

    /** ACPI 6.4 section 6.1.5 _HID: a compressed EISA ID for "PNP0A03"-style ids, else a string. */
    public static byte[] hid(String id) {
        return isEisaId(id) ? integer(eisaId(id)) : string(id);
    }

    static boolean isEisaId(String id) {
        return id.matches("[A-Z]{3}[0-9A-F]{4}");
    }

    /** The 32-bit compressed EISA id: three 5-bit letters and four hex digits, stored big-endian. */
    public static long eisaId(String id) {
        if (!isEisaId(id)) {
            throw new IllegalArgumentException("not an EISA id: " + id);
        }
        int v = ((id.charAt(0) - 0x40) << 26) | ((id.charAt(1) - 0x40) << 21) | ((id.charAt(2) - 0x40) << 16)
                | Integer.parseInt(id.substring(3), 16);
        return Integer.reverseBytes(v) & 0xffffffffL;
    }

    // ---- resource templates (section 6.4)

    /** ResourceTemplate() { descriptors }: a buffer ending in an End Tag with checksum 0. */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {(byte) END_TAG, 0}));
    }

    /** Section 6.4.2.5 I/O port descriptor, 16-bit decode. */
    public static byte[] io(int min, int max, int align, int length) {
        return concat(new byte[] {(byte) IO_DESCRIPTOR, (byte) IO_DECODE16}, le(min, 2), le(max, 2),
                new byte[] {(byte) align, (byte) length});
    }

    /** Section 6.4.2.1 IRQ descriptor without flags (ISA: edge, active high). */
    public static byte[] irqNoFlags(int irq) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("ISA IRQ out of range: " + irq);
        }
        return concat(new byte[] {(byte) IRQ_NO_FLAGS_DESCRIPTOR}, le(1L << irq, 2));
    }

    /** Section 6.4.3.5.3 Word address space descriptor (bus number or I/O range), producer, fixed. */
    public static byte[] wordAddress(int type, int typeFlags, int min, int max, int translation, int length) {
        return concat(new byte[] {(byte) WORD_ADDRESS_DESCRIPTOR}, le(13, 2),
                new byte[] {(byte) type, 0x0c, (byte) typeFlags},
                le(0, 2), le(min, 2), le(max, 2), le(translation, 2), le(length, 2));
    }

    public static byte[] wordBusNumber(int min, int max) {
        return wordAddress(RESOURCE_TYPE_BUS, 0, min, max, 0, max - min + 1);
    }

    /** An I/O window (EntireRange). */
    public static byte[] wordIo(int min, int max) {
        return wordAddress(RESOURCE_TYPE_IO, 0x03, min, max, 0, max - min + 1);
    }

    /** Section 6.4.3.5.2 DWord memory window, producer, fixed, read-write, cacheable or not. */
    public static byte[] dwordMemory(long min, long max, boolean cacheable) {
        int typeFlags = 0x01 | (cacheable ? 0x02 : 0);
        return concat(new byte[] {(byte) DWORD_ADDRESS_DESCRIPTOR}, le(23, 2),
                new byte[] {(byte) RESOURCE_TYPE_MEMORY, 0x0c, (byte) typeFlags},
                le(0, 4), le(min, 4), le(max, 4), le(0, 4), le(max - min + 1, 4));
    }

    /** Section 6.4.3.6 Extended Interrupt descriptor: consumer, level, active high, shared, as PCI links. */
    public static byte[] interruptLevelShared(int... irqs) {
        byte[] r = concat(new byte[] {(byte) EXTENDED_INTERRUPT_DESCRIPTOR}, le(2 + 4L * irqs.length, 2),
                new byte[] {(byte) (INTERRUPT_CONSUMER | INTERRUPT_SHARED), (byte) irqs.length});
        for (int irq : irqs) {
            r = concat(r, le(irq, 4));
        }
        return r;
    }

    /** Section 6.4.2.2 DMA descriptor: compatibility timing, not a bus master, 8-bit transfers. */
    public static byte[] dma8(int channel) {
        return new byte[] {(byte) DMA_DESCRIPTOR, (byte) (1 << channel), 0};
    }

    /** Section 6.4.3.5.1 QWord memory window, producer, fixed, read-write, cacheable. */
    public static byte[] qwordMemory(long min, long max) {
        return concat(new byte[] {(byte) QWORD_ADDRESS_DESCRIPTOR}, le(43, 2),
                new byte[] {(byte) RESOURCE_TYPE_MEMORY, 0x0c, 0x03},
                le(0, 8), le(min, 8), le(max, 8), le(0, 8), le(max - min + 1, 8));
    }

    /** Section 19.6.146 ToUUID("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp"): a 16-byte buffer in the mixed-endian order. */
    public static byte[] uuid(String uuid) {
        String hex = uuid.replace("-", "");
        if (hex.length() != 32 || uuid.length() != 36) {
            throw new IllegalArgumentException("bad UUID " + uuid);
        }
        byte[] b = java.util.HexFormat.of().parseHex(hex);
        byte[] r = new byte[16];
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int i = 0; i < 16; i++) {
            r[i] = b[order[i]];
        }
        return buffer(r);
    }

    static byte[] le(long v, int n) {
        byte[] r = new byte[n];
        for (int i = 0; i < n; i++) {
            r[i] = (byte) (v >>> (8 * i));
        }
        return r;
    }
}
