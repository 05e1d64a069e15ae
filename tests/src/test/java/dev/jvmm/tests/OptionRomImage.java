package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A one-block PCI option ROM built at test time with GNU as (PCI Firmware Specification 3.0, section 5.1):
 * the 0x55 0xAA signature, its size in 512-byte blocks, an initialization entry at offset 3 that writes
 * {@link #MARKER} to COM1 (port 0x3f8) with {@code out} and returns with {@code retf}, a PCI data structure
 * "PCIR" naming the function (vendor, device, class code, code type 0 for x86) and a checksum byte that
 * makes the image sum to 0. The BIOS copies such an image below 1 MiB and far-calls its entry.
 */
final class OptionRomImage {
    static final String MARKER = "JVMM-OPTION-ROM-MARKER";
    /** Bytes in one ROM block, the unit of the size byte and of the PCIR image length. */
    static final int BLOCK = 512;
    private static final long TOOL_SECONDS = 30;

    private static final String SOURCE = """
                    .code16
                    .text
                    .globl _start
            _start:
                    .byte 0x55, 0xaa
                    .byte 1
                    jmp init
                    .org 0x18
                    .word pcir
                    .word 0
            init:
                    pushw %ax
                    pushw %dx
                    pushw %si
                    movw $msg, %si
                    movw $0x3f8, %dx
            1:      movb %cs:(%si), %al
                    testb %al, %al
                    jz 2f
                    outb %al, %dx
                    incw %si
                    jmp 1b
            2:      popw %si
                    popw %dx
                    popw %ax
                    lret
            msg:    .asciz "MARKER\\r\\n"
                    .balign 4
            pcir:   .ascii "PCIR"
                    .word VENDOR, DEVICE
                    .word 0
                    .word 0x18
                    .byte 0
                    .byte CLASS_PROG, CLASS_SUB, CLASS_BASE
                    .word 1
                    .word 0
                    .byte 0
                    .byte 0x80
                    .word 0
                    .org 511
                    .byte 0
            """.replace("MARKER", MARKER);

    private OptionRomImage() {
    }

    /** Skips unless GNU as and objcopy are on PATH. */
    static void assumeTools() {
        for (String tool : List.of("as", "objcopy")) {
            boolean found = false;
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                found |= Files.isExecutable(Path.of(dir, tool));
            }
            Assumptions.assumeTrue(found, tool + " (binutils) is not installed: the option ROM cannot be built");
        }
    }

    /** Builds dir/NAME for a function with the given ids and 24-bit class code; returns its path. */
    static Path build(Path dir, String name, int vendor, int device, int classCode) {
        try {
            Path src = dir.resolve(name + ".S");
            Path obj = dir.resolve(name + ".o");
            Path rom = dir.resolve(name);
            Files.writeString(src, SOURCE);
            List<String> as = new ArrayList<>(List.of("as", "--32", "-o", obj.toString()));
            defsym(as, "VENDOR", vendor);
            defsym(as, "DEVICE", device);
            defsym(as, "CLASS_PROG", classCode & 0xff);
            defsym(as, "CLASS_SUB", classCode >> 8 & 0xff);
            defsym(as, "CLASS_BASE", classCode >> 16 & 0xff);
            as.add(src.toString());
            run(as);
            run(List.of("objcopy", "-O", "binary", "-j", ".text", obj.toString(), rom.toString()));
            byte[] image = Files.readAllBytes(rom);
            if (image.length != BLOCK) {
                throw new IllegalStateException("option ROM is " + image.length + " bytes, not " + BLOCK);
            }
            int sum = 0;
            for (int i = 0; i < image.length - 1; i++) {
                sum += image[i] & 0xff;
            }
            image[image.length - 1] = (byte) -sum;
            Files.write(rom, image);
            return rom;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void defsym(List<String> args, String name, int value) {
        args.add("--defsym");
        args.add(name + "=0x" + Integer.toHexString(value));
    }

    private static void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(TOOL_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd + " did not finish in " + TOOL_SECONDS + " s");
            }
            String out = new String(p.getInputStream().readAllBytes());
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
