package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.BlockErrorPolicy;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.io.IoHandler;
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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * -device virtio-blk-pci (and its alias virtio-blk) and the machine's devices for if=virtio drives, made
 * through the device model: what the function shows the guest, what the drive takes from the properties,
 * the QOM children, and QEMU 7.2's errors and jvmm's refusals.
 */
class VirtioBlkPciTest {
    @TempDir
    Path dir;
    final TestBoard board = TestBoard.builder().cpus(3).build();

    @AfterEach
    void close() {
        board.close();
    }

    Drive disk(String id, String extra) throws IOException {
        Path p = dir.resolve(id + ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return board.drive("file=" + p + ",format=raw,if=none,id=" + id + extra);
    }

    VirtioPciTransport function(int slot) {
        return assertInstanceOf(VirtioPciTransport.class, board.pci.function(slot, 0));
    }

    static long deviceConfig(VirtioPciTransport t, int off, int size) {
        return t.bars().get(1).handler().read(VirtioPciTransport.DEVICE_CFG_OFFSET + off, size);
    }

    static long queueSize(VirtioPciTransport t, int queue) {
        IoHandler common = t.bars().get(1).handler();
        common.write(VirtioPciTransport.QUEUE_SELECT, 2, queue);
        return common.read(VirtioPciTransport.QUEUE_SIZE, 2);
    }

    QomNode node(String path) {
        return board.model.tree().resolve(path).orElseThrow();
    }

    @Test
    void defaultsFollowQemu() throws IOException, PropertyException {
        disk("d0", "");
        board.add("virtio-blk-pci,drive=d0,id=vd0");
        VirtioPciTransport t = function(2);
        // num-queues defaults to one queue per vCPU, each of 256 entries
        assertEquals(3, deviceConfig(t, VirtioBlk.CFG_NUM_QUEUES, 2));
        assertEquals(256, queueSize(t, 2));
        assertEquals(1, deviceConfig(t, VirtioBlk.CFG_WRITEBACK, 1));
        assertEquals("/machine/peripheral/vd0/virtio-backend", board.graph.drive("d0").qdev());
        QomNode n = node("/machine/peripheral/vd0");
        assertEquals(16L, n.get("addr"));
        assertEquals("02.0", n.get("legacy-addr"));
        assertEquals(4L, n.get("vectors"));
        assertEquals(3L, n.get("num-queues"));
        // QEMU reads "off" (a transitional function); jvmm's has no legacy interface and says so
        assertEquals("on", n.get("disable-legacy"));
        assertEquals("", n.get("serial"));
        assertEquals(-1L, n.get("bootindex"));
        assertEquals(true, n.get("hotpluggable"));
        QomNode backend = node("/machine/peripheral/vd0/virtio-backend");
        assertEquals("virtio-blk-device", backend.type());
        assertEquals("/machine/peripheral/vd0/virtio-bus", backend.get("parent_bus"));
        assertEquals(3L, backend.get("num-queues"));
        assertEquals("d0", backend.get("drive"));
        assertEquals("Property 'virtio-blk-device.legacy-iothread' is not readable",
                org.junit.jupiter.api.Assertions.assertThrows(PropertyException.class,
                        () -> backend.get("legacy-iothread")).getMessage());
        QomNode bus = node("/machine/peripheral/vd0/virtio-bus");
        assertEquals("virtio-pci-bus", bus.type());
        assertEquals("/machine/peripheral/vd0/virtio-backend", bus.get("child[0]"));
    }

    @Test
    void honouredProperties() throws IOException, PropertyException {
        Drive d = disk("d0", ",cache=writethrough");
        d.setSerial("fromdrive");
        board.add("virtio-blk,drive=d0,num-queues=2,queue-size=128,addr=5.0,werror=stop,rerror=ignore");
        VirtioPciTransport t = function(5);
        assertEquals(2, deviceConfig(t, VirtioBlk.CFG_NUM_QUEUES, 2));
        assertEquals(128, queueSize(t, 0));
        // cache=writethrough: the write cache starts off unless write-cache=on
        assertEquals(0, deviceConfig(t, VirtioBlk.CFG_WRITEBACK, 1));
        assertEquals(BlockErrorPolicy.STOP, d.werror());
        assertEquals(BlockErrorPolicy.IGNORE, d.rerror());
        QomNode n = node("/machine/peripheral-anon/device[0]");
        assertEquals("virtio-blk-pci", n.type());
        assertEquals("fromdrive", n.get("serial"));
        disk("d1", ",cache=writethrough");
        board.add("virtio-blk-pci,drive=d1,serial=abc,write-cache=on,vectors=4,num-queues=3,class=0x100,"
                + "bootindex=1");
        VirtioPciTransport t2 = function(2);
        assertEquals(1, deviceConfig(t2, VirtioBlk.CFG_WRITEBACK, 1));
        assertEquals("abc", node("/machine/peripheral-anon/device[1]").get("serial"));
    }

    @Test
    void globalsOfTheBackendTypeReachTheProxy() throws IOException {
        board.globals.add("virtio-blk-device", "queue-size", "128");
        board.globals.add("virtio-blk-pci", "num-queues", "2");
        disk("d0", "");
        disk("d1", "");
        board.add("virtio-blk-pci,drive=d0");
        board.add("virtio-blk-pci,drive=d1,queue-size=64");
        assertEquals(128, queueSize(function(2), 0));
        assertEquals(2, deviceConfig(function(2), VirtioBlk.CFG_NUM_QUEUES, 2));
        assertEquals(64, queueSize(function(3), 0));
    }

    @Test
    void ifVirtioDriveDeviceNamesItsDriveOption() throws IOException {
        Path p = dir.resolve("v.img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        String option = "-drive file=" + p + ",format=raw,if=virtio";
        board.drive("file=" + p + ",format=raw,if=virtio");
        board.add("virtio-blk-pci,drive=virtio0");
        Map<String, String> v = Map.of("driver", "virtio-blk-pci", "drive", "virtio0");
        assertEquals(option + ": Drive 'virtio0' is already in use because it has been automatically connected to"
                + " another device (did you need 'if=none' in the drive options?)",
                error(() -> board.model.add(new QemuOpts(option, "virtio-blk-pci", v))));
    }

    @Test
    void qemusErrors() throws IOException {
        assertEquals("-device virtio-blk-pci: drive property not set", error(() -> board.add("virtio-blk-pci")));
        assertEquals("-device virtio-blk: drive property not set", error(() -> board.add("virtio-blk")));
        assertEquals("-device virtio-blk-pci,drive=nosuch: Property 'virtio-blk-device.drive' can't find value"
                + " 'nosuch'", error(() -> board.add("virtio-blk-pci,drive=nosuch")));
        board.drive("if=none,id=e");
        assertEquals("-device virtio-blk-pci,drive=e: Device needs media, but drive is empty",
                error(() -> board.add("virtio-blk-pci,drive=e")));
        disk("d0", "");
        disk("d1", "");
        disk("d2", "");
        assertEquals("-device virtio-blk-pci,drive=d0,num-queues=0: num-queues property must be between 1 and 64",
                error(() -> board.add("virtio-blk-pci,drive=d0,num-queues=0")));
        assertEquals("-device virtio-blk-pci,drive=d1,queue-size=3: invalid queue-size property (3), must be a"
                + " power of 2 (max 1024)", error(() -> board.add("virtio-blk-pci,drive=d1,queue-size=3")));
        assertEquals("-device virtio-blk-pci,drive=d2,foo=1: Property 'virtio-blk-pci.foo' not found",
                error(() -> board.add("virtio-blk-pci,drive=d2,foo=1")));
        board.add("virtio-blk-pci,drive=d2,addr=3");
        assertEquals("-device virtio-blk-pci,drive=d2: Drive 'd2' is already in use by another device",
                error(() -> board.add("virtio-blk-pci,drive=d2")));
        disk("d3", "");
        assertEquals("-device virtio-blk-pci,drive=d3,addr=3: PCI: slot 3 function 0 not available for"
                + " virtio-blk-pci, in use by virtio-blk-pci,id=(null)", error(() -> board.add("virtio-blk-pci,drive=d3,addr=3")));
        assertEquals("-device virtio-blk-device: No 'virtio-bus' bus found for device 'virtio-blk-device'",
                error(() -> board.add("virtio-blk-device")));
        assertEquals("-device virtio-blk-pci,bus=ide.0: Bus 'ide.0' not found",
                error(() -> board.add("virtio-blk-pci,bus=ide.0")));
    }

    @Test
    void refusals() throws IOException {
        disk("d0", "");
        String[][] cases = {
            {"disable-legacy=off", "jvmm's virtio-pci devices are modern-only: disable-legacy=off is not supported"},
            {"disable-modern=on", "jvmm's virtio-pci devices are modern-only: disable-modern=on is not supported"},
            {"event_idx=off", "property 'event_idx=off' is not supported by jvmm"},
            {"indirect_desc=off", "property 'indirect_desc=off' is not supported by jvmm"},
            {"iothread=io0", "iothread=io0 is not supported by jvmm: virtio-blk runs its queues on the main loop"},
            {"share-rw=on", "jvmm locks images for exclusive write: share-rw=on is not supported"},
            {"cyls=4", "Property 'virtio-blk-device.cyls' = '4' is not supported by jvmm (only '0')"},
            {"logical_block_size=4096",
                "jvmm's disks have 512-byte sectors: logical_block_size=4096 is not supported"},
            {"scsi=on", "Property 'virtio-blk-device.scsi' = 'on' is not supported by jvmm (only 'off')"},
            {"discard=off", "Property 'virtio-blk-device.discard' = 'off' is not supported by jvmm (only 'on')"},
            {"romfile=no-such.rom", "failed to find romfile \"no-such.rom\""},
            {"romsize=3", "ROM size 3 is not a power of two"},
            {"vectors=2", "jvmm's virtio-blk-pci has one MSI-X vector per queue and one for configuration changes:"
                + " vectors=2 is not supported (num-queues=3 takes 4)"},
            {"class=0x180", "jvmm's virtio-blk-pci is a SCSI storage controller: class=0x180 is not supported"},
        };
        for (String[] c : cases) {
            String text = "virtio-blk-pci,drive=d0," + c[0];
            assertEquals("-device " + text + ": " + c[1], error(() -> board.add(text)), c[0]);
        }
        // every refusal left the drive and the bus as they were
        assertNull(board.pci.function(2, 0));
        board.add("virtio-blk-pci,drive=d0");
        function(2);
    }
}
