package dev.jvmm.devices.virtio;

import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** romfile, rombar and romsize on virtio-pci functions, as QEMU 7.2's pci_add_option_rom treats them. */
class VirtioOptionRomTest {
    static final int ROM = PciConfigSpace.ROM_ADDRESS;
    final TestBoard b = new TestBoard();

    @TempDir
    Path dir;

    @AfterEach
    void close() {
        b.close();
    }

    Path rom(String name, int size) throws IOException {
        byte[] data = new byte[size];
        data[0] = 0x55;
        data[1] = (byte) 0xaa;
        return Files.write(dir.resolve(name), data);
    }

    int slot() {
        for (int slot = 2; slot < 32; slot++) {
            if (b.pci.function(slot, 0) != null) {
                return slot;
            }
        }
        throw new AssertionError("no function plugged");
    }

    int sizeProbe(int slot) {
        int devfn = slot << 3;
        b.pci.writeConfig(0, devfn, ROM, 4, 0xffff_fffe);
        return b.pci.readConfig(0, devfn, ROM, 4);
    }

    @Test
    void romBarIsTheFileSizeRoundedUpToAPowerOfTwo() throws IOException {
        b.add("virtio-balloon-pci,romfile=" + rom("a.rom", 5000));
        int slot = slot();
        assertEquals(0xffff_e000, sizeProbe(slot), "5000 bytes: an 8 KiB ROM BAR");
        assertTrue(b.pci.function(slot, 0).bars().stream().anyMatch(PciBar::isRom));
        int devfn = slot << 3;
        b.pci.writeConfig(0, devfn, PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        b.pci.writeConfig(0, devfn, ROM, 4, 0xfeb0_0001);
        assertEquals(0xaa55, b.mmio.read(0xfeb0_0000L, 2));
    }

    @Test
    void romsizeGivesTheBarItsSize() throws IOException {
        b.add("virtio-balloon-pci,romsize=65536,romfile=" + rom("a.rom", 5000));
        assertEquals(0xffff_0000, sizeProbe(slot()));
    }

    @Test
    void noRomfileNoRomBar() {
        b.add("virtio-balloon-pci");
        assertEquals(0, sizeProbe(slot()));
    }

    @Test
    void rombarZeroAddsAGenromsFileInstead() throws IOException {
        Path file = rom("x.rom", 1024);
        b.add("virtio-balloon-pci,rombar=0,romfile=" + file);
        assertEquals(0, sizeProbe(slot()), "no ROM BAR");
        assertArrayEquals(Files.readAllBytes(file), b.firmwareFiles.get("genroms/x.rom"));
    }

    @Test
    void rombarZeroWithAMissingFileIsReportedNotRefused() {
        b.add("virtio-balloon-pci,rombar=0,romfile=" + dir.resolve("none.rom"));
        assertTrue(b.firmwareFiles.isEmpty());
        assertTrue(b.errText().contains("Could not open option rom '" + dir.resolve("none.rom") + "'"),
                b.errText());
    }

    @Test
    void refusalsAreQemus() throws IOException {
        Path missing = dir.resolve("none.rom");
        assertEquals("failed to find romfile \"" + missing + "\"",
                b.refusal("virtio-balloon-pci,romfile=" + missing));
        Path empty = Files.write(dir.resolve("empty.rom"), new byte[0]);
        assertEquals("romfile \"" + empty + "\" is empty", b.refusal("virtio-balloon-pci,romfile=" + empty));
        Path big = rom("big.rom", 5000);
        assertEquals("romfile \"" + big + "\" (5000 bytes) is too large for ROM size 4096",
                b.refusal("virtio-balloon-pci,romsize=4096,romfile=" + big));
        assertEquals("ROM size 3000 is not a power of two", b.refusal("virtio-balloon-pci,romsize=3000"));
    }

    @Test
    void otherPciFunctionsRefuseRomfile() throws IOException {
        String why = b.refusal("i6300esb,romfile=" + rom("a.rom", 512));
        assertTrue(why.contains("romfile"), why);
    }
}
