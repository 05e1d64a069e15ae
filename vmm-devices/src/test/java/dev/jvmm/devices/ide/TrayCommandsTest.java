package dev.jvmm.devices.ide;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QMP tray command sequences, with the events and messages QEMU 7.2 gives (recorded over QMP). */
class TrayCommandsTest {
    final IdeGuest g = new IdeGuest();
    final FakeBackend iso = new FakeBackend("cd0", 300 * 2048);
    final AtapiCdrom cd = new AtapiCdrom(iso, "QM00003");
    final AtaDrive hd = new AtaDrive(new FakeBackend("ide0-hd0", 1 << 20), "QM00001", null, true);
    final List<Boolean> events = new ArrayList<>();

    TrayCommandsTest() {
        g.ide.bus(0).attach(0, hd);
        g.ide.bus(1).attach(0, cd);
        cd.setTrayListener(events::add);
    }

    @AfterEach
    void close() {
        g.close();
    }

    @Test
    void disksAreNotRemovable() {
        TrayCommands.TrayException e = assertThrows(TrayCommands.TrayException.class,
                () -> TrayCommands.removable("ide0-hd0", hd));
        assertEquals("Device 'ide0-hd0' is not removable", e.getMessage());
    }

    @Test
    void lockedEjectFailsButOpenTrayAsksTheGuest() throws Exception {
        g.packet(1, 0, new int[]{AtapiCdrom.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1}, 0xfffe, false);
        RemovableMedia m = TrayCommands.removable("ide1-cd0", cd);
        TrayCommands.TrayException e = assertThrows(TrayCommands.TrayException.class,
                () -> TrayCommands.eject("ide1-cd0", m, false));
        assertEquals("Device 'ide1-cd0' is locked and force was not specified, wait for tray to open and try again",
                e.getMessage());
        TrayCommands.openTray(m, false); // succeeds without opening
        assertFalse(m.isTrayOpen());
        assertSame(iso, m.medium());
        TrayCommands.openTray(m, true);
        assertEquals(List.of(true), events);
        assertTrue(m.isTrayOpen());
    }

    @Test
    void removeInsertCloseAndChange() throws Exception {
        RemovableMedia m = cd;
        assertEquals("Tray of device 'mycd' is not open", assertThrows(TrayCommands.TrayException.class,
                () -> TrayCommands.removeMedium("mycd", m)).getMessage());
        TrayCommands.openTray(m, false);
        TrayCommands.openTray(m, false);
        assertEquals(List.of(true), events);
        FakeBackend other = new FakeBackend("n2", 100 * 2048);
        assertEquals("There already is a medium in the device", assertThrows(TrayCommands.TrayException.class,
                () -> TrayCommands.insertMedium("mycd", m, other)).getMessage());
        assertSame(iso, TrayCommands.removeMedium("mycd", m));
        assertNull(TrayCommands.removeMedium("mycd", m));
        TrayCommands.insertMedium("mycd", m, other);
        TrayCommands.closeTray(m);
        TrayCommands.closeTray(m);
        assertEquals(List.of(true, false), events);
        TrayCommands.changeMedium("mycd", m, false, () -> iso);
        assertEquals(List.of(true, false, true, false), events);
        assertSame(iso, m.medium());
        TrayCommands.eject("mycd", m, false);
        assertNull(m.medium());
        assertTrue(m.isTrayOpen());
    }
}
