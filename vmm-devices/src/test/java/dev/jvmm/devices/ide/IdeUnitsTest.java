package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockErrorPolicy;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Map;

import static dev.jvmm.devices.model.TestBoard.error;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PIIX3 IDE function and its units made through the device model, as the pc machine makes them (the
 * board's unattached devices for if=ide drives) and as -device ide-hd/ide-cd does, with QEMU 7.2's errors
 * (tests/reference/ide/errors-cli.txt).
 */
class IdeUnitsTest {
    @TempDir
    Path dir;
    final TestBoard board = new TestBoard().ide();

    @AfterEach
    void close() {
        board.close();
    }

    Path image(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return p;
    }

    Piix3Ide controller() {
        return assertInstanceOf(Piix3Ide.class, board.pci.function(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION));
    }

    /** What the pc machine does for an if=ide drive: an unattached unit on the drive's bus. */
    void boardUnit(Drive d, int bus, int unit, boolean cdrom) {
        board.model.addUnattached(cdrom ? "ide-cd" : "ide-hd", Map.of("drive", d.name(), "unit", "" + unit),
                "ide." + bus);
    }

    QomNode node(String path) {
        return board.model.tree().resolve(path).orElseThrow();
    }

    @Test
    void boardMakesTheFunctionWithTwoBuses() throws PropertyException {
        Piix3Ide ide = controller();
        assertNull(ide.bus(0).device(0));
        assertEquals("/machine/unattached/device[0]/ide.0", board.model.bus("ide.0").orElseThrow().node().path());
        assertSame(ide.bus(1), board.model.bus("ide.1").orElseThrow().owner(Piix3Ide.Channel.class).bus());
        QomNode n = node("/machine/unattached/device[0]");
        assertEquals(9L, n.get("addr"));
        assertEquals("01.1", n.get("legacy-addr"));
        assertEquals(false, n.get("hotpluggable"));
        assertEquals("/machine/i440fx/pci.0", n.get("parent_bus"));
        assertEquals("-device piix3-ide: jvmm's pc machine has one IDE controller, the board's piix3-ide at 01.1:"
                + " another is not supported", error(() -> board.add("piix3-ide")));
    }

    @Test
    void boardUnitsForIfIdeDrives() throws IOException, PropertyException {
        Drive hd0 = board.drive("file=" + image("a.img") + ",format=raw,if=ide,index=0");
        Drive hd1 = board.drive("file=" + image("b.img") + ",format=raw,if=ide,index=1");
        Drive cd = board.drive("file=" + image("cd.iso") + ",format=raw,if=ide,index=2,media=cdrom");
        boardUnit(hd0, 0, 0, false);
        boardUnit(hd1, 0, 1, false);
        boardUnit(cd, 1, 0, true);
        assertEquals("/machine/unattached/device[1]", hd0.qdev());
        assertEquals("/machine/unattached/device[3]", cd.qdev());
        AtaDrive slave = assertInstanceOf(AtaDrive.class, controller().bus(0).device(1));
        assertEquals("QM00002", slave.serial());
        AtapiCdrom c = assertInstanceOf(AtapiCdrom.class, controller().bus(1).device(0));
        assertSame(cd, c.drive());
        assertEquals("QM00003", c.serial());
        assertTrue(cd.removable());
        assertTrue(cd.hasTray());
        assertFalse(hd0.removable());
        QomNode n = node("/machine/unattached/device[3]");
        assertEquals("ide1-cd0", n.get("drive"));
        assertEquals(0L, n.get("unit"));
        assertEquals("QM00003", n.get("serial"));
        assertEquals("2.5+", n.get("ver"));
        assertEquals(-1L, n.get("bootindex"));
        assertEquals("/machine/unattached/device[0]/ide.1", n.get("parent_bus"));
        assertEquals("/machine/unattached/device[3]", node("/machine/unattached/device[0]/ide.1").get("child[0]"));
        QomNode hd = node("/machine/unattached/device[1]");
        assertEquals(2L, hd.get("cyls"));
        assertEquals(16L, hd.get("heads"));
        assertEquals(63L, hd.get("secs"));
        assertEquals("none", hd.get("bios-chs-trans"));
    }

    @Test
    void defaultCdromIsEmpty() {
        Drive cd = board.graph.addDefaultCdrom();
        boardUnit(cd, 1, 0, true);
        assertFalse(cd.hasMedium());
        assertEquals("/machine/unattached/device[1]", cd.qdev());
        assertInstanceOf(AtapiCdrom.class, controller().bus(1).device(0));
    }

    @Test
    void deviceIdeHdAndIdeCd() throws IOException {
        board.drive("file=" + image("hd.img") + ",format=raw,if=none,id=d0");
        board.add("ide-hd,drive=d0,bus=ide.0,unit=1,serial=abc");
        board.add("ide-cd,id=cd0");
        assertEquals("/machine/peripheral-anon/device[0]", board.graph.drive("d0").qdev());
        AtaDrive disk = assertInstanceOf(AtaDrive.class, controller().bus(0).device(1));
        assertEquals("abc", disk.serial());
        // without bus=, QEMU takes the last IDE bus, ide.1; an ide-cd without drive= has an anonymous empty drive
        AtapiCdrom cd = assertInstanceOf(AtapiCdrom.class, controller().bus(1).device(0));
        assertEquals("", cd.drive().name());
        assertEquals("cd0", ((Drive) cd.drive()).qdev());
        assertTrue(((Drive) cd.drive()).hasTray());
    }

    @Test
    void deviceProperties() throws IOException {
        Drive d = board.drive("file=" + image("hd.img") + ",format=raw,if=none,id=d0,cache=writethrough");
        d.setSerial("fromdrive");
        board.add("ide-hd,drive=d0,bus=ide.0,werror=stop,rerror=ignore,cyls=20,heads=4,secs=10,write-cache=on");
        AtaDrive disk = assertInstanceOf(AtaDrive.class, controller().bus(0).device(0));
        assertEquals(new AtaGeometry(20, 4, 10), disk.geometry());
        assertTrue(disk.writeCacheEnabled());
        assertEquals("fromdrive", disk.serial());
        assertEquals(BlockErrorPolicy.STOP, d.werror());
        assertEquals(BlockErrorPolicy.IGNORE, d.rerror());
        board.drive("file=" + image("hd2.img") + ",format=raw,if=none,id=d1,cache=writethrough");
        board.add("ide-hd,drive=d1,bus=ide.0,bootindex=2");
        assertFalse(assertInstanceOf(AtaDrive.class, controller().bus(0).device(1)).writeCacheEnabled());
    }

    @Test
    void qemusBusAndUnitErrors() throws IOException {
        assertEquals("-device ide-cd,bus=ide.2: Bus 'ide.2' not found", error(() -> board.add("ide-cd,bus=ide.2")));
        assertEquals("-device ide-cd,bus=pci.0: Device 'ide-cd' can't go on PCI bus",
                error(() -> board.add("ide-cd,bus=pci.0")));
        assertEquals("-device ide-cd,bus=ide.0,unit=2: Can't create IDE unit 2, bus supports only 2 units",
                error(() -> board.add("ide-cd,bus=ide.0,unit=2")));
        board.add("ide-cd,bus=ide.0,unit=0");
        assertEquals("-device ide-cd,bus=ide.0,unit=0: IDE unit 0 is in use",
                error(() -> board.add("ide-cd,bus=ide.0,unit=0")));
        board.add("ide-cd,id=a");
        board.add("ide-cd,id=b");
        assertEquals("-device ide-cd,id=c: IDE unit 1 is in use", error(() -> board.add("ide-cd,id=c")));
        assertEquals("-device ide-cd,bus=ide.0,unit=0,foo=1: Property 'ide-cd.foo' not found",
                error(() -> board.add("ide-cd,bus=ide.0,unit=0,foo=1")));
        assertEquals("-device ide-cd,unit=x: Parameter 'unit' expects integer",
                error(() -> board.add("ide-cd,unit=x")));
    }

    @Test
    void qemusDriveErrors() throws IOException {
        Path hd = image("hd.img");
        assertEquals("-device ide-hd,bus=ide.0: No drive specified", error(() -> board.add("ide-hd,bus=ide.0")));
        assertEquals("-device ide-hd,bus=ide.0,unit=0,drive=x: Property 'ide-hd.drive' can't find value 'x'",
                error(() -> board.add("ide-hd,bus=ide.0,unit=0,drive=x")));
        Drive empty = board.drive("if=ide,media=disk");
        assertEquals("Device needs media, but drive is empty", error(() -> boardUnit(empty, 0, 0, false)));
        board.drive("if=none,id=d0");
        assertEquals("-device ide-hd,drive=d0: Device needs media, but drive is empty",
                error(() -> board.add("ide-hd,drive=d0")));
        Drive ro = board.drive("file=" + hd + ",format=raw,if=ide,index=1,readonly=on");
        assertEquals("Block node is read-only", error(() -> boardUnit(ro, 0, 1, false)));
        board.drive("file=" + hd + ",format=raw,if=none,id=d,readonly=on");
        assertEquals("-device ide-hd,drive=d: Block node is read-only", error(() -> board.add("ide-hd,drive=d")));
        Path cd = image("cd.iso");
        board.drive("if=none,id=cd0,media=cdrom,format=raw,file=" + cd);
        board.add("ide-cd,drive=cd0,bus=ide.1");
        assertEquals("-device ide-cd,drive=cd0: Drive 'cd0' is already in use by another device",
                error(() -> board.add("ide-cd,drive=cd0")));
        board.drive("file=" + image("g.img") + ",format=raw,if=none,id=g");
        assertEquals("-device ide-hd,drive=g,cyls=3: cyls, heads and secs must be given together and in range"
                + " (cyls 1-65535, heads 1-16, secs 1-255)", error(() -> board.add("ide-hd,drive=g,cyls=3")));
    }

    @Test
    void refusedProperties() {
        assertEquals("-device ide-cd,share-rw=on: jvmm locks images for exclusive write: share-rw=on is not"
                + " supported", error(() -> board.add("ide-cd,share-rw=on")));
        assertEquals("-device ide-cd,model=X: jvmm's IDE devices identify as QEMU 7.2's own: model=X is not"
                + " supported", error(() -> board.add("ide-cd,model=X")));
        assertEquals("-device ide-cd,ver=1: jvmm's IDE devices identify as QEMU 7.2's own: ver=1 is not supported",
                error(() -> board.add("ide-cd,ver=1")));
        assertEquals("-device ide-cd,wwn=5: jvmm's IDE devices identify as QEMU 7.2's own: wwn=5 is not supported",
                error(() -> board.add("ide-cd,wwn=5")));
        assertEquals("-device ide-cd,logical_block_size=4096: jvmm's IDE devices have 512-byte sectors:"
                + " logical_block_size=4096 is not supported", error(() -> board.add("ide-cd,logical_block_size=4096")));
        assertEquals("-device ide-hd,rotation_rate=1: Property 'ide-hd.rotation_rate' = '1' is not supported by jvmm"
                + " (only '0')", error(() -> board.add("ide-hd,rotation_rate=1")));
        assertEquals("-device ide-cd,account-failed=on: Property 'ide-cd.account-failed' = 'on' is not supported"
                + " by jvmm (only 'auto')", error(() -> board.add("ide-cd,account-failed=on")));
        // what jvmm runs with anyway is accepted
        board.add("ide-cd,logical_block_size=512,discard_granularity=512,backend_defaults=off");
        assertNotNull(controller().bus(1).device(0));
    }
}
