package dev.jvmm.kvm.boot;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FirmwareKernel's rules that need no QEMU; FirmwareKernelQemuTest compares whole items with QEMU 7.2's. */
class FirmwareKernelTest {
    private static final long RAM = 128L << 20;

    private static int u32(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Test
    void vgaModesAsX86LoadLinuxReadsThem() {
        assertNull(FirmwareKernel.vgaMode("console=ttyS0"));
        assertEquals(0xffff, FirmwareKernel.vgaMode("vga=normal"));
        assertEquals(0xfffe, FirmwareKernel.vgaMode("a vga=ext"));
        assertEquals(0xfffd, FirmwareKernel.vgaMode("vga=ask"));
        assertEquals(0x317, FirmwareKernel.vgaMode("vga=0x317 quiet"));
        assertEquals(0x317, FirmwareKernel.vgaMode("vga=791"));
        assertEquals(8, FirmwareKernel.vgaMode("vga=010"));
        assertEquals(0, FirmwareKernel.vgaMode("vga=foo"));
    }

    @Test
    void bzImageInitrdGoesBelowTheAcpiArea() {
        byte[] k = TestImages.bzImage(0x20f, 4096, BzImageLoader.LOADED_HIGH);
        FirmwareKernel fk = FirmwareKernel.of(new KernelLoader.Request("k", k, "x", "i", new byte[6]), RAM);
        assertEquals(FirmwareKernel.LINUXBOOT_ROM, fk.optionRom());
        // (128 MiB - 0x28000 - 1 - 6) rounded down to a page
        assertEquals(0x7fd7000, u32(fk.items().get(FirmwareKernel.FW_CFG_INITRD_ADDR)));
        assertEquals(0x100000, u32(fk.items().get(FirmwareKernel.FW_CFG_KERNEL_ADDR)));
        assertEquals(2, u32(fk.items().get(FirmwareKernel.FW_CFG_CMDLINE_SIZE)));
        byte[] setup = fk.items().get(FirmwareKernel.FW_CFG_SETUP_DATA);
        assertEquals(0xb0, setup[BzImageLoader.OFF_TYPE_OF_LOADER] & 0xff);
        assertEquals(0x7fd7000, u32(java.util.Arrays.copyOfRange(setup, BzImageLoader.OFF_RAMDISK_IMAGE,
                BzImageLoader.OFF_RAMDISK_IMAGE + 4)));
    }

    @Test
    void anInitrdTooLargeIsQemusError() {
        byte[] k = TestImages.bzImage(0x20f, 4096, BzImageLoader.LOADED_HIGH);
        KernelLoadException e = assertThrows(KernelLoadException.class, () -> FirmwareKernel.of(
                new KernelLoader.Request("k", k, "", "i", new byte[1 << 20]), 1L << 20));
        assertTrue(e.getMessage().contains("initrd is too large, cannot support."), e.getMessage());
    }

    @Test
    void missingRomIsQemusText() {
        assertEquals("Could not open option rom 'pvh.bin': No such file or directory",
                FirmwareKernel.missingRomMessage("pvh.bin"));
    }
}
