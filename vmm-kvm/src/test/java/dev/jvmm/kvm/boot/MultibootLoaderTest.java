package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where the multiboot loader puts the kernel, its modules and the boot information, and what it refuses. */
class MultibootLoaderTest {
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

    private String cstring(long gpa) {
        StringBuilder sb = new StringBuilder();
        for (long a = gpa; mem.readByte(a) != 0; a++) {
            sb.append((char) mem.readByte(a));
        }
        return sb.toString();
    }

    private byte[] read(long gpa, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = mem.readByte(gpa + i);
        }
        return b;
    }

    private static void assertMessage(Runnable r, String expected) {
        KernelLoadException e = assertThrows(KernelLoadException.class, r::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /** A multiboot ELF whose text covers 0x8000..0xb000 with a pattern, as a kernel linked low has it. */
    private static byte[] lowKernel() {
        byte[] code = new byte[0x3000];
        for (int i = 0; i < code.length; i++) {
            code[i] = (byte) (i * 31 + 7);
        }
        byte[] img = TestImages.elf(false, 0x8000, 0x8000, code, 0x8000, null, 0);
        TestImages.putMultiboot(img, 0x100, 3);
        return img;
    }

    @Test
    void lowKernelKeepsItsTextAndGetsItsInformationAfterItsModule() {
        byte[] img = lowKernel();
        byte[] module = new byte[5000];
        Arrays.fill(module, (byte) 0x5a);
        BootEntry e = KernelLoader.load(mem, layout, new KernelLoader.Request("k", img, "x", "m.bin", module));
        assertArrayEquals(Arrays.copyOfRange(img, 0x100, img.length), read(0x8000, 0x3000), "kernel text intact");
        // Image 0x8000-0xb000; list and strings on 0xb000; module on 0xc000 (QEMU's places), then the rest.
        assertEquals(0xb000, mem.readInt(e.ebx() + MultibootLoader.MBI_MODS_ADDR));
        assertEquals(0xc000, mem.readInt(0xb000));
        assertEquals(0xc000 + 5000, mem.readInt(0xb004));
        assertArrayEquals(module, read(0xc000, 5000));
        assertEquals(0xe000, e.ebx(), "information after the module's last page");
        assertEquals(0xe000 + MultibootLayout.MBI_SIZE, mem.readInt(e.ebx() + MultibootLoader.MBI_MMAP_ADDR));
        assertEquals("k x", cstring(mem.readInt(e.ebx() + MultibootLoader.MBI_CMDLINE)));
        assertEquals("m.bin", cstring(mem.readInt(0xb008)));
        assertEquals(0x9fc00, mem.readLong(mem.readInt(e.ebx() + MultibootLoader.MBI_MMAP_ADDR) + 12));
    }

    @Test
    void layoutMatchesQemuForTheLowGuest() {
        // Seen under QEMU 7.2: a kernel image at 0x8000-0xeb80 booted as "-kernel /tmp/lowmbout/lowmb.mb
        // -append 'hi there' -initrd '/tmp/lowmb/mod.bin,,x arg=1'" got its list at 0xf000 and its 5016-byte
        // module at 0x10000. Only the lengths of those texts matter to the layout.
        String kernel = "/tmp/lowmbout/lowmb.mb";
        String initrd = "/tmp/lowmb/mod.bin,,x arg=1";
        long strings = kernel.length() + 1 + "hi there".length() + 1 + initrd.length() + 1;
        MultibootLayout l = MultibootLayout.plan(0x8000, 0xeb80, strings, List.of(5016), 24 * 5, RAM);
        assertEquals(0xf000, l.modsAddr());
        assertEquals(List.of(0x10000L), l.moduleAddrs());
        assertEquals(0x12000, l.mbiAddr());
    }

    @Test
    void kernelAtOneMegabyteKeepsQemusFixedInformation() {
        MultibootLayout l = MultibootLayout.plan(0x100000, 0x100040, 10, List.of(), 4 * 24, RAM);
        assertEquals(0x9500, l.mbiAddr());
        assertEquals(0x9000, l.mmapAddr());
        assertEquals(0x101000, l.modsAddr());
        assertEquals(0x102000, l.end());
    }

    @Test
    void modulesBelowTheFixedPageMoveTheInformationToo() {
        // A kernel at 0x2000 whose module spans 0x9000: the fixed spot is taken by the module.
        MultibootLayout l = MultibootLayout.plan(0x2000, 0x3000, 10, List.of(0x8000), 4 * 24, RAM);
        assertEquals(List.of(0x4000L), l.moduleAddrs());
        assertEquals(0xc000, l.mbiAddr());
        assertEquals(0xc000 + MultibootLayout.MBI_SIZE, l.mmapAddr());
    }

    @Test
    void modulesComeFromInitrdLikeQemu(@TempDir Path dir) throws Exception {
        Path k = dir.resolve("k");
        Files.write(k, lowKernel());
        Files.write(dir.resolve("a"), "first".getBytes(StandardCharsets.UTF_8));
        Files.write(dir.resolve("b,c"), "second".getBytes(StandardCharsets.UTF_8));
        String spec = dir.resolve("a") + " x=1," + dir.resolve("b") + ",,c";
        KernelLoader.Request req = KernelLoader.request(k, "", Path.of(spec));
        assertEquals(2, req.modules().size());
        assertEquals(dir.resolve("a") + " x=1", req.modules().get(0).string());
        assertEquals(dir.resolve("b,c").toString(), req.modules().get(1).string());
        BootEntry e = KernelLoader.load(mem, layout, req);
        int mods = mem.readInt(e.ebx() + MultibootLoader.MBI_MODS_ADDR);
        assertEquals(2, mem.readInt(e.ebx() + MultibootLoader.MBI_MODS_COUNT));
        assertEquals("first", new String(read(mem.readInt(mods), 5), StandardCharsets.UTF_8));
        assertEquals("second", new String(read(mem.readInt(mods + 16), 6), StandardCharsets.UTF_8));
        assertEquals(mem.readInt(mods) + 0x1000, mem.readInt(mods + 16), "each module on its own page");
        assertEquals(dir.resolve("b,c").toString(), cstring(mem.readInt(mods + 24)));
    }

    @Test
    void missingModuleIsQemusError(@TempDir Path dir) throws Exception {
        Path k = dir.resolve("k");
        Files.write(k, lowKernel());
        KernelLoadException e = assertThrows(KernelLoadException.class,
                () -> KernelLoader.request(k, "", Path.of("/nonexistent/mod arg")));
        assertEquals("Failed to open file '/nonexistent/mod'", e.getMessage());
    }

    @Test
    void splitUnescapesDoubledCommas() {
        assertEquals(List.of("a", "b,c d", ""), MultibootModule.split("a,b,,c d,"));
        assertEquals("b,c", MultibootModule.fileOf("b,c d"));
    }

    @Test
    void overlappingSegmentsAreRefused() {
        byte[] img = TestImages.multibootElfSegments(new long[] {0x100000, 0x2000}, new long[] {0x101000, 0x1000});
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", img, "", null, null)),
                "ELF segments at 0x100000 (0x2000 bytes) and 0x101000 (0x1000 bytes) overlap");
    }

    @Test
    void segmentBeyondRamIsRefused() {
        byte[] img = TestImages.multibootElfSegments(new long[] {RAM - 0x1000, 0x2000});
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", img, "", null, null)),
                "does not fit in guest RAM");
        byte[] wrap = TestImages.multibootElfSegments(new long[] {0xfffff000L, 0x2000});
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", wrap, "", null, null)),
                "does not fit in guest RAM");
    }

    @Test
    void layoutThatCannotFitIsRefused() {
        byte[] big = new byte[700 << 10];
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", lowKernel(), "", "m", big)),
                "multiboot modules and boot information (0xb000-0xbb0b8) run into the reserved area 0x9fc00-0x100000");
        byte[] img = TestImages.multibootElfSegments(new long[] {0x100000, 0x1000});
        byte[] huge = new byte[(int) RAM];
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", img, "", "m", huge)),
                "multiboot kernel, modules and boot information (0x100000-0x1102000) do not fit in guest RAM below"
                        + " 0x1000000");
    }

    @Test
    void kernelOverTheBootGdtIsRefused() {
        byte[] img = TestImages.multibootElfSegments(new long[] {0, 0x1000});
        assertMessage(() -> KernelLoader.load(mem, layout, new KernelLoader.Request("k", img, "", null, null)),
                "multiboot kernel (0x0-0x1000) overlaps the boot GDT at 0x500");
    }
}
