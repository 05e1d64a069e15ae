package dev.jvmm.tests;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * -kernel with an explicit -bios: SeaBIOS boots each tiny guest format through QEMU's option ROM
 * (linuxboot_dma.bin, pvh.bin, multiboot_dma.bin from Debian's qemu-system-data), which reads the kernel from
 * fw_cfg, and the guest passes its checks as under direct boot. One run per format: SeaBIOS and the ROM run
 * emulated under PVM, a few seconds each. Byte-for-byte equality of the fw_cfg items with QEMU 7.2's is
 * vmm-kvm's FirmwareKernelQemuTest.
 */
class FirmwareKernelBootTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("jvmm.firmware.timeout.s", 240));
    private static final Path SEABIOS = Path.of("/usr/share/seabios/bios-256k.bin");
    private static final Path ROMS = Path.of("/usr/share/qemu");

    @BeforeEach
    void needKvmAndFirmware() {
        Env.assumeKvm();
        assumeTrue(Files.isReadable(SEABIOS), SEABIOS + " missing (Debian's seabios package)");
        for (String rom : List.of("linuxboot_dma.bin", "pvh.bin", "multiboot_dma.bin")) {
            assumeTrue(Files.isReadable(ROMS.resolve(rom)), rom + " missing (Debian's qemu-system-data package)");
        }
    }

    @ParameterizedTest
    @EnumSource(TinyGuest.Format.class)
    void everyKernelFormatBootsThroughTheFirmware(TinyGuest.Format f) {
        Path kernel = Env.guest(f.file);
        List<String> argv = new ArrayList<>(TinyGuest.args(kernel, "through firmware"));
        argv.addAll(List.of("-bios", SEABIOS.toString()));
        VmProcess.Result r = VmProcess.runJvmm(TIMEOUT, argv.toArray(new String[0]));
        assertEquals(TinyGuest.passingOutput(f, "through firmware", 128), r.stdout(), r.stderr());
        assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stderr());
    }
}
