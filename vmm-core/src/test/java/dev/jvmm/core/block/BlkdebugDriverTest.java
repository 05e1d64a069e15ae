package dev.jvmm.core.block;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Behaviour checked against qemu-io on "blkdebug:conf:image" with QEMU 7.2 (see the comments for what it printed). */
class BlkdebugDriverTest {
    @TempDir
    Path dir;

    private Path image() throws IOException {
        Path p = dir.resolve("r.raw");
        Files.write(p, new byte[1 << 20]);
        return p;
    }

    private BlkdebugDriver open(String config) throws IOException {
        Path conf = dir.resolve("bd.conf");
        Files.writeString(conf, config);
        return BlkdebugDriver.openLegacy("blkdebug:" + conf + ":" + image(), ImageOptions.DEFAULT);
    }

    private static int errno(ThrowingOp op) {
        HostIoException e = assertThrows(HostIoException.class, op::run);
        return e.errno();
    }

    interface ThrowingOp {
        void run() throws IOException;
    }

    @Test
    void vectoredRequestIsOneRangeAndFailsWhole() throws IOException {
        // QEMU's blkdebug checks a guest request's whole range once: a rule on sector 10 fails an 8 KiB write
        // at 0 given in two 4 KiB pieces, and neither piece reaches the image.
        try (BlkdebugDriver d = open("[inject-error]\nevent = \"write_aio\"\nsector = \"10\"\nonce = \"on\"\n")) {
            ByteBuffer a = ByteBuffer.allocate(4096);
            ByteBuffer b = ByteBuffer.allocate(4096);
            a.put(0, (byte) 1);
            b.put(0, (byte) 2);
            assertEquals(5, errno(() -> d.writev(0, new ByteBuffer[] {a.duplicate(), b.duplicate()})));
            ByteBuffer back = ByteBuffer.allocate(8192);
            d.read(0, back);
            assertEquals(0, back.get(0));
            assertEquals(0, back.get(4096));
            d.writev(0, new ByteBuffer[] {a.duplicate(), b.duplicate()});
            ByteBuffer r1 = ByteBuffer.allocate(4096);
            ByteBuffer r2 = ByteBuffer.allocate(4096);
            d.readv(0, new ByteBuffer[] {r1, r2});
            assertEquals(1, r1.get(0));
            assertEquals(2, r2.get(0));
        }
    }

    @Test
    void readRuleOnceAtSector() throws IOException {
        // qemu-io: read 0 4096 ok; read 4096 512 -> "Input/output error"; then reads pass again.
        try (BlkdebugDriver d = open("[inject-error]\nevent = \"read_aio\"\nsector = \"8\"\nonce = \"on\"\n")) {
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(4096)));
            HostIoException e = assertThrows(HostIoException.class, () -> d.read(4096, ByteBuffer.allocate(512)));
            assertEquals(5, e.errno());
            assertEquals("Input/output error", e.getMessage());
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(8192)));
        }
    }

    @Test
    void activatedRuleStaysActiveForOtherRequests() throws IOException {
        // qemu-io: write fails ENOSPC, and so do the following read, write -z, discard and read.
        try (BlkdebugDriver d = open("# comment\n[inject-error]\nevent = \"write_aio\"\nerrno = \"28\"\n")) {
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(512)));
            assertEquals(28, errno(() -> d.write(0, ByteBuffer.allocate(512))));
            HostIoException e = assertThrows(HostIoException.class, () -> d.read(0, ByteBuffer.allocate(512)));
            assertEquals("No space left on device", e.getMessage());
            assertTrue(e.noSpace());
            assertEquals(28, errno(() -> d.writeZeroes(0, 512, false)));
            assertEquals(28, errno(() -> d.discard(0, 512)));
        }
    }

    @Test
    void flushRuleAndIotypeFilter() throws IOException {
        List<BlkdebugDriver.Rule> rules = List.of(
                new BlkdebugDriver.Rule("flush_to_disk", 28, -1, true, false, Set.of("flush")));
        try (BlkdebugDriver d = new BlkdebugDriver(RawImage.open(image(), ImageOptions.DEFAULT), rules, "x")) {
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(512)));
            assertEquals(28, errno(d::flush));
            assertDoesNotThrow(d::flush); // once
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(512)));
        }
        rules = List.of(new BlkdebugDriver.Rule("write_aio", 5, 3, false, false));
        try (BlkdebugDriver d = new BlkdebugDriver(RawImage.open(image(), ImageOptions.DEFAULT), rules, "y")) {
            assertDoesNotThrow(() -> d.write(0, ByteBuffer.allocate(1536))); // sectors 0-2
            assertEquals(5, errno(() -> d.write(1024, ByteBuffer.allocate(1024)))); // sectors 2-3
            assertEquals(5, errno(() -> d.write(1536, ByteBuffer.allocate(1)))); // every time: not once
            assertDoesNotThrow(d::flush); // a flush covers no sector
            assertEquals("blkdebug", d.format());
            assertEquals("y", d.filename());
        }
    }

    /**
     * Under qcow2 (QEMU: -blockdev driver=qcow2,file.driver=blkdebug,...) a rule's sector is a host sector of the
     * image file, as qemu-img map shows the data: the guest sector of the same number is not hit.
     */
    @Test
    void underQcow2SectorsAreHostSectors() throws IOException {
        Path img = dir.resolve("q.qcow2");
        Qcow2Image.create(img, 1 << 20, null, null);
        byte[] pattern = new byte[65536];
        java.util.Arrays.fill(pattern, (byte) 0xab);
        try (Qcow2Image q = Qcow2Image.open(img, ImageOptions.DEFAULT)) {
            q.write(65536, ByteBuffer.wrap(pattern));
        }
        byte[] file = Files.readAllBytes(img);
        long host = -1;
        for (int off = 0; off + 512 <= file.length && host < 0; off += 512) {
            if (file[off] == (byte) 0xab && file[off + 511] == (byte) 0xab) {
                host = off;
            }
        }
        assertTrue(host > 0 && host != 65536, "data cluster at host offset " + host);
        long hostSector = host / 512 + 1;
        List<BlkdebugDriver.Rule> rules = List.of(new BlkdebugDriver.Rule("read_aio", 5, hostSector, false, false));
        try (BlkdebugDriver d = new BlkdebugDriver(Qcow2Image.open(img, ImageOptions.DEFAULT), rules, img.toString())) {
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(512)));
            // guest sector hostSector is elsewhere in the image: no hit
            assertDoesNotThrow(() -> d.read(hostSector * 512 % (1 << 20), ByteBuffer.allocate(512)));
            assertEquals(5, errno(() -> d.read(65536 + 512, ByteBuffer.allocate(512))));
            assertEquals(5, errno(() -> d.read(65536, ByteBuffer.allocate(4096))));
        }
    }

    @Test
    void legacyFilenameAndConfigErrors() throws IOException {
        Path img = image();
        try (BlkdebugDriver d = open("[inject-error]\nevent = \"read_aio\"\n")) {
            assertEquals("blkdebug:" + dir.resolve("bd.conf") + ":" + img, d.filename());
            assertEquals(1 << 20, d.size());
            assertEquals("raw", d.image().format());
        }
        // QEMU 7.2's messages for the same mistakes.
        BlockException e = assertThrows(BlockException.class, () -> open("[inject-error]\nevent = \"bogus\"\n"));
        assertEquals("invalid parameter value: bogus", e.getMessage());
        e = assertThrows(BlockException.class, () -> open("[foo]\nevent = \"read_aio\"\n"));
        assertEquals("There is no option group 'foo'", e.getMessage());
        e = assertThrows(BlockException.class,
                () -> BlkdebugDriver.openLegacy("blkdebug:" + dir.resolve("none.conf") + ":" + img, ImageOptions.DEFAULT));
        assertEquals("Could not read blkdebug config file: No such file or directory", e.getMessage());
        assertThrows(BlockException.class, () -> open("[inject-error]\nevent = read_aio\n"));
        assertThrows(BlockException.class, () -> open("[inject-error]\nerrno = \"5\"\n"));
        assertThrows(BlockException.class, () -> open("[set-state]\nevent = \"read_aio\"\nnew_state = \"2\"\n"));
        assertThrows(IllegalArgumentException.class, () -> new BlkdebugDriver.Rule("read_aio", 5, -1, false, false, Set.of("nope")));
        try (BlkdebugDriver d = BlkdebugDriver.openLegacy("blkdebug::" + img, ImageOptions.DEFAULT)) {
            assertDoesNotThrow(() -> d.read(0, ByteBuffer.allocate(512)));
        }
    }

    @Test
    void rulesFromBlockdevKeys() throws IOException {
        java.util.Map<String, String> flat = new java.util.LinkedHashMap<>();
        flat.put("driver", "blkdebug");
        flat.put("inject-error.1.event", "write_aio");
        flat.put("inject-error.0.event", "read_aio");
        flat.put("inject-error.0.errno", "28");
        flat.put("inject-error.0.sector", "4");
        flat.put("inject-error.0.once", "on");
        flat.put("inject-error.1.iotype", "write");
        List<BlkdebugDriver.Rule> rules = BlkdebugDriver.rulesFromOptions(flat);
        assertEquals(List.of(new BlkdebugDriver.Rule("read_aio", 28, 4, true, false),
                new BlkdebugDriver.Rule("write_aio", 5, -1, false, false, Set.of("write"))), rules);
        assertThrows(BlockException.class, () -> BlkdebugDriver.rulesFromOptions(java.util.Map.of("inject-error.x.event", "read_aio")));
        assertThrows(BlockException.class, () -> BlkdebugDriver.rulesFromOptions(java.util.Map.of("inject-error.0.bogus", "1", "inject-error.0.event", "read_aio")));
    }
}
