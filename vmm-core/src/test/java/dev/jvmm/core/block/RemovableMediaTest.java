package dev.jvmm.core.block;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The removable-media state machine (QEMU 7.2's block/qapi-sysemu.c with an ATAPI-like tray) and the IDE
 * -drive forms, against tests/reference/ide/*.txt.
 */
class RemovableMediaTest {
    @TempDir
    Path dir;
    Path cd;
    Path cd2;
    Path hd;
    final EventBus bus = new EventBus();
    final List<VmEvent.DeviceTrayMoved> trayEvents = new ArrayList<>();
    BlockGraph graph;

    /** A tray as an ATAPI CD-ROM keeps it: change_media_cb(load) sets tray_open = !load. */
    static final class FakeTray implements RemovableMediaDevice {
        boolean open;
        boolean locked;
        final List<String> calls = new ArrayList<>();

        /** The calls made while a medium command held the device (RemovableMediaDevice#exclusive). */
        final List<String> insideExclusive = new ArrayList<>();
        int depth;

        @Override
        public void changeMedia(boolean load) {
            calls.add("change " + load);
            if (depth > 0) {
                insideExclusive.add("change " + load);
            }
            open = !load;
        }

        @Override
        public <E extends Exception> void exclusive(Steps<E> steps) throws E {
            depth++;
            try {
                steps.run();
            } finally {
                depth--;
            }
        }

        @Override
        public boolean isTrayOpen() {
            return open;
        }

        @Override
        public boolean isMediumLocked() {
            return locked;
        }

        @Override
        public void ejectRequest(boolean force) {
            calls.add("eject-request " + force);
            if (force) {
                locked = false;
            }
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        cd = file("cd.iso", 1 << 20);
        cd2 = file("cd2.iso", 2 << 20);
        hd = file("hd.img", 4 << 20);
        bus.subscribe((e, t) -> {
            if (e instanceof VmEvent.DeviceTrayMoved m) {
                trayEvents.add(m);
            }
        });
        graph = new BlockGraph(bus, Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
    }

    @AfterEach
    void tearDown() {
        graph.close();
    }

    Path file(String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    static VmEvent.DeviceTrayMoved moved(String device, String id, boolean open) {
        return new VmEvent.DeviceTrayMoved(device, id, open);
    }

    static void assertCommandError(String cls, String desc, Executable r) {
        MachineCommandException e = assertThrows(MachineCommandException.class, r::run);
        assertEquals(desc, e.getMessage());
        assertEquals(cls, e.errorClass());
    }

    static void assertGeneric(String desc, Executable r) {
        assertCommandError(MachineCommandException.GENERIC_ERROR, desc, r);
    }

    interface Executable {
        void run() throws Exception;
    }

    /** -drive if=none,id=cd0,media=cdrom[,file=] -device ide-cd,drive=cd0,id=cdrom0. */
    FakeTray cdrom(boolean withMedium) {
        FakeTray t = new FakeTray();
        graph.addDrive("if=none,id=cd0,media=cdrom" + (withMedium ? ",file=" + cd : ""));
        graph.attach("cd0", "cdrom0", "/machine/peripheral/cdrom0", t, "ide-cd.drive");
        return t;
    }

    /** True when another opener could take the file for writing, i.e. no open image holds its lock. */
    boolean writableElsewhere(Path p) {
        BlockGraph other = new BlockGraph(new EventBus(), Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
        try {
            other.addDrive("if=none,id=x,format=raw,file=" + p);
            return true;
        } catch (OptionException e) {
            return false;
        } finally {
            other.close();
        }
    }

    // ---- -drive if=ide ----

    @Test
    void ideDefaultNamesFollowBusAndUnit() {
        // q-drive-ide-noindex.txt: the first free unit from bus 0, two units per bus
        Drive a = graph.addDrive("file=" + hd + ",if=ide");
        Drive b = graph.addDrive("file=" + cd + ",if=ide,media=cdrom");
        Drive c = graph.addDrive("file=" + cd2 + ",if=ide,format=raw");
        assertEquals(List.of("ide0-hd0", "ide0-cd1", "ide1-hd0"), List.of(a.name(), b.name(), c.name()));
        assertEquals(new BlockGraph.DriveLocation("ide", 0, 1, "cdrom"), graph.location(b));
        assertEquals(new BlockGraph.DriveLocation("ide", 1, 0, "disk"), graph.location(c));
        assertEquals(List.of(a, b, c), graph.drivesWithInterface("ide"));
    }

    @Test
    void ideIndexBusAndUnit() {
        assertEquals("ide0-hd1", graph.addDrive("file=" + hd + ",if=ide,index=1").name());
        assertEquals("ide1-cd0", graph.addDrive("file=" + cd + ",media=cdrom,if=ide,index=2").name());
        assertEquals("ide1-hd1", graph.addDrive("file=" + cd2 + ",if=ide,bus=1,unit=1,format=raw").name());
        // the default interface of -drive on the pc machine is ide
        Drive d = graph.addDrive("if=ide,media=cdrom");
        assertEquals("ide0-cd0", d.name());
        assertNull(graph.addDefaultCdrom(), "index 2 is taken, so no default CD-ROM");
    }

    @Test
    void defaultCdromIsAnEmptyIde1Cd0() {
        Drive d = graph.addDefaultCdrom();
        assertEquals("ide1-cd0", d.name());
        assertFalse(d.hasMedium());
        assertTrue(graph.location(d).cdrom());
    }

    @Test
    void hdaToHddAndCdromAsDrives() {
        // -hda FILE is "index=0,media=disk,file=FILE" reported as "-hda FILE" (errors-cli.txt)
        graph.addDrive(DriveOptions.parse("-cdrom " + cd, "index=2,media=cdrom,file=" + cd));
        OptionException e = assertThrows(OptionException.class, () ->
                graph.addDrive(DriveOptions.parse("-hdc " + hd, "index=2,media=disk,file=" + hd)));
        assertEquals("-hdc " + hd + ": drive with bus=1, unit=0 (index=2) exists", e.formatted());
    }

    @Test
    void ideOptionErrorsAsQemu() {
        graph.addDrive("if=ide,index=0,file=" + hd);
        OptionException e = assertThrows(OptionException.class, () -> graph.addDrive("if=ide,index=0,file=" + cd));
        assertEquals("drive with bus=0, unit=0 (index=0) exists", e.getMessage());
        e = assertThrows(OptionException.class, () -> graph.addDrive("file=" + cd + ",if=ide,bus=0,unit=2"));
        assertEquals("unit 2 too big (max is 1)", e.getMessage());
        e = assertThrows(OptionException.class, () -> DriveOptions.parse("file=" + cd + ",if=ide,bus=1,unit=0,index=1"));
        assertEquals("index cannot be used with bus and unit", e.getMessage());
        e = assertThrows(OptionException.class, () -> DriveOptions.parse("if=ide,bus=x"));
        assertEquals("Parameter 'bus' expects a number", e.getMessage());
    }

    @Test
    void drivesNoDeviceTookAreOrphans() {
        graph.addDrive("file=" + cd2 + ",if=ide,index=4,format=raw");
        OptionException e = assertThrows(OptionException.class, graph::checkOrphans);
        assertEquals("-drive file=" + cd2 + ",if=ide,index=4,format=raw: machine type does not support"
                + " if=ide,bus=2,unit=0", e.formatted());
    }

    @Test
    void emptyDiskNeedsMedia() {
        Drive d = graph.addDrive("if=ide,media=disk");
        OptionException e = assertThrows(OptionException.class, () ->
                graph.attachAuto(d, "/machine/unattached/device[19]", "/machine/unattached/device[19]", null));
        assertEquals("Device needs media, but drive is empty", e.getMessage());
        graph.addDrive("if=none,id=c0,media=cdrom");
        e = assertThrows(OptionException.class, () -> graph.attach("c0", "x", "/machine/peripheral/x", null, "p"));
        assertEquals("Device needs media, but drive is empty", e.getMessage());
    }

    @Test
    void cdromIsReadOnlyWhateverReadonlySays() {
        Drive d = graph.addDrive("file=" + cd + ",if=ide,media=cdrom,readonly=off");
        assertTrue(d.readOnly());
        Drive v = graph.addDrive("file=" + cd2 + ",if=virtio,media=cdrom");
        assertEquals("virtio0", v.name(), "only ide and scsi names say -cd");
        assertTrue(v.readOnly());
    }

    // ---- query-block ----

    @Test
    void queryBlockShowsTrayAndRemovable() {
        FakeTray t = cdrom(false);
        graph.addDrive("if=none,id=d0,format=raw,file=" + hd);
        graph.attach("d0", "disk1", "/machine/peripheral/disk1", null, "ide-hd.drive");
        graph.addDrive("if=none,id=lone,format=raw,file=" + cd2);
        List<BlockInfo> q = graph.queryBlock();
        assertEquals(new BlockInfo("cd0", "cdrom0", true, false, IoStatus.OK, null, false), q.get(0));
        assertEquals("d0", q.get(1).device());
        assertFalse(q.get(1).removable());
        assertNull(q.get(1).trayOpen());
        assertTrue(q.get(2).removable(), "a drive without a device counts as removable");
        assertNull(q.get(2).trayOpen());
        assertNull(q.get(2).qdev());
        t.locked = true;
        assertTrue(graph.queryBlock().get(0).locked());
    }

    @Test
    void ideCdWithoutDriveGetsAnAnonymousEmptyDrive() throws Exception {
        FakeTray t = new FakeTray();
        Drive d = graph.attach(null, "cdrom9", "/machine/peripheral/cdrom9", t, "ide-cd.drive");
        assertEquals("", d.name());
        assertEquals(new BlockInfo("", "cdrom9", true, false, IoStatus.OK, null, false), graph.queryBlock().get(0));
        graph.openTray(null, "/machine/peripheral/cdrom9", false);
        assertEquals(List.of(moved("", "cdrom9", true)), trayEvents);
        OptionException e = assertThrows(OptionException.class, () -> graph.attach(null, "h", "/h", null, "p"));
        assertEquals("No drive specified", e.getMessage());
    }

    // ---- tray conversations (tray-cdrom.txt, tray-idecd.txt) ----

    @Test
    void ejectOpensTheTrayAndTakesTheMediumOut() throws Exception {
        FakeTray t = new FakeTray();
        Drive d = graph.addDrive("file=" + hd + ",if=ide,index=2,media=cdrom,format=raw");
        graph.attachAuto(d, "/machine/unattached/device[19]", "/machine/unattached/device[19]", t);
        assertFalse(writableElsewhere(hd), "the medium's image is locked while inserted");
        graph.eject("ide1-cd0", null, false);
        assertEquals(List.of(moved("ide1-cd0", "/machine/unattached/device[19]", true)), trayEvents);
        assertFalse(d.hasMedium());
        assertTrue(graph.queryBlock().get(0).trayOpen());
        assertNull(graph.queryBlock().get(0).inserted());
        assertTrue(graph.nodes().isEmpty(), "the medium's nodes are gone");
        assertTrue(writableElsewhere(hd), "eject released the image's lock");
        graph.eject("ide1-cd0", null, false);
        assertEquals(1, trayEvents.size(), "a second eject is silent");
        graph.closeTray("ide1-cd0", null);
        graph.closeTray("ide1-cd0", null);
        assertEquals(moved("ide1-cd0", "/machine/unattached/device[19]", false), trayEvents.get(1));
        assertEquals(2, trayEvents.size());
        // by QOM path as id
        graph.openTray(null, "/machine/unattached/device[19]", false);
        assertEquals(3, trayEvents.size());
    }

    @Test
    void changeMediumMovesTheTrayTwice() throws Exception {
        FakeTray t = cdrom(false);
        graph.changeMedium(null, "cdrom0", cd.toString(), null, false, null);
        assertEquals(List.of(moved("cd0", "cdrom0", true), moved("cd0", "cdrom0", false)), trayEvents);
        assertEquals(List.of("change false", "change true"), t.calls);
        Drive d = graph.drive("cd0");
        assertTrue(d.readOnly(), "an empty media=cdrom drive retains read-only");
        assertEquals(1 << 20, d.size());
        assertEquals(cd.toString(), graph.queryBlock().get(0).inserted().file());
        graph.changeMedium(null, "cdrom0", cd2.toString(), "raw", false, BlockGraph.ReadOnlyMode.READ_WRITE);
        assertFalse(d.readOnly());
        assertEquals(2 << 20, d.size());
        graph.changeMedium(null, "cdrom0", cd.toString(), null, false, BlockGraph.ReadOnlyMode.RETAIN);
        assertFalse(d.readOnly(), "retain keeps the last medium's read-write");
        graph.changeMedium("cd0", null, cd2.toString(), null, false, BlockGraph.ReadOnlyMode.READ_ONLY);
        assertTrue(d.readOnly());
        assertEquals(8, trayEvents.size());
        assertEquals(2, graph.nodes().size(), "old media are closed and forgotten");
        assertTrue(writableElsewhere(cd), "the first medium's lock is gone");
    }

    /** QEMU's big lock keeps the guest out of blockdev-change-medium's steps; the device's lock does here. */
    @Test
    void changeMediumStepsRunInsideTheDevice() throws Exception {
        FakeTray t = cdrom(false);
        graph.changeMedium(null, "cdrom0", cd.toString(), null, false, null);
        assertEquals(List.of("change false", "change true"), t.insideExclusive);
        assertEquals(0, t.depth);
    }

    @Test
    void changeMediumErrorsComeBeforeAnyTrayMovement() throws Exception {
        cdrom(true);
        assertGeneric("Could not open '" + dir.resolve("missing.iso") + "': No such file or directory",
                () -> graph.changeMedium(null, "cdrom0", dir.resolve("missing.iso").toString(), null, false, null));
        assertGeneric("Unknown driver 'bogus'",
                () -> graph.changeMedium(null, "cdrom0", cd.toString(), "bogus", false, null));
        assertTrue(trayEvents.isEmpty());
        assertEquals(2, graph.nodes().size());
    }

    @Test
    void removeAndInsertMedium() throws Exception {
        cdrom(true);
        assertGeneric("Tray of device 'cdrom0' is not open", () -> graph.removeMedium(null, "cdrom0"));
        graph.openTray(null, "cdrom0", true);
        graph.removeMedium(null, "cdrom0");
        graph.removeMedium(null, "cdrom0");
        assertFalse(graph.drive("cd0").hasMedium());
        assertGeneric("Node 'nope' not found", () -> graph.insertMedium("cdrom0", "nope"));
        graph.blockdevAdd(json("raw", "med1", cd));
        graph.insertMedium("cdrom0", "med1");
        assertEquals("med1", graph.drive("cd0").nodeName());
        assertGeneric("Node 'med1' is already in use", () -> graph.insertMedium("cdrom0", "med1"));
        graph.blockdevAdd(json("raw", "med2", cd2));
        assertGeneric("There already is a medium in the device", () -> graph.insertMedium("cdrom0", "med2"));
        graph.closeTray(null, "cdrom0");
        assertGeneric("Tray of the device is not open", () -> graph.insertMedium("cdrom0", "med2"));
        assertGeneric("Node med1 is in use", () -> graph.blockdevDel("med1"));
        graph.eject(null, "cdrom0", true);
        assertNotNull(graph.node("med1"), "the monitor's node outlives the eject");
        graph.blockdevDel("med1");
        assertGeneric("Failed to find node with node-name='med1'", () -> graph.blockdevDel("med1"));
        graph.insertMedium("cdrom0", "med2");
        graph.closeTray(null, "cdrom0");
        assertEquals(2 << 20, graph.drive("cd0").size());
        assertEquals(List.of(true, false, true, false), trayEvents.stream().map(VmEvent.DeviceTrayMoved::trayOpen)
                .toList());
    }

    @Test
    void blockdevAddErrorsAsQemu() throws Exception {
        graph.addDrive("if=none,id=lone,format=raw,file=" + hd);
        graph.blockdevAdd(json("raw", "m1", cd2));
        assertGeneric("Duplicate nodes with node-name='m1'", () -> graph.blockdevAdd(json("raw", "m1", cd2)));
        assertGeneric("node-name=lone is conflicting with a device id", () -> graph.blockdevAdd(json("raw", "lone", cd2)));
        assertGeneric("Could not open '" + dir.resolve("missing.iso") + "': No such file or directory",
                () -> graph.blockdevAdd(json("raw", "m2", dir.resolve("missing.iso"))));
        java.util.Map<String, Object> noName = json("raw", "x", cd2);
        noName.remove("node-name");
        assertGeneric("'node-name' must be specified for the root node", () -> graph.blockdevAdd(noName));
        String nodeOfDrive = graph.drive("lone").nodeName();
        assertGeneric("Node " + nodeOfDrive + " is in use", () -> graph.blockdevDel(nodeOfDrive));
    }

    static java.util.Map<String, Object> json(String driver, String nodeName, Path file) {
        java.util.Map<String, Object> f = new java.util.LinkedHashMap<>();
        f.put("driver", "file");
        f.put("filename", file.toString());
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("driver", driver);
        m.put("node-name", nodeName);
        m.put("read-only", true);
        m.put("file", f);
        return m;
    }

    // ---- locked tray (QEMU's do_open_tray) ----

    @Test
    void lockedTrayAsksTheGuestUnlessForced() throws Exception {
        FakeTray t = cdrom(true);
        t.locked = true;
        assertGeneric("Device 'cdrom0' is locked and force was not specified, wait for tray to open and try again",
                () -> graph.eject(null, "cdrom0", false));
        assertEquals(List.of("eject-request false"), t.calls);
        assertTrue(trayEvents.isEmpty());
        assertTrue(graph.drive("cd0").hasMedium());
        // open-tray only asks and succeeds; the event comes when the guest opens the tray
        graph.openTray(null, "cdrom0", false);
        assertEquals(List.of("eject-request false", "eject-request false"), t.calls);
        assertTrue(trayEvents.isEmpty());
        int nodes = graph.nodes().size();
        assertGeneric("Device 'cd0' is locked and force was not specified, wait for tray to open and try again",
                () -> graph.changeMedium("cd0", null, cd2.toString(), null, false, null));
        assertEquals(nodes, graph.nodes().size(), "the new medium was closed again");
        assertTrue(writableElsewhere(cd2));
        // the guest opens the tray itself (START STOP UNIT): the device reports it
        t.open = true;
        graph.drive("cd0").guestTrayMoved(true);
        assertEquals(List.of(moved("cd0", "cdrom0", true)), trayEvents);
        t.open = false;
        t.locked = true;
        graph.eject(null, "cdrom0", true);
        assertEquals("eject-request true", t.calls.get(t.calls.size() - 2));
        assertEquals("change false", t.calls.get(t.calls.size() - 1));
        assertFalse(graph.drive("cd0").hasMedium());
        assertEquals(moved("cd0", "cdrom0", true), trayEvents.get(1));
        // change-medium with force on a locked tray
        graph.closeTray(null, "cdrom0");
        t.locked = true;
        graph.changeMedium(null, "cdrom0", cd2.toString(), null, true, null);
        assertTrue(graph.drive("cd0").hasMedium());
        assertFalse(t.open);
    }

    // ---- devices without removable media, drives without devices, lookups ----

    @Test
    void fixedDisksAreNotRemovable() throws Exception {
        graph.addDrive("if=none,id=d0,format=raw,file=" + hd);
        graph.attach("d0", "disk1", "/machine/peripheral/disk1", null, "ide-hd.drive");
        graph.addDrive("file=" + cd2 + ",if=ide,index=0,format=raw");
        graph.attachAuto(graph.drive("ide0-hd0"), "/machine/unattached/device[19]", "/machine/unattached/device[19]",
                null);
        assertGeneric("Device 'disk1' is not removable", () -> graph.eject(null, "disk1", false));
        assertGeneric("Device 'd0' is not removable", () -> graph.eject("d0", null, false));
        assertGeneric("Device 'ide0-hd0' is not removable", () -> graph.eject("ide0-hd0", null, true));
        assertGeneric("Device 'disk1' is not removable", () -> graph.openTray(null, "disk1", false));
        assertGeneric("Device 'disk1' is not removable", () -> graph.closeTray(null, "disk1"));
        assertGeneric("Device 'disk1' is not removable", () -> graph.removeMedium(null, "disk1"));
        assertGeneric("Device 'disk1' is not removable",
                () -> graph.changeMedium(null, "disk1", cd.toString(), null, false, null));
        graph.blockdevAdd(json("raw", "m1", cd));
        assertGeneric("Device is not removable", () -> graph.insertMedium("disk1", "m1"));
        assertTrue(graph.drive("d0").hasMedium());
    }

    @Test
    void aDriveWithoutDeviceSwapsMediaSilently() throws Exception {
        graph.addDrive("if=none,id=lone,format=qcow2,file=" + qcow2());
        graph.eject("lone", null, false);
        assertFalse(graph.drive("lone").hasMedium());
        graph.openTray("lone", null, false);
        graph.closeTray("lone", null);
        graph.changeMedium("lone", null, cd.toString(), null, false, null);
        assertFalse(graph.drive("lone").readOnly(), "retain: the qcow2 drive was read-write");
        assertTrue(trayEvents.isEmpty());
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device 'lone' not found",
                () -> graph.insertMedium("lone", "x"));
    }

    Path qcow2() throws IOException {
        Path p = dir.resolve("hd.qcow2");
        Qcow2Image.create(p, 8 << 20, null, null);
        return p;
    }

    @Test
    void lookupsAsQemu() {
        cdrom(true);
        graph.setDeviceExists(p -> p.equals("/machine/peripheral/dbg"));
        assertGeneric("Need exactly one of 'device' and 'id'", () -> graph.eject(null, null, false));
        assertGeneric("Need exactly one of 'device' and 'id'", () -> graph.eject("cd0", "cdrom0", false));
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device 'nope' not found",
                () -> graph.eject("nope", null, false));
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device 'nope' not found",
                () -> graph.openTray(null, "nope", false));
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device 'cdrom0' not found",
                () -> graph.eject("cdrom0", null, false));
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device 'cd0' not found",
                () -> graph.eject(null, "cd0", false));
        assertCommandError(MachineCommandException.DEVICE_NOT_FOUND, "Device '' not found",
                () -> graph.eject("", null, false));
        assertGeneric("Device does not have a block device backend", () -> graph.eject(null, "dbg", false));
        assertGeneric("/machine is not a hotpluggable device", () -> graph.eject(null, "/machine", false));
        assertGeneric(" is not a hotpluggable device", () -> graph.eject(null, "", false));
    }

    // ---- the drive itself ----

    @Test
    void ioOnAnEmptyDriveFailsWithNoMedium() {
        cdrom(false);
        Drive d = graph.drive("cd0");
        BlockException e = assertThrows(BlockException.class, () -> d.read(0, ByteBuffer.allocate(512)));
        assertEquals("No medium found", e.getMessage());
        assertEquals(0, d.size());
    }

    @Test
    void removalWaitsForTheRequestInProgress() throws Exception {
        CountDownLatch inRead = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        BlockDriver slow = new BlockDriver() {
            public long size() {
                return 4096;
            }

            public int read(long offset, ByteBuffer dst) throws IOException {
                inRead.countDown();
                try {
                    release.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                int n = dst.remaining();
                dst.position(dst.limit());
                return n;
            }

            public void write(long offset, ByteBuffer src) {
            }

            public void flush() {
            }

            public void close() {
            }

            public boolean readOnly() {
                return true;
            }
        };
        BlockNode n = new BlockNode("n0", "raw", "/x", true, DriveCache.WRITEBACK, slow, null, null);
        Drive d = new Drive("d0", n, DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT, false,
                bus, Runnable::run, () -> { });
        Thread reader = new Thread(() -> {
            try {
                d.read(0, ByteBuffer.allocate(512));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        reader.start();
        assertTrue(inRead.await(5, TimeUnit.SECONDS));
        AtomicReference<BlockNode> removed = new AtomicReference<>();
        Thread remover = new Thread(() -> removed.set(d.removeMedium()));
        remover.start();
        remover.join(200);
        assertTrue(remover.isAlive(), "removal waits while a read runs");
        assertFalse(d.hasMedium(), "no new request starts meanwhile");
        release.countDown();
        remover.join(5000);
        reader.join(5000);
        assertEquals(n, removed.get());
    }
}
