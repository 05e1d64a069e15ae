package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PIIX3 USB controller side by side (tests/guest/src/uhci.c, action=uhci): the guest finds 8086:7020 at
 * 00:01.2, checks its configuration space, resets it, pokes the empty root ports, runs a SETUP to address 0
 * that must time out with the interrupt on INTD, and halts it. QEMU 7.2 and jvmm print the same lines and exit
 * with the same status, for the -device spellings libvirt and users write.
 */
class UhciSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @ParameterizedTest
    @ValueSource(strings = {"piix3-usb-uhci,addr=0x1.0x2", "piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2",
        "{\"driver\":\"piix3-usb-uhci\",\"id\":\"usb\",\"bus\":\"pci.0\",\"addr\":\"0x1.0x2\"}"})
    void sameSerialOutputAndExitStatus(String device) {
        Path qemu = Env.assumeQemu();
        String[] argv = TinyGuest.argv(Env.guest(TinyGuest.Format.PVH.file), "action=uhci", "-device", device);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertTrue(q.stdout().contains("uhci: all passed\n"), "QEMU's run: " + q.stdout() + q.stderr());
        assertEquals(q.stdout(), j.stdout(), "serial output differs; jvmm stderr: " + j.stderr());
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }
}
