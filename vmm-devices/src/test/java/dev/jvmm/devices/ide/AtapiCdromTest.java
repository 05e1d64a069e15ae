package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ATAPI DVD-ROM on the secondary master: packet commands, sense data, tray and media changes. */
class AtapiCdromTest {
    static final int CH = 1;
    final IdeGuest g = new IdeGuest();
    final FakeBackend iso = new FakeBackend("ide1-cd0", 300 * 2048);
    final AtapiCdrom cd = new AtapiCdrom(iso, "QM00003");
    /** The guest's own tray moves, as the drive is told them (DEVICE_TRAY_MOVED). */
    final List<Boolean> trayEvents = iso.trayMoves;

    AtapiCdromTest() {
        g.ide.bus(CH).attach(0, cd);
    }

    @AfterEach
    void close() {
        g.close();
    }

    private byte[] pio(int... cdb) {
        return g.packet(CH, 0, cdb, 0xfffe, false);
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** Sense key and ASC from REQUEST SENSE. */
    private int[] sense() {
        byte[] s = pio(AtapiCdrom.REQUEST_SENSE, 0, 0, 0, 18);
        assertEquals(18, s.length);
        return new int[]{s[2] & 0xf, s[12] & 0xff};
    }

    private void assertCheck(int key, int asc) {
        assertEquals(0x41, g.status(CH));
        assertEquals(key << 4, g.error(CH));
        assertArrayEquals(new int[]{key, asc}, sense());
    }

    private void assertGood() {
        assertEquals(0x50, g.status(CH));
    }

    @Test
    void identifyPacketDeviceAndSignature() {
        assertArrayEquals(new int[]{0, 1, 1, 0x14, 0xeb, 0xa0, 0x50}, g.regs(CH));
        g.out(0x176, 0xa0);
        g.out(0x177, IdeDevice.CMD_IDENTIFY_DEVICE);
        assertArrayEquals(new int[]{4, 1, 1, 0x14, 0xeb, 0xa0, 0x41}, g.regs(CH));
        g.out(0x177, IdeDevice.CMD_IDENTIFY_PACKET_DEVICE);
        int[] w = g.words(g.readPio(CH, 512));
        assertEquals(0x85c0, w[0]);
        assertEquals("QM00003", AtaDriveTest.ataString(w, 10, 20).trim());
        assertEquals("QEMU DVD-ROM", AtaDriveTest.ataString(w, 27, 40).trim());
        assertEquals(0x0300, w[49]);
        assertEquals(0x1e, w[80]);
        assertEquals(0x203f, w[88]);
    }

    @Test
    void inquiryCapacityAndTestUnitReady() {
        assertEquals("058000211f00000051454d552020202051454d55204456442d524f4d20202020322e352b",
                hex(pio(AtapiCdrom.INQUIRY, 0, 0, 0, 96)));
        assertEquals(0x50, g.status(CH));
        assertEquals(3, g.in(0x172)); // interrupt reason: I/O and C/D at completion
        assertEquals("050000020083", hex(pio(AtapiCdrom.INQUIRY, 1, 0, 0, 96)));
        assertEquals("0583001802000014514d303030303320202020202020202020202020",
                hex(pio(AtapiCdrom.INQUIRY, 1, 0x83, 0, 96)));
        assertEquals("0000012b00000800", hex(pio(AtapiCdrom.READ_CAPACITY)));
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertGood();
        pio(AtapiCdrom.INQUIRY, 1, 5, 0, 96);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_INV_FIELD_IN_CMD_PACKET);
        pio(0xff);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_ILLEGAL_OPCODE);
    }

    @Test
    void pagesAndTablesMatchQemu() {
        assertEquals("001c7000000000002a143b007160290002c00002020002c0000000000000",
                hex(pio(AtapiCdrom.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64)));
        assertEquals("000e7000000000000106000500000000",
                hex(pio(AtapiCdrom.MODE_SENSE_10, 0, 0x01, 0, 0, 0, 0, 0, 64)));
        pio(AtapiCdrom.MODE_SENSE_10, 0, 0xea, 0, 0, 0, 0, 0, 64);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
        assertEquals("0000001000000008000003080010000000080100",
                hex(pio(AtapiCdrom.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 64)));
        assertEquals("0012010100140100000000000016aa000000012c",
                hex(pio(AtapiCdrom.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 0, 0, 64, 0)));
        assertEquals("0012010100140100000002000016aa0000000600",
                hex(pio(AtapiCdrom.READ_TOC_PMA_ATIP, 2, 0, 0, 0, 0, 0, 0, 64, 0)));
        assertEquals("000a01010000000000000000",
                hex(pio(AtapiCdrom.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 0, 0, 64, 0x40)));
        assertEquals("002e0101011400a000000000010000011400a100000000010000011400a20000000000012c01140001000000"
                        + "00000000",
                hex(pio(AtapiCdrom.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 1, 0, 64, 0x80)));
        assertEquals("0000000000010000", hex(pio(AtapiCdrom.MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0, 8)));
        assertEquals("00200e0101010120" + "00".repeat(26),
                hex(pio(AtapiCdrom.READ_DISC_INFORMATION, 0, 0, 0, 0, 0, 0, 0, 64)));
        pio(AtapiCdrom.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 2, 0, 64, 0);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_INV_FIELD_IN_CMD_PACKET);
    }

    @Test
    void readPioSplitsByByteCountLimit() {
        for (int s = 0; s < 8; s++) {
            iso.pattern(8 + s, 2);
        }
        byte[] all = g.packet(CH, 0, new int[]{AtapiCdrom.READ_10, 0, 0, 0, 0, 2, 0, 0, 2}, 1000, false);
        byte[] want = new byte[4096];
        for (int s = 0; s < 8; s++) {
            System.arraycopy(iso.sector(8 + s), 0, want, s * 512, 512);
        }
        assertArrayEquals(want, all);
        // the last DRQ block was 96 bytes
        assertArrayEquals(new int[]{0, 3, 1, 0x60, 0, 0xa0, 0x50}, g.regs(CH));
        assertArrayEquals(want, pio(AtapiCdrom.READ_12, 0, 0, 0, 0, 2, 0, 0, 0, 2));
        pio(AtapiCdrom.READ_10, 0, 0, 0, 1, 0x2b, 0, 0, 2);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_LOGICAL_BLOCK_OOR);
        pio(AtapiCdrom.READ_10, 0, 0, 0, 0, 0, 0, 0, 0);
        assertGood();
    }

    /** READ CD as QEMU 7.2: user data, raw sectors with sync and header, nothing, or an invalid field. */
    @Test
    void readCd() {
        iso.pattern(8, 4);
        byte[] user = pio(AtapiCdrom.READ_CD, 0, 0, 0, 0, 2, 0, 0, 1, 0x10);
        assertEquals(2048, user.length);
        assertArrayEquals(iso.sector(8), Arrays.copyOf(user, 512));
        byte[] raw = pio(AtapiCdrom.READ_CD, 0, 0, 0, 0, 2, 0, 0, 1, 0xf8);
        assertEquals(2352, raw.length);
        assertEquals("00ffffffffffffffffffff0000020201", hex(Arrays.copyOf(raw, 16)));
        assertArrayEquals(iso.sector(8), Arrays.copyOfRange(raw, 16, 16 + 512));
        assertEquals(0, raw[2351]);
        assertArrayEquals(new int[]{0, 3, 1, 0x30, 0x09, 0xa0, 0x50}, g.regs(CH));
        assertEquals(0, pio(AtapiCdrom.READ_CD, 0, 0, 0, 0, 2, 0, 0, 1, 0).length);
        assertGood();
        pio(AtapiCdrom.READ_CD, 0, 0, 0, 0, 2, 0, 0, 1, 0x08);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_INV_FIELD_IN_CMD_PACKET);
        pio(AtapiCdrom.READ_CD, 0, 0, 0, 1, 0x2c, 0, 0, 1, 0x10);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_LOGICAL_BLOCK_OOR);
        pio(AtapiCdrom.READ_DVD_STRUCTURE, 0, 0, 0, 0, 0, 0, 0, 0, 8);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_INCOMPATIBLE_FORMAT);
        // raw sectors by DMA
        g.prds(0x1000, true, 0x8000, 2 * 2352);
        g.bmSetup(CH, 0x1000, true);
        g.packet(CH, 0, new int[]{AtapiCdrom.READ_CD, 0, 0, 0, 0, 2, 0, 0, 2, 0xf8}, 0, true);
        g.bmStart(CH, true);
        assertEquals(0x50, g.status(CH));
        byte[] two = new byte[2 * 2352];
        g.mem.read(0x8000, two, 0, two.length);
        assertEquals("00ffffffffffffffffffff0000020301", hex(Arrays.copyOfRange(two, 2352, 2352 + 16)));
    }

    @Test
    void zeroByteCountLimitAbortsWithoutInterrupt() {
        g.status(CH);
        g.packet(CH, 0, new int[]{AtapiCdrom.INQUIRY, 0, 0, 0, 96}, 0, false);
        assertFalse(g.level[14 + CH]);
        assertArrayEquals(new int[]{4, 1, 1, 0, 0, 0xa0, 0x41}, g.regs(CH));
    }

    @Test
    void dmaReadAndDmaReply() {
        for (int s = 0; s < 4 * 40; s++) {
            iso.pattern(s, 5);
        }
        g.prds(0x1000, true, 0x100000, 0, 0x200000, 40 * 2048 - 0x10000);
        g.bmSetup(CH, 0x1000, true);
        g.packet(CH, 0, new int[]{AtapiCdrom.READ_10, 0, 0, 0, 0, 0, 0, 0, 40}, 0, true);
        g.bmStart(CH, true);
        assertTrue(g.level[15]);
        assertEquals(BusMasterDma.STATUS_INTERRUPT, g.bmStatus(CH));
        assertArrayEquals(new int[]{0, 3, 1, 0, 0, 0xa0, 0x50}, g.regs(CH));
        byte[] got = new byte[40 * 2048];
        g.mem.read(0x100000, got, 0, 0x10000);
        g.mem.read(0x200000, got, 0x10000, got.length - 0x10000);
        for (int s = 0; s < 160; s++) {
            assertArrayEquals(iso.sector(s), Arrays.copyOfRange(got, s * 512, s * 512 + 512), "sector " + s);
        }
        g.out(g.bm(CH), 0);
        g.out(g.bm(CH) + 2, 6);
        g.prds(0x1000, true, 0x3000, 36);
        g.packet(CH, 0, new int[]{AtapiCdrom.INQUIRY, 0, 0, 0, 96}, 0, true);
        g.bmStart(CH, true);
        byte[] inq = new byte[36];
        g.mem.read(0x3000, inq, 0, 36);
        assertEquals("QEMU DVD-ROM", new String(inq, 16, 12, java.nio.charset.StandardCharsets.US_ASCII));
        // a PRD outside RAM
        g.out(g.bm(CH), 0);
        g.prds(0x1000, true, 0x7fff_0000L, 2048);
        g.packet(CH, 0, new int[]{AtapiCdrom.READ_10, 0, 0, 0, 0, 0, 0, 0, 1}, 0, true);
        g.bmStart(CH, true);
        assertEquals(BusMasterDma.STATUS_ERROR | BusMasterDma.STATUS_INTERRUPT, g.bmStatus(CH) & 0x07);
        assertEquals(0x41, g.status(CH));
    }

    @Test
    void hostMediaChangeGivesNotReadyThenUnitAttention() {
        // the block graph's blockdev-open-tray on an unlocked tray: change_media_cb(load=false)
        cd.changeMedia(false);
        assertTrue(cd.isTrayOpen());
        assertEquals(List.of(), trayEvents); // host moves are the drive's to report
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertCheck(AtapiCdrom.SENSE_NOT_READY, AtapiCdrom.ASC_MEDIUM_NOT_PRESENT);
        assertEquals("0004041000010000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        iso.eject();
        iso.insert(100 * 2048);
        cd.changeMedia(true);
        assertFalse(cd.isTrayOpen());
        // GESN (allowed during unit attention) shows the new medium once
        assertEquals("0004041002020000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        assertEquals("0004041000020000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertEquals(0x41, g.status(CH));
        assertEquals(AtapiCdrom.SENSE_NOT_READY << 4, g.error(CH));
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertEquals(0x41, g.status(CH));
        assertEquals(AtapiCdrom.SENSE_UNIT_ATTENTION << 4, g.error(CH));
        // until REQUEST SENSE, commands get a bare check condition
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertEquals(0x01, g.status(CH));
        assertEquals(0x60 | IdeDevice.ERROR_MC, g.error(CH));
        assertArrayEquals(new int[]{AtapiCdrom.SENSE_UNIT_ATTENTION, AtapiCdrom.ASC_MEDIUM_MAY_HAVE_CHANGED},
                sense());
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertGood();
        assertEquals("000000630000" + "0800", hex(pio(AtapiCdrom.READ_CAPACITY)).substring(0, 16));
    }

    /** QMP eject (unlocked) then blockdev-close-tray on the empty slot, as recorded from QEMU 7.2. */
    @Test
    void ejectThenCloseEmptyReportsNewMediaWithoutMedium() {
        cd.changeMedia(false);
        iso.eject();
        cd.changeMedia(true);
        assertFalse(cd.isTrayOpen());
        assertEquals("0004041002000000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertCheck(AtapiCdrom.SENSE_NOT_READY, AtapiCdrom.ASC_MEDIUM_NOT_PRESENT);
        assertEquals(List.of(), trayEvents);
    }

    @Test
    void emptyDriveWithAShutTray() {
        cd.changeMedia(false);
        iso.eject();
        cd.changeMedia(true);
        // an empty drive with a shut tray
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertCheck(AtapiCdrom.SENSE_NOT_READY, AtapiCdrom.ASC_MEDIUM_NOT_PRESENT);
        byte[] gesn = pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8);
        assertEquals(0, gesn[5]);
        assertEquals("0000001000000000000003080010000000080000",
                hex(pio(AtapiCdrom.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 64)));
    }

    @Test
    void lockedTrayTurnsHostEjectIntoARequest() {
        pio(AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1);
        assertGood();
        assertTrue(cd.isMediumLocked());
        g.status(CH);
        // the graph's open-tray on a locked tray without force only asks the guest
        cd.ejectRequest(false);
        assertTrue(cd.isMediumLocked());
        assertTrue(g.level[15]); // the guest is interrupted to look
        assertFalse(cd.isTrayOpen());
        assertEquals(List.of(), trayEvents);
        assertEquals("0004041001020000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        // the request is reported once
        assertEquals("0004041000020000", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10,
                0, 0, 0, 8)));
        // the guest's own eject is refused while it holds the lock
        pio(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 2);
        assertCheck(AtapiCdrom.SENSE_NOT_READY, AtapiCdrom.ASC_MEDIA_REMOVAL_PREVENTED);
        // a driver honouring the request unlocks and ejects: the tray event comes from the guest's command
        pio(AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0);
        pio(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 2);
        assertGood();
        assertEquals(List.of(true), trayEvents);
        assertTrue(cd.isTrayOpen());
        pio(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 3); // load
        assertGood();
        assertEquals(List.of(true, false), trayEvents);
        pio(AtapiCdrom.TEST_UNIT_READY);
        assertGood(); // a guest load is not a media change
    }

    @Test
    void forcedOpenDropsTheLock() {
        pio(AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1);
        // with force the graph asks (the lock drops) and then opens the tray itself
        cd.ejectRequest(true);
        assertFalse(cd.isMediumLocked());
        cd.changeMedia(false);
        assertTrue(cd.isTrayOpen());
        assertEquals(List.of(), trayEvents);
        pio(AtapiCdrom.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64);
        assertGood();
    }

    @Test
    void resetShutsAndUnlocksTheTraySilently() {
        pio(AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 2);
        pio(AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1);
        assertTrue(cd.isTrayOpen());
        g.out(0x376, IdeBus.CONTROL_SRST);
        g.out(0x376, 0);
        assertArrayEquals(new int[]{1, 1, 1, 0x14, 0xeb, 0xa0, 0}, g.regs(CH));
        assertFalse(cd.isTrayOpen());
        assertFalse(cd.isMediumLocked());
        assertEquals(List.of(true), trayEvents);
        g.out(0x176, 0xa0);
        g.out(0x177, IdeDevice.CMD_DEVICE_RESET);
        assertArrayEquals(new int[]{0, 1, 1, 0x14, 0xeb, 0xa0, 0}, g.regs(CH));
    }

    @Test
    void eventStatusPollingOnly() {
        pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 0, 0, 0, 0x10, 0, 0, 0, 8);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_INV_FIELD_IN_CMD_PACKET);
        assertEquals("00008010", hex(pio(AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x02, 0, 0, 0, 8)));
    }

    @Test
    void readErrorsFromTheMedium() {
        iso.failNext = 1;
        pio(AtapiCdrom.READ_10, 0, 0, 0, 0, 0, 0, 0, 1);
        assertCheck(AtapiCdrom.SENSE_ILLEGAL_REQUEST, AtapiCdrom.ASC_LOGICAL_BLOCK_OOR);
        // DMA goes through the error policy; stop re-runs the packet command on resume
        iso.action = BlockBackend.ErrorAction.STOP;
        iso.failNext = 1;
        iso.pattern(0, 1);
        g.prds(0x1000, true, 0x3000, 2048);
        g.bmSetup(CH, 0x1000, true);
        g.packet(CH, 0, new int[]{AtapiCdrom.READ_10, 0, 0, 0, 0, 0, 0, 0, 1}, 0, true);
        g.bmStart(CH, true);
        assertEquals(List.of(true), iso.errors);
        iso.retry.run();
        assertEquals(0x50, g.status(CH));
        byte[] got = new byte[512];
        g.mem.read(0x3000, got, 0, 512);
        assertArrayEquals(iso.sector(0), got);
    }
}
