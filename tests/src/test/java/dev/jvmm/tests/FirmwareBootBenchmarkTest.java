package dev.jvmm.tests;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Firmware boot time, printed and not compared with a bound (scripts/bench.sh runs the benchmark group): for
 * each medium of {@link FirmwareBootSideBySideTest}, QEMU alone and then jvmm alone (not at the same time, so
 * neither slows the other), from the process's start to GRUB's first line and to the guest's power-off line,
 * and jvmm's times as a ratio of QEMU's. Both runs must reach power-off, or the figures would mean nothing.
 */
@Tag("benchmark")
class FirmwareBootBenchmarkTest {
    @TempDir
    static Path media;

    @BeforeAll
    static void buildMedia() {
        FirmwareBootSideBySideTest.buildMedia(media);
    }

    @ParameterizedTest
    @MethodSource("dev.jvmm.tests.FirmwareBootSideBySideTest#media")
    void firmwareBootTime(FirmwareBootSideBySideTest.Medium m, @TempDir Path dir) {
        Path qemu = Env.assumeQemu();
        FirmwareRun.Result q = FirmwareRun.run(qemu.toString(),
                FirmwareBootSideBySideTest.commonArgs(m, FirmwareBootSideBySideTest.diskFor(m, dir, "qemu")), dir,
                "qemu", FirmwareBootSideBySideTest.TIMEOUT);
        FirmwareBootSideBySideTest.assertQemuBooted(q);
        System.out.printf("BENCH firmware-boot %s: QEMU first line %.1f s, power-off %.1f s, exit %.1f s%n", m,
                q.firstLineMillis() / 1000.0, q.lastLineMillis() / 1000.0, q.endMillis() / 1000.0);
        FirmwareRun.Result j = FirmwareRun.run(Env.launcher().toString(),
                FirmwareBootSideBySideTest.commonArgs(m, FirmwareBootSideBySideTest.diskFor(m, dir, "jvmm")), dir,
                "jvmm", FirmwareBootSideBySideTest.TIMEOUT);
        assertFalse(j.killed(), "jvmm did not finish: " + j.describe());
        assertTrue(j.firstLineMillis() >= 0 && j.lastLineMillis() >= 0, "jvmm did not boot: " + j.describe());
        System.out.printf("BENCH firmware-boot %s: jvmm first line %.1f s, power-off %.1f s, exit %.1f s;"
                        + " jvmm/QEMU first line %.2f, power-off %.2f%n", m,
                j.firstLineMillis() / 1000.0, j.lastLineMillis() / 1000.0, j.endMillis() / 1000.0,
                (double) j.firstLineMillis() / q.firstLineMillis(), (double) j.lastLineMillis() / q.lastLineMillis());
    }
}
