package dev.jvmm.devices.acpi;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AmlTest {
    private static byte[] b(int... v) {
        byte[] r = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (byte) v[i];
        }
        return r;
    }

    @Test
    void pkgLengthOneByteCountsItself() {
        assertArrayEquals(b(0x01), Aml.pkgLength(0));
        assertArrayEquals(b(0x3f), Aml.pkgLength(0x3e));
    }

    @Test
    void pkgLengthTwoBytesFromSixtyThree() {
        // Body 0x3f: total 0x41 with two length bytes: low nibble 1 in byte 0, 0x41 >> 4 = 4 in byte 1.
        assertArrayEquals(b(0x41, 0x04), Aml.pkgLength(0x3f));
        assertArrayEquals(b(0x4f, 0xff), Aml.pkgLength(0xffd));
    }

    @Test
    void pkgLengthThreeAndFourBytes() {
        // Body 0xffe needs 3 bytes: total 0x1001.
        assertArrayEquals(b(0x81, 0x00, 0x01), Aml.pkgLength(0xffe));
        int body = 0x100000;
        byte[] enc = Aml.pkgLength(body);
        assertEquals(4, enc.length);
        int total = body + 4;
        assertEquals(0xc0 | (total & 0xf), enc[0] & 0xff);
        assertEquals(total, (enc[0] & 0xf) | (enc[1] & 0xff) << 4 | (enc[2] & 0xff) << 12 | (enc[3] & 0xff) << 20);
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(Aml.MAX_PKG_LENGTH));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(-1));
    }

    @Test
    void integersUseTheShortestEncoding() {
        assertArrayEquals(b(0x00), Aml.integer(0));
        assertArrayEquals(b(0x01), Aml.integer(1));
        assertArrayEquals(b(0x0a, 0x02), Aml.integer(2));
        assertArrayEquals(b(0x0a, 0xff), Aml.integer(0xff));
        assertArrayEquals(b(0x0b, 0x00, 0x01), Aml.integer(0x100));
        assertArrayEquals(b(0x0c, 0x00, 0x00, 0x01, 0x00), Aml.integer(0x10000));
        assertArrayEquals(b(0x0c, 0xff, 0xff, 0xff, 0xff), Aml.integer(0xffffffffL));
        assertArrayEquals(b(0x0e, 0, 0, 0, 0, 1, 0, 0, 0), Aml.integer(0x100000000L));
    }

    @Test
    void namesPadAndPrefix() {
        assertArrayEquals("_HID".getBytes(), Aml.name("_HID"));
        assertArrayEquals("ISA_".getBytes(), Aml.name("ISA"));
        assertArrayEquals(Aml.concat(b('\\'), "_S5_".getBytes()), Aml.name("\\_S5"));
        assertArrayEquals(Aml.concat(b('\\', 0x2e), "_SB_PCI0".getBytes()), Aml.name("\\_SB.PCI0"));
        assertArrayEquals(Aml.concat(b('\\', 0x2f, 3), "_SB_PCI0ISA_".getBytes()), Aml.name("\\_SB.PCI0.ISA"));
        assertArrayEquals(Aml.concat(b('^'), "COM1".getBytes()), Aml.name("^COM1"));
        assertArrayEquals(b('\\', 0), Aml.name("\\"));
    }

    @Test
    void badNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Aml.name("TOOLONG"));
        assertThrows(IllegalArgumentException.class, () -> Aml.name("1ABC"));
        assertThrows(IllegalArgumentException.class, () -> Aml.name("ab"));
        assertThrows(IllegalArgumentException.class, () -> Aml.name("\\_SB..PCI0"));
    }

    @Test
    void stringsAreNulTerminated() {
        assertArrayEquals(b(0x0d, 'Q', 'E', 0), Aml.string("QE"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("\u00e9"));
    }

    @Test
    void eisaIdMatchesTheKnownEncoding() {
        // iasl compiles EisaId("PNP0A03") to 0x030AD041 and EisaId("PNP0501") to 0x0105D041.
        assertEquals(0x030ad041L, Aml.eisaId("PNP0A03"));
        assertEquals(0x0105d041L, Aml.eisaId("PNP0501"));
        assertArrayEquals(Aml.string("QEMU0001"), Aml.hid("QEMU0001"));
    }

    @Test
    void packageAndNameDecl() {
        // Name(_S5, Package() {0, 0, 0, 0})
        byte[] s5 = Aml.nameDecl("\\_S5", Aml.pkg(Aml.integer(0), Aml.integer(0), Aml.integer(0), Aml.integer(0)));
        assertArrayEquals(b(0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0), s5);
    }

    @Test
    void deviceScopeAndMethod() {
        byte[] dev = Aml.device("RTC", Aml.nameDecl("_UID", Aml.integer(0)));
        assertArrayEquals(b(0x5b, 0x82, 0x0b, 'R', 'T', 'C', '_', 0x08, '_', 'U', 'I', 'D', 0x00), dev);
        byte[] sc = Aml.scope("\\_SB", dev);
        assertEquals(0x10, sc[0]);
        assertEquals(1 + 5 + dev.length, sc[1]);
        byte[] m = Aml.method("_STA", 0, false, Aml.ret(Aml.integer(0x0f)));
        assertArrayEquals(b(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f), m);
        assertThrows(IllegalArgumentException.class, () -> Aml.method("FOO", 8, false));
    }

    @Test
    void resourceDescriptors() {
        assertArrayEquals(b(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08), Aml.io(0x3f8, 0x3f8, 0, 8));
        assertArrayEquals(b(0x22, 0x10, 0x00), Aml.irqNoFlags(4));
        assertThrows(IllegalArgumentException.class, () -> Aml.irqNoFlags(16));
        byte[] rt = Aml.resourceTemplate(Aml.irqNoFlags(8));
        // Buffer(5) { IRQ descriptor, end tag }
        assertArrayEquals(b(0x11, 0x08, 0x0a, 0x05, 0x22, 0x00, 0x01, 0x79, 0x00), rt);
        assertEquals(16, Aml.wordIo(0, 0xcf7).length);
        assertEquals(26, Aml.dwordMemory(0xa0000, 0xbffff, true).length);
    }

    @Test
    void bigBufferUsesMultiBytePkgLength() {
        byte[] buf = Aml.buffer(new byte[100]);
        // Opcode, 2-byte PkgLength, BytePrefix 100, data.
        assertEquals(1 + 2 + 2 + 100, buf.length);
        assertEquals(0x40 | ((104) & 0xf), buf[1] & 0xff);
        assertEquals(104 >> 4, buf[2]);
    }
}
