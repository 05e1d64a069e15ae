package dev.jvmm.core.block;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -drive and -blockdev parsing and graph building, with QEMU 7.2's messages (tests/reference/block/errors.txt). */
class BlockOptionsTest {
    @TempDir
    Path dir;
    Path raw;
    Path raw2;
    BlockGraph graph;

    @BeforeEach
    void setUp() throws IOException {
        raw = dir.resolve("b.raw");
        raw2 = dir.resolve("c.raw");
        for (Path p : List.of(raw, raw2)) {
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(1 << 20);
            }
        }
        graph = new BlockGraph(new EventBus(), Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
    }

    static void assertOptionError(String expected, Runnable r) {
        OptionException e = assertThrows(OptionException.class, r::run);
        assertEquals(expected, e.getMessage());
    }

    @Test
    void forceShareNeedsReadOnlyAndLetsAWriterIn() {
        assertOptionError("force-share=on can only be used with read-only images",
                () -> DriveOptions.parse("file=" + raw + ",format=raw,force-share=on"));
        assertEquals(ImageOptions.FORCE_SHARE,
                DriveOptions.parse("file=" + raw + ",format=raw,readonly=on,force-share=on").locking());
        assertEquals("off",
                DriveOptions.parse("file=" + raw + ",format=raw,readonly=on,force-share=on,file.locking=off").locking());
        // A writer, then a read-only force-share user (allowed), then a plain reader (refused as QEMU does).
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=w");
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=fs,readonly=on,force-share=on");
        assertOptionError("Failed to get shared \"write\" lock\nIs another process using the image [" + raw + "]?",
                () -> graph.addDrive("file=" + raw + ",format=raw,if=none,id=r,readonly=on"));
    }

    @Test
    void driveDefaultsAsQemu() {
        DriveOptions o = DriveOptions.parse("file=/x.raw,if=none,id=d0");
        assertEquals(BlockErrorPolicy.ENOSPC, o.werror());
        assertEquals(BlockErrorPolicy.REPORT, o.rerror());
        assertEquals(DriveCache.WRITEBACK, o.cache());
        assertEquals("threads", o.aio());
        assertFalse(o.readOnly());
        assertFalse(o.snapshot());
        assertFalse(o.discardUnmap());
        assertEquals("auto", o.locking());
        assertEquals("-drive file=/x.raw,if=none,id=d0", o.option());
    }

    @Test
    void cacheModesAsQueryBlockShowsThem() {
        assertEquals(new DriveCache(true, true, false), DriveCache.parse("none"));
        assertEquals(new DriveCache(false, false, false), DriveCache.parse("writethrough"));
        assertEquals(new DriveCache(false, true, false), DriveCache.parse("directsync"));
        assertEquals(new DriveCache(true, false, true), DriveCache.parse("unsafe"));
        assertEquals(new DriveCache(true, true, false),
                DriveOptions.parse("file=/x,cache.direct=on").cache());
    }

    /** -blockdev's file aio=, with QEMU 7.2's texts; the mode reaches the drive a device makes over the node. */
    @Test
    void blockdevAio() {
        String f = "driver=file,filename=" + raw + ",node-name=";
        assertOptionError("Parameter 'aio' does not accept value 'bogus'", () -> graph.addBlockdev(f + "a,aio=bogus"));
        assertOptionError("aio=native was specified, but it requires cache.direct=on, which was not specified.",
                () -> graph.addBlockdev(f + "b,aio=native"));
        graph.addBlockdev(f + "c,aio=io_uring,cache.direct=on");
        Drive d = graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d0,cache=none,aio=native");
        assertEquals(AioEngine.NATIVE, d.aio());
        assertEquals(512, d.aioTarget().alignment());
    }

    @Test
    void driveErrorsWithQemusWords() {
        String f = "file=/x.raw,format=raw,if=none,id=d0,";
        assertOptionError("invalid cache option", () -> DriveOptions.parse(f + "cache=bogus"));
        assertOptionError("'bogus' invalid write error action", () -> DriveOptions.parse(f + "werror=bogus"));
        assertOptionError("'bogus' invalid read error action", () -> DriveOptions.parse(f + "rerror=bogus"));
        assertOptionError("'enospc' invalid read error action", () -> DriveOptions.parse(f + "rerror=enospc"));
        assertOptionError("invalid aio option", () -> DriveOptions.parse(f + "aio=bogus"));
        assertOptionError("Parameter 'read-only' expects 'on' or 'off'", () -> DriveOptions.parse(f + "readonly=maybe"));
        assertOptionError("Parameter 'snapshot' expects 'on' or 'off'", () -> DriveOptions.parse(f + "snapshot=maybe"));
        assertOptionError("Invalid discard option", () -> DriveOptions.parse(f + "discard=bogus"));
        assertOptionError("'bogus' invalid media", () -> DriveOptions.parse(f + "media=bogus"));
        assertOptionError("unsupported bus type 'bogus'", () -> DriveOptions.parse("file=/x,if=bogus"));
        assertOptionError("Unknown driver 'bogus'", () -> DriveOptions.parse("file=/x,format=bogus"));
        assertOptionError("Invalid node-name: '#bad'", () -> DriveOptions.parse(f + "node-name=#bad"));
        assertOptionError("aio=native was specified, but it requires cache.direct=on, which was not specified.",
                () -> DriveOptions.parse(f + "aio=native"));
        DriveOptions.parse(f + "aio=native,cache=none");
        assertOptionError("invalid parameter value: maybe", () -> DriveOptions.parse(f + "file.locking=maybe"));
        assertOptionError("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.',"
                + " '_', starting with a letter.", () -> DriveOptions.parse("file=/x,id=bad id"));
        OptionException e = assertThrows(OptionException.class, () -> DriveOptions.parse(f + "cache=bogus"));
        assertEquals("-drive " + f + "cache=bogus: invalid cache option", e.formatted());
    }

    @Test
    void graphErrors() {
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=d0,node-name=n0");
        assertOptionError("Duplicate ID 'd0' for drive",
                () -> graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d0"));
        assertOptionError("Duplicate nodes with node-name='n0'",
                () -> graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d1,node-name=n0"));
        assertOptionError("Block format 'raw' does not support the option 'bogus'",
                () -> graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d2,bogus=1"));
        assertOptionError("Block format 'raw' does not support the option 'serial'",
                () -> graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d2,serial=SER1"));
        assertEquals(2, graph.nodes().size(), "a refused -drive leaves no nodes behind");
        assertOptionError("Could not open '" + dir.resolve("none.raw") + "': No such file or directory",
                () -> graph.addDrive("file=" + dir.resolve("none.raw") + ",format=raw,if=none,id=d3"));
        assertOptionError("drive with bus=0, unit=1 (index=1) exists", () -> {
            graph.addDrive("file=" + raw2 + ",format=raw,if=virtio,index=1,readonly=on");
            graph.addDrive("file=" + raw2 + ",format=raw,if=virtio,index=1,readonly=on");
        });
    }

    @Test
    void defaultIdsAndAttach() {
        Drive none0 = graph.addDrive("file=" + raw + ",format=raw,if=none");
        Drive v0 = graph.addDrive("file=" + raw2 + ",format=raw,if=virtio");
        assertEquals("none0", none0.name());
        assertEquals("virtio0", v0.name());
        assertEquals(List.of(v0), graph.drivesWithInterface("virtio"));
        // -device virtio-blk-pci,drive=virtio0 takes it first; the automatic device then fails on the -drive
        graph.attach("virtio0", "/machine/peripheral-anon/device[0]/virtio-backend", "virtio-blk-device.drive");
        OptionException auto = assertThrows(OptionException.class,
                () -> graph.attachAuto(v0, "/machine/peripheral-anon/device[1]/virtio-backend"));
        assertEquals("-drive file=" + raw2 + ",format=raw,if=virtio: Drive 'virtio0' is already in use because it"
                + " has been automatically connected to another device (did you need 'if=none' in the drive"
                + " options?)", auto.formatted());
        assertOptionError("Property 'virtio-blk-device.drive' can't find value 'nosuch'",
                () -> graph.attach("nosuch", "/q", "virtio-blk-device.drive"));
        Drive d = graph.attach("none0", "/machine/peripheral/vblk0/virtio-backend", "virtio-blk-device.drive");
        assertEquals(none0, d);
        assertOptionError("Drive 'none0' is already in use by another device",
                () -> graph.attach("none0", "/q", "virtio-blk-device.drive"));
        List<BlockInfo> info = graph.queryBlock();
        assertEquals("/machine/peripheral/vblk0/virtio-backend", info.get(0).qdev());
        assertFalse(info.get(0).removable());
        assertEquals(IoStatus.OK, info.get(0).ioStatus());
        // auto-named nodes: file first, then format, as QEMU creates them
        assertTrue(graph.nodes().get(0).nodeName().matches("#block0\\d\\d"));
        assertEquals("file", graph.nodes().get(0).driverName());
        assertTrue(graph.nodes().get(1).nodeName().matches("#block1\\d\\d"));
    }

    @Test
    void unattachedDriveIsRemovableWithoutIoStatusEmptyDriveHasNoInserted() {
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=d0");
        graph.addDrive("if=none,id=d1");
        List<BlockInfo> info = graph.queryBlock();
        assertTrue(info.get(0).removable());
        assertNull(info.get(0).ioStatus());
        assertNull(info.get(0).qdev());
        assertNull(info.get(1).inserted());
    }

    @Test
    void blockdevKeyValueAndJsonLibvirtStyle() {
        graph.addBlockdev("driver=file,filename=" + raw + ",node-name=libvirt-1-storage");
        graph.addBlockdev("driver=raw,file=libvirt-1-storage,node-name=libvirt-1-format");
        graph.addBlockdev("{\"driver\":\"file\",\"filename\":\"" + raw2 + "\",\"node-name\":\"libvirt-2-storage\","
                + "\"read-only\":true}");
        graph.addBlockdev("{\"driver\":\"raw\",\"file\":\"libvirt-2-storage\",\"node-name\":\"libvirt-2-format\","
                + "\"read-only\":true}");
        Drive d = graph.attach("libvirt-1-format", "/machine/peripheral/virtio-disk0/virtio-backend", "x");
        assertEquals("", d.name());
        assertEquals("libvirt-1-format", d.nodeName());
        assertEquals(1 << 20, d.size());
        BlockInfo b = graph.queryBlock().get(0);
        assertEquals("", b.device());
        assertEquals("file", graph.node("libvirt-1-storage").driverName());
        assertTrue(graph.node("libvirt-2-format").readOnly());
        // newest first
        assertEquals("libvirt-2-format", graph.queryNamedBlockNodes(true).get(0).nodeName());
    }

    @Test
    void blockdevInlineChildGetsAnAutoName() {
        BlockNode n = graph.addBlockdev("driver=raw,node-name=disk,file.driver=file,file.filename=" + raw);
        assertEquals("disk", n.nodeName());
        assertTrue(n.file().nodeName().startsWith("#block"));
    }

    @Test
    void blockdevErrors() throws IOException {
        assertOptionError("'node-name' must be specified for the root node",
                () -> graph.addBlockdev("driver=file,filename=" + raw));
        assertOptionError("Parameter 'driver' does not accept value 'bogus'",
                () -> graph.addBlockdev("driver=bogus,node-name=x"));
        assertOptionError("Cannot find device='nosuch' nor node-name='nosuch'",
                () -> graph.addBlockdev("driver=qcow2,file=nosuch,node-name=x"));
        assertOptionError("Parameter 'bogus' is unexpected",
                () -> graph.addBlockdev("driver=file,filename=" + raw + ",node-name=x,bogus=1"));
        assertOptionError("Invalid parameter type for 'read-only', expected: boolean",
                () -> graph.addBlockdev("{\"driver\":\"file\",\"filename\":\"" + raw
                        + "\",\"node-name\":\"x\",\"read-only\":\"yes\"}"));
        assertOptionError("JSON parse error, premature EOI",
                () -> graph.addBlockdev("{\"driver\":\"file\",\"filename\":\"/x\",\"node-name\":\"x\""));
        assertOptionError("Parameter 'cache.direct' expects 'on' or 'off'",
                () -> graph.addBlockdev("driver=file,filename=" + raw + ",node-name=x,cache.direct=maybe"));
        assertOptionError("Parameter 'file' is missing", () -> graph.addBlockdev("driver=raw,node-name=x"));
        assertOptionError("Parameter 'filename' is missing", () -> graph.addBlockdev("driver=file,node-name=x"));
        // QEMU opens a file node's file when the node is made, not when a device uses it.
        assertOptionError("Could not open '" + dir.resolve("none.raw") + "': No such file or directory",
                () -> graph.addBlockdev("driver=file,filename=" + dir.resolve("none.raw") + ",node-name=x"));
        assertOptionError("Could not open '" + dir.resolve("none.raw") + "': No such file or directory",
                () -> graph.addBlockdev("driver=raw,node-name=x,file.driver=file,file.filename=" + dir.resolve("none.raw")));
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=d0");
        assertOptionError("Cannot find device='d0' nor node-name='d0'",
                () -> graph.addBlockdev("driver=raw,file=d0,node-name=y"));
        graph.addDrive("if=none,id=empty");
        assertOptionError("Device needs media, but drive is empty",
                () -> graph.attach("empty", "/machine/peripheral-anon/device[0]/virtio-backend", "x"));
        graph.addBlockdev("driver=file,filename=" + raw2 + ",node-name=shared,read-only=on");
        graph.attach("shared", "/machine/peripheral-anon/device[0]/virtio-backend", "x");
        graph.attach("shared", "/machine/peripheral-anon/device[1]/virtio-backend", "x");
        // A second writable open of b.raw would meet d0's image lock; the shared node gets its own file.
        Path raw3 = dir.resolve("d.raw");
        Files.write(raw3, new byte[1 << 20]);
        graph.addBlockdev("driver=file,filename=" + raw3 + ",node-name=x");
        graph.attach("x", "/machine/peripheral-anon/device[2]/virtio-backend", "x");
        assertOptionError("Permission conflict on node 'x': permissions 'write' are both required by block device"
                + " '/machine/peripheral-anon/device[2]/virtio-backend' (uses node 'x' as 'root' child) and unshared"
                + " by block device '/machine/peripheral-anon/device[3]/virtio-backend' (uses node 'x' as 'root'"
                + " child).", () -> graph.attach("x", "/machine/peripheral-anon/device[3]/virtio-backend", "x"));
        assertOptionError("node-name=d0 is conflicting with a device id",
                () -> graph.addBlockdev("driver=file,filename=" + raw2 + ",node-name=d0"));
    }

    @Test
    void blkdebugRulesAreCollected() {
        BlockdevOptions o = BlockdevOptions.parse("driver=blkdebug,node-name=dbg,image.driver=file,image.filename=/x,"
                + "inject-error.0.event=read_aio,inject-error.0.errno=5,inject-error.1.event=write_aio");
        Object rules = o.tree().get("inject-error");
        assertEquals(List.of(Map.of("event", "read_aio", "errno", "5"), Map.of("event", "write_aio")), rules);
    }

    @Test
    void blockResizeMessages() throws Exception {
        // RawImage cannot truncate yet (blockdrv adds it); an in-memory image stands in.
        graph = new BlockGraph(new EventBus(), Runnable::run, () -> { }, r -> new MemDisk(1 << 20, r.readOnly()));
        graph.addDrive("file=" + raw + ",format=raw,if=none,id=d0");
        graph.addDrive("file=" + raw2 + ",format=raw,if=none,id=d1,readonly=on");
        List<Long> seen = new java.util.ArrayList<>();
        graph.drive("d0").addResizeListener(seen::add);
        graph.blockResize("d0", null, 2 << 20);
        assertEquals(List.of(2L << 20), seen);
        assertEquals(2 << 20, graph.drive("d0").size());
        assertResizeError("Cannot find device='nosuch' nor node-name=''", "nosuch", null, 1 << 20);
        assertResizeError("Cannot find device='' nor node-name='nosuch'", null, "nosuch", 1 << 20);
        assertResizeError("Cannot find device='' nor node-name=''", null, null, 1 << 20);
        assertResizeError("Cannot find device='' nor node-name=''", "", null, 1 << 20);
        assertResizeError("Parameter 'size' expects a >0 size", "d0", null, -1);
        assertResizeError("Image is read-only", "d1", null, 4 << 20);
    }

    void assertResizeError(String msg, String device, String node, long size) {
        MachineCommandException e = assertThrows(MachineCommandException.class,
                () -> graph.blockResize(device, node, size));
        assertEquals(msg, e.getMessage());
        assertEquals("GenericError", e.errorClass());
    }

    @Test
    void detachGivesTheDriveBack() {
        Drive d = graph.addDrive("file=" + raw + ",format=raw,if=none,id=d0");
        assertSame(d, graph.attach("d0", "/machine/peripheral/a", "x.drive"));
        graph.detach(d);
        assertNull(d.qdev());
        assertSame(d, graph.attach("d0", "/machine/peripheral/b", "x.drive"));
        graph.addBlockdev("driver=file,filename=" + raw2 + ",node-name=n0");
        Drive anon = graph.attach("n0", "/machine/peripheral/c", "x.drive");
        assertTrue(graph.drives().contains(anon));
        graph.detach(anon);
        assertFalse(graph.drives().contains(anon));
        // the node is free for another device: no permission conflict with the one that failed
        assertEquals("/machine/peripheral/d", graph.attach("n0", "/machine/peripheral/d", "x.drive").qdev());
    }
}
