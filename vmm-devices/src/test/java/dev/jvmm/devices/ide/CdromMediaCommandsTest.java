package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The QMP medium commands on an ATAPI CD-ROM, run by the block graph over the device's tray, with the events
 * and messages QEMU 7.2 gives (recorded over QMP, tests/reference/ide) and what the guest then sees.
 */
class CdromMediaCommandsTest {
    static final int[] GESN = {AtapiCdrom.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8};

    @TempDir
    Path dir;
    CdromRig rig;

    private CdromRig rig() throws IOException {
        CdromRig.image(dir.resolve("cd1.iso"), 300, 3);
        CdromRig.image(dir.resolve("cd2.iso"), 100, 5);
        rig = new CdromRig("file=" + dir.resolve("cd1.iso") + ",if=none,id=cd0,format=raw,media=cdrom",
                "driver=raw,node-name=cd2,read-only=on,file.driver=file,file.filename=" + dir.resolve("cd2.iso"));
        return rig;
    }

    @AfterEach
    void close() {
        if (rig != null) {
            rig.close();
        }
    }

    private String gesn() {
        return HexFormat.of().formatHex(rig.g.packet(1, 0, GESN, 0xfffe, false));
    }

    @Test
    void disksAreNotRemovable() throws Exception {
        CdromRig r = rig();
        CdromRig.image(dir.resolve("hd.img"), 512, 1);
        r.graph.addDrive("file=" + dir.resolve("hd.img") + ",if=none,id=hd0,format=raw");
        r.graph.attach("hd0", "disk0", "/machine/peripheral/disk0", null, "ide-hd.drive");
        MachineCommandException e = assertThrows(MachineCommandException.class,
                () -> r.graph.eject("hd0", null, false));
        assertEquals("Device 'hd0' is not removable", e.getMessage());
    }

    @Test
    void lockedEjectFailsButOpenTrayAsksTheGuest() throws Exception {
        CdromRig r = rig();
        r.g.packet(1, 0, new int[]{AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1}, 0xfffe, false);
        assertTrue(r.drive.mediumLocked());
        assertEquals("error: Device 'mycd' is locked and force was not specified, wait for tray to open and try"
                + " again", r.host("eject", false, null));
        assertEquals("0004041001020000", gesn()); // the eject request
        assertEquals("ok", r.host("blockdev-open-tray", false, null)); // succeeds without opening
        assertFalse(r.cd.isTrayOpen());
        assertTrue(r.drive.hasMedium());
        assertEquals(List.of(), r.events());
        assertEquals("ok", r.host("blockdev-open-tray", true, null));
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=true"), r.events());
        assertTrue(r.cd.isTrayOpen());
        assertFalse(r.drive.mediumLocked());
        assertEquals("0004041000010000", gesn()); // an open tray reports no event
    }

    @Test
    void removeInsertCloseAndChange() throws Exception {
        CdromRig r = rig();
        assertEquals("error: Tray of device 'mycd' is not open", r.host("blockdev-remove-medium", false, null));
        assertEquals("ok", r.host("blockdev-open-tray", false, null));
        assertEquals("ok", r.host("blockdev-open-tray", false, null));
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=true"), r.events());
        assertEquals("error: There already is a medium in the device", r.host("blockdev-insert-medium", false,
                "cd2"));
        assertEquals("ok", r.host("blockdev-remove-medium", false, null));
        assertFalse(r.drive.hasMedium());
        assertEquals("ok", r.host("blockdev-remove-medium", false, null));
        assertEquals("ok", r.host("blockdev-insert-medium", false, "cd2"));
        assertEquals("ok", r.host("blockdev-close-tray", false, null));
        assertEquals("ok", r.host("blockdev-close-tray", false, null));
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=false"), r.events());
        assertEquals("0004041002020000", gesn());
        // the guest reads the new medium's capacity after the media-change sense
        r.g.packet(1, 0, new int[]{AtapiCdrom.TEST_UNIT_READY}, 0xfffe, false);
        r.g.packet(1, 0, new int[]{AtapiCdrom.TEST_UNIT_READY}, 0xfffe, false);
        r.g.packet(1, 0, new int[]{AtapiCdrom.REQUEST_SENSE, 0, 0, 0, 18}, 0xfffe, false);
        assertEquals("00000063", HexFormat.of().formatHex(
                r.g.packet(1, 0, new int[]{AtapiCdrom.READ_CAPACITY}, 0xfffe, false)).substring(0, 8));
        r.graph.changeMedium(null, CdromRig.ID, dir.resolve("cd1.iso").toString(), "raw", false,
                BlockGraph.ReadOnlyMode.RETAIN);
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=true", "DEVICE_TRAY_MOVED tray-open=false"), r.events());
        assertTrue(r.drive.hasMedium());
        assertEquals(300L * 2048, r.drive.size());
        assertEquals("ok", r.host("eject", false, null));
        assertFalse(r.drive.hasMedium());
        assertTrue(r.cd.isTrayOpen());
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=true"), r.events());
    }

    @Test
    void guestEjectAndLoadAreReportedByTheDrive() throws Exception {
        CdromRig r = rig();
        r.g.packet(1, 0, new int[]{AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 2}, 0xfffe, false);
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=true"), r.events());
        assertTrue(r.drive.trayOpen());
        assertTrue(r.drive.hasMedium()); // the medium stays in an open tray
        r.g.packet(1, 0, new int[]{AtapiCdrom.START_STOP_UNIT, 0, 0, 0, 3}, 0xfffe, false);
        assertEquals(List.of("DEVICE_TRAY_MOVED tray-open=false"), r.events());
        assertFalse(r.drive.trayOpen());
    }
}
