package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class KernelLoaderTest {
    private static final long RAM = 16L << 20;
    private final MemoryLayout layout = new MemoryLayout(RAM);
    private GuestMemory mem;

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(layout.ramRanges());
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    private static ByteBuffer le(byte[] b) {
        return TestImages.le(b);
    }

    private BootEntry load(byte[] kernel, String cmdline, byte[] initrd) {
        return KernelLoader.load(mem, layout, new KernelLoader.Request("k.img", kernel, cmdline,
                initrd == null ? null : "initrd.img", initrd));
    }

    private String cstring(long gpa) {
        StringBuilder sb = new StringBuilder();
        for (long a = gpa; mem.readByte(a) != 0; a++) {
            sb.append((char) mem.readByte(a));
        }
        return sb.toString();
    }

    @Test
    void bzImageBootParams() {
        byte[] initrd = new byte[10000];
        initrd[0] = 0x42;
        BootEntry e = load(TestImages.bzImage(0x020f, 4096, 1), "console=ttyS0", initrd);
        assertEquals(BootEntry.Format.BZIMAGE, e.format());
        assertEquals(0x100000, e.rip());
        assertEquals(0x7000, e.esi());
        assertEquals((byte) 0x90, mem.readByte(0x100000));
        assertEquals(0x53726448, mem.readInt(0x7000 + 0x202));
        assertEquals((byte) 0xff, mem.readByte(0x7000 + 0x210));
        assertEquals(0x20000, mem.readInt(0x7000 + 0x228));
        assertEquals("console=ttyS0", cstring(0x20000));
        assertEquals(4, mem.readByte(0x7000 + 0x1e8));
        assertEquals(0x9fc00, mem.readLong(0x7000 + 0x2d0 + 8));
        assertEquals(0x100000, mem.readLong(0x7000 + 0x2d0 + 3 * 20));
        assertEquals(RAM - 0x100000, mem.readLong(0x7000 + 0x2d0 + 3 * 20 + 8));
        int rd = mem.readInt(0x7000 + 0x218);
        assertEquals(10000, mem.readInt(0x7000 + 0x21c));
        assertEquals(0, rd & 0xfff);
        assertTrue(rd + 10000 <= RAM && rd + 10000 > RAM - 0x2000);
        assertEquals(0x42, mem.readByte(rd));
        assertEquals(0x00cf9b000000ffffL, mem.readLong(0x510));
        assertEquals(0L, mem.readLong(0x7000 + 0x70));
        KernelLoader.setRsdp(mem, e, 0xf5a00);
        assertEquals(0xf5a00L, mem.readLong(0x7000 + 0x70));
    }

    @Test
    void bzImageInitrdRespectsInitrdAddrMax() {
        byte[] k = TestImages.bzImage(0x020f, 512, 1);
        le(k).putInt(0x22c, 0x7fffff);
        load(k, "", new byte[100]);
        int rd = mem.readInt(0x7000 + 0x218);
        assertEquals(0x7ff000, rd);
    }

    @Test
    void bzImageErrors() {
        assertMessage(() -> load(TestImages.bzImage(0x0205, 512, 1), "", null), "too old");
        assertMessage(() -> load(TestImages.bzImage(0x020f, 512, 0), "", null), "LOADED_HIGH");
        assertMessage(() -> load(TestImages.bzImage(0x020f, 512, 1), "x".repeat(65), null), "command line is too long");
        assertMessage(() -> load(Arrays.copyOf(TestImages.bzImage(0x020f, 512, 1), 1000), "", null), "truncated");
        assertMessage(() -> load(Arrays.copyOf(TestImages.bzImage(0x020f, 512, 1), 5 * 512), "", null), "truncated");
        assertMessage(() -> load(TestImages.bzImage(0x020f, 512, 1), "", new byte[(int) RAM]), "initrd");
        byte[] big = TestImages.bzImage(0x020f, (int) RAM, 1);
        assertMessage(() -> load(big, "", null), "does not fit");
    }

    private static void assertMessage(Runnable r, String part) {
        KernelLoadException e = assertThrows(KernelLoadException.class, r::run);
        assertTrue(e.getMessage().startsWith("could not load kernel 'k.img': "), e.getMessage());
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void pvhElf64() {
        byte[] code = {(byte) 0xf4, 1, 2, 3};
        mem.writeByte(0x200004, (byte) 0x77);
        BootEntry e = load(TestImages.elf(true, 0x200000, 0xffffffff81000000L, code, 0, 0x200000L, 16), "root=x",
                new byte[5000]);
        assertEquals(BootEntry.Format.PVH, e.format());
        assertEquals(0x200000, e.rip());
        assertEquals(0x6000, e.ebx());
        assertEquals((byte) 0xf4, mem.readByte(0x200000));
        assertEquals(0, mem.readByte(0x200004)); // bss zeroed
        assertEquals(0x336ec578, mem.readInt(0x6000));
        assertEquals(1, mem.readInt(0x6004));
        assertEquals(1, mem.readInt(0x600c));
        long mod = mem.readLong(0x6010);
        assertEquals(5000, mem.readLong(mod + 8));
        assertEquals("root=x", cstring(mem.readLong(0x6018)));
        assertEquals(0, mem.readLong(0x6020));
        KernelLoader.setRsdp(mem, e, 0xf5a00);
        assertEquals(0xf5a00L, mem.readLong(0x6020));
        long mm = mem.readLong(0x6028);
        assertEquals(4, mem.readInt(0x6030));
        assertEquals(0x100000, mem.readLong(mm + 3 * 24));
        assertEquals(1, mem.readInt(mm + 3 * 24 + 16));
    }

    @Test
    void pvhElf32WithoutInitrd() {
        BootEntry e = load(TestImages.elf(false, 0x100000, 0x100000, new byte[] {1}, 0, 0x100000L, 0), "", null);
        assertEquals(BootEntry.Format.PVH, e.format());
        assertEquals(0, mem.readInt(0x600c));
    }

    @Test
    void multibootElf32() {
        byte[] code = new byte[64];
        byte[] img = TestImages.elf(false, 0x100000, 0xc0100000L, code, 0xc0100010L, null, 0);
        TestImages.putMultiboot(img, 0x100, 3); // inside the loaded code, as real kernels have it
        BootEntry e = load(img, "a b", new byte[300]);
        assertEquals(BootEntry.Format.MULTIBOOT, e.format());
        assertEquals(0x100010, e.rip());
        assertEquals(0x2BADB002, e.eax());
        // QEMU 7.2's layout: information at 0x9500, memory map at 0x9000, module list and strings on the
        // page after the image, the module on the page after those.
        assertEquals(0x9500, e.ebx());
        assertEquals(1 | 2 | 4 | 8 | 64 | 512, mem.readInt(0x9500));
        assertEquals(640, mem.readInt(0x9504));
        assertEquals((int) ((RAM - 0x100000) / 1024), mem.readInt(0x9508));
        assertEquals(0x8000ffff, mem.readInt(0x950c));
        assertEquals("k.img a b", cstring(mem.readInt(0x9510)), "QEMU puts the kernel name first");
        assertEquals(1, mem.readInt(0x9514));
        int mods = mem.readInt(0x9518);
        assertEquals(0x101000, mods);
        assertEquals(0x102000, mem.readInt(mods));
        assertEquals(0x102000 + 300, mem.readInt(mods + 4));
        assertEquals("initrd.img", cstring(mem.readInt(mods + 8)));
        assertEquals(0x101010, mem.readInt(mods + 8));
        assertEquals(0x101010 + 11, mem.readInt(0x9510));
        assertEquals("qemu", cstring(mem.readInt(0x9500 + 64)));
        assertEquals(0x101010 + 21, mem.readInt(0x9500 + 64));
        assertEquals(4 * 24, mem.readInt(0x9500 + 44));
        int mmap = mem.readInt(0x9500 + 48);
        assertEquals(0x9000, mmap);
        assertEquals(20, mem.readInt(mmap));
        assertEquals(0x9fc00, mem.readLong(mmap + 12));
    }

    @Test
    void multibootAoutKludge() {
        byte[] img = new byte[0x400];
        TestImages.putMultiboot(img, 0x40, 0x10000);
        ByteBuffer bb = le(img);
        bb.putInt(0x4c, 0x200040); // header_addr
        bb.putInt(0x50, 0x200000); // load_addr
        bb.putInt(0x54, 0);        // load_end_addr: whole file
        bb.putInt(0x58, 0x201000); // bss_end_addr
        bb.putInt(0x5c, 0x200080); // entry_addr
        img[0x80] = (byte) 0xf4;
        mem.writeByte(0x200800, (byte) 9);
        BootEntry e = load(img, "", null);
        assertEquals(0x200080, e.rip());
        assertEquals((byte) 0xf4, mem.readByte(0x200080));
        assertEquals(0, mem.readByte(0x200800));
    }

    @Test
    void multibootRejectsElf64AndUnknownFlags() {
        byte[] img = TestImages.elf(true, 0x100000, 0x100000, new byte[64], 0x100000, null, 0);
        TestImages.putMultiboot(img, 0x100, 3);
        assertMessage(() -> load(img, "", null), "Cannot load x86-64 image, give a 32bit one.");
        byte[] img2 = TestImages.elf(false, 0x100000, 0x100000, new byte[64], 0x100000, null, 0);
        TestImages.putMultiboot(img2, 0x100, 0x10);
        assertMessage(() -> load(img2, "", null), "unsupported");
        byte[] raw = new byte[64];
        TestImages.putMultiboot(raw, 0, 0);
        assertMessage(() -> load(raw, "", null), "neither ELF");
    }

    @Test
    void badChecksumIsNotMultiboot() {
        byte[] raw = new byte[64];
        TestImages.putMultiboot(raw, 0, 0);
        raw[8] ^= 1;
        assertMessage(() -> load(raw, "", null), "not a Linux bzImage, PVH ELF or multiboot image");
        assertMessage(() -> load(new byte[0], "", null), "empty");
    }

    @Test
    void elf64WithoutPvhNoteOrMultibootHeader() {
        byte[] img = TestImages.elf(true, 0x100000, 0x100000, new byte[64], 0x100000, null, 0);
        assertMessage(() -> load(img, "", null), "Error loading uncompressed kernel without PVH ELF Note");
    }

    @Test
    void corruptElf() {
        byte[] img = TestImages.elf(false, 0x100000, 0x100000, new byte[64], 0x100000, 0x100000L, 0);
        byte[] cut = Arrays.copyOf(img, 60);
        assertMessage(() -> load(cut, "", null), "truncated");
        byte[] outside = TestImages.elf(false, RAM - 16, RAM - 16, new byte[64], 0, 0x100000L, 0);
        assertMessage(() -> load(outside, "", null), "does not fit in guest RAM");
        byte[] badNote = TestImages.elf(false, 0x100000, 0x100000, new byte[64], 0, 0x100000L, 0);
        le(badNote).putInt(52 + 2 * 32 + 4, 1000); // descsz beyond the segment
        assertMessage(() -> load(badNote, "", null), "note");
    }

    @Test
    void missingFileIsOneLine(@TempDir Path dir) throws Exception {
        KernelLoadException e = assertThrows(KernelLoadException.class,
                () -> KernelLoader.load(mem, layout, dir.resolve("nope"), "", null));
        assertEquals("could not load kernel '" + dir.resolve("nope") + "': No such file or directory", e.getMessage());
        Path k = dir.resolve("bz");
        Files.write(k, TestImages.bzImage(0x020f, 512, 1));
        e = assertThrows(KernelLoadException.class,
                () -> KernelLoader.load(mem, layout, k, "", dir.resolve("rd")));
        assertTrue(e.getMessage().startsWith("could not load initrd"), e.getMessage());
        BootEntry ok = KernelLoader.load(mem, layout, k, "x", null);
        assertEquals(0x100000, ok.rip());
    }

    @Test
    void memoryLayout() {
        MemoryLayout big = new MemoryLayout(4L << 30);
        assertEquals(0xC0000000L, big.lowRamEnd());
        assertEquals(2, big.ramRanges().size());
        assertEquals(0x100000000L, big.ramRanges().get(1).guestAddress());
        assertEquals(1L << 30, big.ramRanges().get(1).size());
        assertEquals(5, big.e820().size());
        assertEquals(new E820Entry(0xf0000, 0x10000, E820Entry.E820_RESERVED), big.e820().get(2));
        assertEquals(4, new MemoryLayout(2 << 20).e820().size());
        assertThrows(IllegalArgumentException.class, () -> new MemoryLayout(1 << 20));
    }
}
