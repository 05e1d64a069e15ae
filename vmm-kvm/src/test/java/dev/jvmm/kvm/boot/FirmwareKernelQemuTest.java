package dev.jvmm.kvm.boot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link FirmwareKernel} against QEMU 7.2 byte for byte: QEMU runs the tiny guests' kernels under qtest
 * (`-machine pc -m 128 -nodefaults -S`) and every kernel item is read back through its fw_cfg DMA interface, as
 * well as the option ROM named in its file directory. Skipped without QEMU or the built guests
 * (tests/target/guest, made by the tests module's build).
 */
class FirmwareKernelQemuTest {
    private static final long BELOW_4G = 128L << 20;
    private static final int[] KEYS = {FirmwareKernel.FW_CFG_KERNEL_ADDR, FirmwareKernel.FW_CFG_KERNEL_SIZE,
        FirmwareKernel.FW_CFG_INITRD_ADDR, FirmwareKernel.FW_CFG_INITRD_SIZE, FirmwareKernel.FW_CFG_KERNEL_ENTRY,
        FirmwareKernel.FW_CFG_CMDLINE_ADDR, FirmwareKernel.FW_CFG_CMDLINE_SIZE, FirmwareKernel.FW_CFG_SETUP_ADDR,
        FirmwareKernel.FW_CFG_SETUP_SIZE};
    /** Each data item and the size item that gives its length. */
    private static final Map<Integer, Integer> DATA = Map.of(FirmwareKernel.FW_CFG_KERNEL_DATA,
            FirmwareKernel.FW_CFG_KERNEL_SIZE, FirmwareKernel.FW_CFG_INITRD_DATA, FirmwareKernel.FW_CFG_INITRD_SIZE,
            FirmwareKernel.FW_CFG_CMDLINE_DATA, FirmwareKernel.FW_CFG_CMDLINE_SIZE,
            FirmwareKernel.FW_CFG_SETUP_DATA, FirmwareKernel.FW_CFG_SETUP_SIZE);
    private static final int FW_CFG_FILE_DIR = 0x19;
    private static final int FILE_ENTRY = 64;
    private static final long ACCESS = 0x1000;
    private static final long BUFFER = 0x200000;
    private static final int ELF32_HEADER = 52;

    @TempDir
    Path tmp;

    private static Path guest(String name) {
        Path p = Path.of(System.getProperty("user.dir")).resolveSibling("tests").resolve("target/guest")
                .resolve(name);
        assumeTrue(Files.isRegularFile(p), "tiny guest " + p + " not built");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")), "QEMU 7.2 not installed");
        return p;
    }

    @Test
    void bzImageWithInitrdAndVgaMatchesQemu() throws Exception {
        Path initrd = Files.write(tmp.resolve("initrd"), "initrd bytes\n".getBytes(StandardCharsets.US_ASCII));
        compare(guest("tiny.bzImage"), initrd.toString(), "console=ttyS0 vga=0x317 x");
    }

    @Test
    void bzImageWithoutAppendMatchesQemu() throws Exception {
        compare(guest("tiny.bzImage"), null, null);
    }

    @Test
    void pvhWithInitrdMatchesQemu() throws Exception {
        Path initrd = Files.write(tmp.resolve("initrd"), new byte[5000]);
        compare(guest("tiny.pvh"), initrd.toString(), "a b");
    }

    @Test
    void multibootWithModulesMatchesQemu() throws Exception {
        Path m1 = Files.write(tmp.resolve("m1"), "first\n".getBytes(StandardCharsets.US_ASCII));
        Path m2 = Files.write(tmp.resolve("m2"), new byte[5000]);
        compare(guest("tiny.mb"), m1 + " arg1," + m2, "x y");
    }

    @Test
    void multibootWithoutModulesMatchesQemu() throws Exception {
        compare(guest("tiny.mb"), null, "");
    }

    private void compare(Path kernel, String initrd, String append) throws Exception {
        KernelLoader.Request req = KernelLoader.request(kernel, append, initrd == null ? null : Path.of(initrd));
        FirmwareKernel own = FirmwareKernel.of(req, BELOW_4G);
        List<String> argv = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "pc", "-accel", "tcg",
                "-qtest", "stdio", "-qtest-log", "/dev/null", "-display", "none", "-monitor", "none", "-S",
                "-nodefaults", "-m", "128", "-kernel", kernel.toString()));
        if (initrd != null) {
            argv.addAll(List.of("-initrd", initrd));
        }
        if (append != null) {
            argv.addAll(List.of("-append", append));
        }
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
             Writer out = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.US_ASCII)) {
            Qtest q = new Qtest(in, out);
            for (int key : KEYS) {
                byte[] qemu = q.dma(key, 4);
                byte[] mine = own.items().get(key);
                assertArrayEquals(qemu, mine == null ? new byte[4] : mine, String.format("item 0x%x", key));
            }
            for (Map.Entry<Integer, Integer> d : DATA.entrySet()) {
                int len = ByteBuffer.wrap(q.dma(d.getValue(), 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
                byte[] mine = own.items().get(d.getKey());
                byte[] qemu = q.dma(d.getKey(), len);
                mine = mine == null ? new byte[len] : mine;
                assertEquals(qemu.length, mine.length, String.format("item 0x%x's length", d.getKey()));
                for (long[] r : defined(own, d.getKey(), req)) {
                    for (int i = (int) r[0]; i < r[1]; i++) {
                        assertEquals(qemu[i], mine[i], String.format("item 0x%x, byte 0x%x", d.getKey(), i));
                    }
                }
            }
            byte[] rom = romOf(q, FirmwareKernel.GENROMS_DIR + own.optionRom());
            assertArrayEquals(rom, Files.readAllBytes(Path.of("/usr/share/qemu").resolve(own.optionRom())),
                    own.optionRom());
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * The byte ranges of an item that QEMU defines. Two of its items carry bytes it never set: PVH's SETUP_DATA
     * points at x86_load_linux's 8 KiB stack buffer after the function returned (fw_cfg_add_bytes keeps the
     * pointer), so only its start, the ELF header, survives reliably; multiboot's KERNEL_DATA is grown with
     * g_realloc, so the slack after the image, after the strings and after each module up to the next page is
     * whatever the heap held. jvmm has zeros there.
     */
    private static List<long[]> defined(FirmwareKernel own, int key, KernelLoader.Request req) {
        byte[] data = own.items().get(key);
        int len = data == null ? 0 : data.length;
        if (key == FirmwareKernel.FW_CFG_SETUP_DATA && own.optionRom().equals(FirmwareKernel.PVH_ROM)) {
            return List.of(new long[] {0, ELF32_HEADER});
        }
        if (key != FirmwareKernel.FW_CFG_KERNEL_DATA || !own.optionRom().equals(FirmwareKernel.MULTIBOOT_ROM)) {
            return List.of(new long[] {0, len});
        }
        ByteBuffer mbi = ByteBuffer.wrap(own.items().get(FirmwareKernel.FW_CFG_INITRD_DATA))
                .order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer k = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        long load = ByteBuffer.wrap(own.items().get(FirmwareKernel.FW_CFG_KERNEL_ADDR))
                .order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
        Image img = new Image(req.kernel());
        int h = MultibootLoader.findHeader(img);
        long imageSize = img.u32(h + 24) - img.u32(h + 16); // the a.out kludge's bss end less load address
        long mods = (mbi.getInt(MultibootLoader.MBI_MODS_ADDR) & 0xffffffffL) - load;
        long name = (mbi.getInt(MultibootLoader.MBI_BOOT_LOADER_NAME) & 0xffffffffL) - load;
        List<long[]> ranges = new ArrayList<>(List.of(new long[] {0, imageSize},
            new long[] {mods, name + MultibootLayout.BOOT_LOADER_NAME.length() + 1}));
        for (int i = 0; i < mbi.getInt(MultibootLoader.MBI_MODS_COUNT); i++) {
            int at = (int) mods + MultibootLayout.MOD_SIZE * i;
            ranges.add(new long[] {(k.getInt(at) & 0xffffffffL) - load, (k.getInt(at + 4) & 0xffffffffL) - load});
        }
        return ranges;
    }

    /** A file's bytes by name from QEMU's fw_cfg directory (big-endian size and selector). */
    private static byte[] romOf(Qtest q, String name) throws IOException {
        int count = ByteBuffer.wrap(q.dma(FW_CFG_FILE_DIR, 4)).getInt();
        ByteBuffer dir = ByteBuffer.wrap(q.dma(FW_CFG_FILE_DIR, 4 + FILE_ENTRY * count));
        for (int i = 0; i < count; i++) {
            int at = 4 + FILE_ENTRY * i;
            byte[] n = new byte[FILE_ENTRY - 8];
            dir.get(at + 8, n);
            String s = new String(n, StandardCharsets.US_ASCII).replace("\0", "");
            if (s.equals(name)) {
                return q.dma(dir.getShort(at + 4) & 0xffff, dir.getInt(at));
            }
        }
        assertTrue(false, name + " is not in QEMU's fw_cfg directory");
        return null;
    }

    /** The qtest protocol: one command a line, answered by a line starting "OK" (or "FAIL"). */
    private record Qtest(BufferedReader in, Writer out) {
        String command(String c) throws IOException {
            out.write(c + "\n");
            out.flush();
            for (String l = in.readLine(); l != null; l = in.readLine()) {
                if (l.startsWith("OK") || l.startsWith("FAIL")) {
                    assertTrue(l.startsWith("OK"), c + ": " + l);
                    return l;
                }
            }
            throw new IOException("QEMU closed qtest");
        }

        /** fw_cfg DMA: select and read, through an FWCfgDmaAccess (big-endian) at ACCESS. */
        byte[] dma(int key, int length) throws IOException {
            if (length == 0) {
                return new byte[0];
            }
            int control = key << 16 | 0x8 | 0x2; // FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ
            command(String.format("write 0x%x 0x10 0x%08x%08x%016x", ACCESS, control, length, BUFFER));
            command("outl 0x514 0x0");
            command("outl 0x518 0x" + Integer.toHexString(Integer.reverseBytes((int) ACCESS)));
            String hex = command(String.format("read 0x%x 0x%x", BUFFER, length)).substring(5);
            return HexFormat.of().parseHex(hex);
        }
    }
}
