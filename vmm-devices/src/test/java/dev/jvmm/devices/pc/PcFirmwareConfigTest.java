package dev.jvmm.devices.pc;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The pieces of QEMU 7.2's fw_cfg content, in the bytes QEMU 7.2 itself gives (read from it over qtest). */
class PcFirmwareConfigTest {
    @Test
    void bootOrderIsOnePathPerLineEndingInNulWithHaltForStrict() {
        List<String> paths = List.of("/pci@i0cf8/ide@1,1/drive@1/disk@0", "/pci@i0cf8/scsi@5/disk@0,0");
        assertArrayEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/scsi@5/disk@0,0\0"
                .getBytes(StandardCharsets.US_ASCII), PcFirmwareConfig.bootOrder(paths, false));
        assertArrayEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/scsi@5/disk@0,0\nHALT\0"
                .getBytes(StandardCharsets.US_ASCII), PcFirmwareConfig.bootOrder(paths, true));
        // no bootindex anywhere: an empty file, even with strict=on
        assertEquals(0, PcFirmwareConfig.bootOrder(List.of(), true).length);
    }

    @Test
    void systemStatesAsPiix4PmGivesThem() {
        assertArrayEquals(new byte[] {(byte) 0x80, 0, 0, (byte) 0x81, (byte) 0x82, (byte) 0x80},
                PcFirmwareConfig.systemStates(true, true, 2));
        assertArrayEquals(new byte[] {(byte) 0x80, 0, 0, 0x01, (byte) 0x82, (byte) 0x80},
                PcFirmwareConfig.systemStates(false, true, 2));
        assertArrayEquals(new byte[] {(byte) 0x80, 0, 0, (byte) 0x81, 0x03, (byte) 0x80},
                PcFirmwareConfig.systemStates(true, false, 3));
    }

    @Test
    void hpetConfigHoldsTheBlockOrQemusNoneCount() {
        byte[] none = PcFirmwareConfig.hpetConfig(Optional.empty());
        assertEquals(121, none.length);
        assertEquals((byte) 0xff, none[0]);
        byte[] one = PcFirmwareConfig.hpetConfig(Optional.of(new PcFirmwareConfig.HpetInfo(0x8086a201, 0xfed00000L)));
        assertArrayEquals(new byte[] {1, 0x01, (byte) 0xa2, (byte) 0x86, (byte) 0x80, 0, 0, (byte) 0xd0, (byte) 0xfe,
            0, 0, 0, 0, 0, 0, 0}, java.util.Arrays.copyOf(one, 16));
    }

    @Test
    void e820EntriesArePacked20ByteLittleEndian() {
        byte[] b = PcFirmwareConfig.e820(List.of(new PcFirmwareConfig.E820Entry(0xfeffc000L, 0x4000, 2),
                new PcFirmwareConfig.E820Entry(0, 0x8000000, 1)));
        assertEquals("00c0fffe000000000040000000000000020000000000000000000000000000080000000001000000",
                java.util.HexFormat.of().formatHex(b));
    }
}
