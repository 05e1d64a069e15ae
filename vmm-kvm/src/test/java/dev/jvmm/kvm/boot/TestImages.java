package dev.jvmm.kvm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Synthetic kernel images (bzImage, ELF with or without a PVH note, multiboot headers) for tests. */
public final class TestImages {
    private TestImages() {
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A bzImage with setup_sects = 0 (meaning 4) and a payload of n bytes of 0x90. */
    public static byte[] bzImage(int protocol, int payload, int loadflags) {
        byte[] b = new byte[5 * 512 + payload];
        ByteBuffer bb = le(b);
        bb.put(0x1f1, (byte) 0);
        bb.putShort(0x1fe, (short) 0xaa55);
        bb.put(0x200, (byte) 0xeb);
        bb.put(0x201, (byte) 0x66); // header ends at 0x268
        bb.putInt(0x202, 0x53726448);
        bb.putShort(0x206, (short) protocol);
        bb.put(0x211, (byte) loadflags);
        bb.putInt(0x214, 0x100000);
        bb.putInt(0x22c, 0x37ffffff);
        bb.putInt(0x238, 64);
        Arrays.fill(b, 5 * 512, b.length, (byte) 0x90);
        return b;
    }

    /** ELF with one PT_LOAD of code at paddr and optionally a Xen PHYS32_ENTRY note. */
    public static byte[] elf(boolean is64, long paddr, long vaddr, byte[] code, long entry, Long pvhEntry, int bss) {
        int ehsize = is64 ? 64 : 52;
        int phsize = is64 ? 56 : 32;
        int phnum = pvhEntry != null ? 2 : 1;
        int noteOff = ehsize + phnum * phsize;
        int noteLen = pvhEntry != null ? 12 + 4 + 4 : 0;
        int codeOff = 0x100;
        byte[] b = new byte[codeOff + code.length];
        ByteBuffer bb = le(b);
        b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
        b[4] = (byte) (is64 ? 2 : 1);
        b[5] = 1;
        b[6] = 1;
        bb.putShort(16, (short) 2);
        bb.putShort(18, (short) (is64 ? 62 : 3));
        bb.putInt(20, 1);
        if (is64) {
            bb.putLong(24, entry);
            bb.putLong(32, ehsize);
            bb.putShort(52, (short) ehsize);
            bb.putShort(54, (short) phsize);
            bb.putShort(56, (short) phnum);
        } else {
            bb.putInt(24, (int) entry);
            bb.putInt(28, ehsize);
            bb.putShort(40, (short) ehsize);
            bb.putShort(42, (short) phsize);
            bb.putShort(44, (short) phnum);
        }
        int ph = ehsize;
        putPhdr(bb, is64, ph, 1, codeOff, vaddr, paddr, code.length, code.length + bss);
        if (pvhEntry != null) {
            putPhdr(bb, is64, ph + phsize, 4, noteOff, 0, 0, noteLen, noteLen);
            bb.putInt(noteOff, 4);
            bb.putInt(noteOff + 4, 4);
            bb.putInt(noteOff + 8, 18);
            b[noteOff + 12] = 'X'; b[noteOff + 13] = 'e'; b[noteOff + 14] = 'n';
            bb.putInt(noteOff + 16, (int) (long) pvhEntry);
        }
        System.arraycopy(code, 0, b, codeOff, code.length);
        return b;
    }

    private static void putPhdr(ByteBuffer bb, boolean is64, int o, int type, long off, long vaddr, long paddr,
                                long filesz, long memsz) {
        bb.putInt(o, type);
        if (is64) {
            bb.putLong(o + 8, off);
            bb.putLong(o + 16, vaddr);
            bb.putLong(o + 24, paddr);
            bb.putLong(o + 32, filesz);
            bb.putLong(o + 40, memsz);
        } else {
            bb.putInt(o + 4, (int) off);
            bb.putInt(o + 8, (int) vaddr);
            bb.putInt(o + 12, (int) paddr);
            bb.putInt(o + 16, (int) filesz);
            bb.putInt(o + 20, (int) memsz);
        }
    }

    /**
     * A 32-bit ELF with a multiboot header (flags 3) at file offset 0x100 and one PT_LOAD per {paddr, memsz}
     * pair, each without file bytes (all bss), entry at the first segment.
     */
    public static byte[] multibootElfSegments(long[]... segments) {
        byte[] b = new byte[0x200];
        ByteBuffer bb = le(b);
        b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        bb.putShort(16, (short) 2);
        bb.putShort(18, (short) 3);
        bb.putInt(20, 1);
        bb.putInt(24, (int) segments[0][0]);
        bb.putInt(28, 52);
        bb.putShort(40, (short) 52);
        bb.putShort(42, (short) 32);
        bb.putShort(44, (short) segments.length);
        for (int i = 0; i < segments.length; i++) {
            putPhdr(bb, false, 52 + 32 * i, 1, 0x100, segments[i][0], segments[i][0], 0, segments[i][1]);
        }
        putMultiboot(b, 0x100, 3);
        return b;
    }

    /** A multiboot header at offset off in b with the given flags. */
    public static void putMultiboot(byte[] b, int off, int flags) {
        ByteBuffer bb = le(b);
        bb.putInt(off, 0x1BADB002);
        bb.putInt(off + 4, flags);
        bb.putInt(off + 8, -(0x1BADB002 + flags));
    }
}
