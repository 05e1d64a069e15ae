package dev.jvmm.devices.ide;

import dev.jvmm.core.vmstate.MachineState;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.jvmm.devices.StateSupport.indexOf;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Save the PIIX3 IDE function in the middle of a command (PIO half read or half written, ATAPI data phase,
 * DMA set up but not started, unit attention pending), restore into a fresh one with a copy of RAM and of the
 * images, then go on identically on both and compare registers, data, guest memory, images and interrupts.
 */
class IdeStateTest {
    static final String ID = "/machine/i440fx/pci.0/ide";
    static final int DISK = 0;
    static final int CD = 1;

    /** Disk as channel 0 master, CD as channel 1 master, both with the same contents on every rig. */
    static final class Rig implements AutoCloseable {
        final IdeGuest g = new IdeGuest();
        final FakeBackend disk = image("ide0-hd0", 2048 * 512, 512);
        final FakeBackend iso = image("ide1-cd0", 300 * 2048, 2048);
        final AtaDrive drive;
        final AtapiCdrom cd = new AtapiCdrom(iso, "QM00003");

        Rig(long diskBytes) {
            drive = new AtaDrive(diskBytes == 2048 * 512 ? disk : image("ide0-hd0", diskBytes, 512),
                    IdeDevice.defaultSerial(0, 0), null, true);
            g.ide.bus(0).attach(0, drive);
            g.ide.bus(1).attach(0, cd);
        }

        Rig() {
            this(2048 * 512);
        }

        @Override
        public void close() {
            g.close();
        }
    }

    static FakeBackend image(String name, long bytes, int unit) {
        FakeBackend b = new FakeBackend(name, bytes);
        byte[] s = new byte[unit];
        try {
            for (long off = 0; off < Math.min(bytes, 64 * unit); off += unit) {
                for (int i = 0; i < unit; i++) {
                    s[i] = (byte) (off / unit * 31 + i);
                }
                b.write(off, ByteBuffer.wrap(s));
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        b.writes = 0;
        return b;
    }

    static byte[] contents(FakeBackend b, long bytes) throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) bytes);
        b.read(0, all);
        return all.array();
    }

    final Rig a = new Rig();
    final List<Rig> extra = new ArrayList<>();

    @AfterEach
    void close() {
        a.close();
        extra.forEach(Rig::close);
    }

    static byte[] save(Piix3Ide ide) {
        return MachineState.save(List.of(new MachineState.Part(ID, "piix3-ide", ide))).toByteArray();
    }

    static void restore(byte[] state, Piix3Ide ide) throws StateException {
        MachineState.parse(state).restore(List.of(new MachineState.Part(ID, "piix3-ide", ide)));
    }

    /** A fresh rig restored from a's state, RAM copied; both IRQ logs start empty. */
    Rig roundTrip() throws StateException {
        Rig b = new Rig();
        extra.add(b);
        byte[] ram = new byte[IdeGuest.RAM];
        a.g.mem.read(0, ram, 0, ram.length);
        b.g.mem.write(0, ram, 0, ram.length);
        restore(save(a.g.ide), b.g.ide);
        assertArrayEquals(a.g.level, b.g.level, "INTRQ levels");
        a.g.irqLog.clear();
        b.g.irqLog.clear();
        return b;
    }

    /** Everything the guest reads without side effects on both channels (alternate status, not status). */
    static List<Integer> observable(Rig r) {
        List<Integer> v = new ArrayList<>();
        for (int ch = 0; ch < 2; ch++) {
            for (int i = 1; i <= 6; i++) {
                v.add(r.g.in(IdeGuest.cmdBase(ch) + i));
            }
            v.add(r.g.altStatus(ch));
            v.add(r.g.bmStatus(ch));
            v.add(r.g.in(r.g.bm(ch)));
            v.add((int) r.g.pio.read(r.g.bm(ch) + 4, 4));
        }
        return v;
    }

    void same(Rig b) throws IOException {
        assertEquals(observable(a), observable(b));
        assertEquals(a.g.irqLog, b.g.irqLog);
        assertArrayEquals(a.g.level, b.g.level);
        assertArrayEquals(contents(a.disk, 2048 * 512), contents(b.disk, 2048 * 512));
    }

    @Test
    void pioReadHalfTransferred() throws Exception {
        a.g.lba28(DISK, 0, 10, 3, AtaDrive.CMD_READ_SECTORS);
        byte[] first = a.g.readPio(DISK, 256);
        Rig b = roundTrip();
        same(b);
        for (Rig r : List.of(a, b)) {
            byte[] rest = r.g.readPio(DISK, 3 * 512 - 256);
            assertEquals(10 * 31 % 256 & 0xff, first[0] & 0xff);
            assertEquals((byte) (12 * 31 + 511), rest[rest.length - 1]);
            r.g.status(DISK);
        }
        same(b);
    }

    @Test
    void pioWriteHalfFilledReachesTheImage() throws Exception {
        a.g.lba28(DISK, 0, 100, 2, AtaDrive.CMD_WRITE_SECTORS);
        byte[] data = new byte[1024];
        Arrays.fill(data, (byte) 0xa5);
        a.g.writePio(DISK, Arrays.copyOf(data, 300));
        Rig b = roundTrip();
        same(b);
        for (Rig r : List.of(a, b)) {
            r.g.writePio(DISK, Arrays.copyOfRange(data, 300, 1024));
            assertEquals(IdeDevice.STATUS_DRDY | IdeDevice.STATUS_DSC, r.g.status(DISK));
        }
        same(b);
        assertEquals((byte) 0xa5, contents(b.disk, 2048 * 512)[100 * 512 + 700]);
    }

    @Test
    void dmaSetUpButNotStarted() throws Exception {
        long table = 0x10000;
        a.g.prds(table, true, 0x20000, 1024, 0x30000, 1024);
        a.g.bmSetup(DISK, table, true);
        a.g.lba28(DISK, 0, 4, 4, AtaDrive.CMD_READ_DMA);
        Rig b = roundTrip();
        same(b);
        for (Rig r : List.of(a, b)) {
            r.g.bmStart(DISK, true);
        }
        same(b);
        byte[] ma = new byte[1024];
        byte[] mb = new byte[1024];
        a.g.mem.read(0x30000, ma, 0, 1024);
        b.g.mem.read(0x30000, mb, 0, 1024);
        assertArrayEquals(ma, mb);
        assertEquals((byte) (6 * 31), mb[0]);
    }

    @Test
    void atapiPacketInDataPhase() throws Exception {
        // READ(10) of 2 blocks by PIO with a 1 KiB byte count limit: saved after the first DRQ block
        int b0 = IdeGuest.cmdBase(CD);
        a.g.out(b0 + 6, 0xa0);
        a.g.out(b0 + 1, 0);
        a.g.out(b0 + 4, 0x00);
        a.g.out(b0 + 5, 0x04);
        a.g.out(b0 + 7, IdeDevice.CMD_PACKET);
        int[] cdb = {AtapiCdrom.READ_10, 0, 0, 0, 0, 5, 0, 0, 2, 0, 0, 0};
        for (int i = 0; i < 12; i += 2) {
            a.g.outw(b0, cdb[i] | cdb[i + 1] << 8);
        }
        byte[] first = a.g.readPio(CD, 1024);
        Rig b = roundTrip();
        same(b);
        List<byte[]> rest = new ArrayList<>();
        for (Rig r : List.of(a, b)) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            while ((r.g.altStatus(CD) & IdeDevice.STATUS_DRQ) != 0) {
                int n = r.g.in(b0 + 4) | r.g.in(b0 + 5) << 8;
                out.writeBytes(r.g.readPio(CD, n));
            }
            r.g.status(CD);
            rest.add(out.toByteArray());
        }
        assertEquals(3 * 1024, rest.get(1).length);
        assertArrayEquals(rest.get(0), rest.get(1));
        assertEquals((byte) (5 * 31), first[0]);
        assertEquals((byte) (6 * 31 + 1), rest.get(1)[1024 + 1]);
        same(b);
    }

    @Test
    void atapiDmaPacketAndPendingUnitAttention() throws Exception {
        a.cd.changeMedia(true); // NOT READY, then UNIT ATTENTION, and a GESN new-media event
        long table = 0x10000;
        a.g.prds(table, true, 0x40000, 2048);
        a.g.bmSetup(CD, table, true);
        a.g.status(CD);
        Rig b = roundTrip();
        same(b);
        int[] tur = {AtapiCdrom.TEST_UNIT_READY};
        int[] sense = {AtapiCdrom.REQUEST_SENSE, 0, 0, 0, 18};
        int[] read = {AtapiCdrom.READ_10, 0, 0, 0, 0, 7, 0, 0, 1, 0, 0, 0};
        for (Rig r : List.of(a, b)) {
            List<String> seen = new ArrayList<>();
            for (int[] c : List.of(tur, sense, tur, sense, tur)) {
                byte[] d = r.g.packet(CD, 0, c, 0xfffe, false);
                seen.add(java.util.HexFormat.of().formatHex(d) + "/" + r.g.error(CD) + "/" + r.g.status(CD));
            }
            r.g.packet(CD, 0, read, 0xfffe, true);
            r.g.bmStart(CD, true);
            r.g.status(CD);
            if (r == a) {
                a.g.irqLog.add(String.join(",", seen));
            } else {
                b.g.irqLog.add(String.join(",", seen));
            }
        }
        same(b);
        byte[] mb = new byte[2048];
        b.g.mem.read(0x40000, mb, 0, 2048);
        assertEquals((byte) (7 * 31 + 5), mb[5]);
    }

    @Test
    void refusedStateNamesSectionAndField() throws Exception {
        a.g.lba28(DISK, 0, 10, 3, AtaDrive.CMD_READ_SECTORS);
        byte[] state = save(a.g.ide);
        try (Rig other = new Rig(4096 * 512)) {
            StateException e = assertThrows(StateException.class, () -> restore(state, other.g.ide));
            assertTrue(e.getMessage().contains(ID) && e.getMessage().contains("'total-sectors'"), e.getMessage());
        }
        Rig b = new Rig();
        extra.add(b);
        byte[] payload = MachineState.parse(state).sections().get(0).payload();
        // data-ptr beyond the buffer
        byte[] field = {3, 0, 8, 'd', 'a', 't', 'a', '-', 'p', 't', 'r'};
        byte[] bad = payload.clone();
        int at = indexOf(bad, field) + field.length;
        bad[at] = 0x7f;
        StateException s = assertThrows(StateException.class, () -> b.g.ide.loadState(new StateReader(ID, bad)));
        assertTrue(s.getMessage().contains("section '" + ID + "'") && s.getMessage().contains("'data-ptr'"),
                s.getMessage());
        assertEquals(0, b.g.altStatus(DISK) & IdeDevice.STATUS_DRQ, "a refused section leaves a reset controller");
        StateException t = assertThrows(StateException.class, () -> b.g.ide.loadState(
                new StateReader(ID, Arrays.copyOf(payload, payload.length - 3))));
        assertTrue(t.getMessage().startsWith("section '" + ID + "'"), t.getMessage());
        // the same state loads when nothing is garbled
        b.g.ide.loadState(new StateReader(ID, payload));
        assertEquals(observable(a), observable(b));
    }
}
