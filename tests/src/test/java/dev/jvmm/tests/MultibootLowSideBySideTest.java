package dev.jvmm.tests;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * tests/guest lowmb.mb, a multiboot kernel linked at 0x8000 whose text covers the 0x9000 page, with one module,
 * under QEMU 7.2 and jvmm. Both must leave its text intact and put the module at the same address. QEMU keeps
 * its multiboot information at 0x9500 and loads the kernel over it, so there the guest reports the
 * information inside its image; jvmm places it after the module, where the guest checks it.
 */
class MultibootLowSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String MBI_LINE = "lowmb: mbi ";
    private static final String MODULE_MAGIC = "JVMMMOD1";

    /** The module format lowmb.c scans for: magic, payload length, payload checksum, payload. */
    static byte[] module(int payloadBytes, long seed) {
        byte[] payload = new byte[payloadBytes];
        new Random(seed).nextBytes(payload);
        ByteBuffer p = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        int sum = 0;
        for (int i = 0; i + 4 <= payloadBytes; i += 4) {
            sum = Integer.rotateLeft(sum, 5) ^ p.getInt(i);
        }
        ByteBuffer b = ByteBuffer.allocate(16 + payloadBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MODULE_MAGIC.getBytes(StandardCharsets.US_ASCII)).putInt(payloadBytes).putInt(sum).put(payload);
        return b.array();
    }

    @Test
    void lowKernelKeepsItsTextAndFindsItsModule() throws IOException {
        Path qemu = Env.assumeQemu();
        Path mod = Env.tempDir("jvmm-lowmb").resolve("mod.bin");
        Files.write(mod, module(5000, 7));
        String[] argv = TinyGuest.argv(Env.guest("lowmb.mb"), "hi there", "-initrd", mod + " arg=1");
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(withoutMbiLine(q.stdout()), withoutMbiLine(j.stdout()), "jvmm stderr: " + j.stderr());
        List<String> lines = j.stdout().lines().filter(l -> !l.startsWith(MBI_LINE)).toList();
        assertEquals(3, lines.size(), j.stdout());
        assertTrue(lines.get(0).matches("lowmb: text 0x00008000-0x0000[0-9a-f]{4} ok"), lines.get(0));
        assertTrue(lines.get(1).matches("lowmb: module at 0x[0-9a-f]{8}, 5000 bytes ok"), lines.get(1));
        assertEquals("lowmb: passed", lines.get(2));
        assertEquals("lowmb: mbi inside the kernel image at 0x00009500", mbiLine(q.stdout()),
                "QEMU 7.2 loads such a kernel over its multiboot information");
        assertEquals("lowmb: mbi cmdline \"hi there\" module \"arg=1\"", mbiLine(j.stdout()),
                "jvmm stderr: " + j.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, q.status(), q.stderr());
        assertEquals(q.status(), j.status(), "jvmm stderr: " + j.stderr());
    }

    private static String withoutMbiLine(String out) {
        return String.join("\n", out.lines().filter(l -> !l.startsWith(MBI_LINE)).toList());
    }

    private static String mbiLine(String out) {
        return out.lines().filter(l -> l.startsWith(MBI_LINE)).findFirst().orElse("(none)");
    }
}
