package dev.jvmm.devices.virtio;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.vmstate.MachineState;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.core.vmstate.StateReader;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static dev.jvmm.devices.StateSupport.indexOf;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Save in the middle of work, restore into a freshly built transport and device with a copy of RAM (and of
 * the disk), then drive both the same way and compare everything a guest or the host can see.
 */
class VirtioStateTest {
    static final String ID = "/machine/peripheral/vd0";

    static byte[] save(Saveable s) {
        return MachineState.save(List.of(new MachineState.Part(ID, "virtio-pci", s))).toByteArray();
    }

    static void restore(byte[] state, Saveable s) throws StateException {
        MachineState.parse(state).restore(List.of(new MachineState.Part(ID, "virtio-pci", s)));
    }

    static void copyRam(VirtioGuest from, VirtioGuest to) {
        byte[] ram = new byte[(int) VirtioGuest.RAM];
        from.mem.read(0, ram, 0, ram.length);
        to.mem.write(0, ram, 0, ram.length);
    }

    /** The common configuration of every queue, as the driver reads it. */
    static List<Long> registers(VirtioGuest g, int queues) {
        List<Long> r = new ArrayList<>();
        for (int off : new int[] {DEVICE_FEATURE_SELECT, DRIVER_FEATURE_SELECT, CONFIG_MSIX_VECTOR, NUM_QUEUES}) {
            r.add(g.common(off, off >= CONFIG_MSIX_VECTOR ? 2 : 4));
        }
        r.add(g.common(DEVICE_STATUS, 1));
        r.add(g.common(CONFIG_GENERATION, 1));
        for (int q = 0; q < queues; q++) {
            g.common(QUEUE_SELECT, 2, q);
            for (int off = QUEUE_SIZE; off <= QUEUE_DEVICE_HI; off += off < QUEUE_DESC_LO ? 2 : 4) {
                r.add(g.common(off, off < QUEUE_DESC_LO ? 2 : 4));
            }
        }
        g.common(QUEUE_SELECT, 2, 0);
        return r;
    }

    static int triggers(VirtioGuest g, int vector) {
        return g.msi.triggers.get(vector);
    }

    // ---- virtio-blk

    @Test
    void blkRoundTripWithPendingRequest() throws Exception {
        long features = VirtioGuest.defaultFeatures() | 1L << VIRTIO_F_RING_EVENT_IDX;
        try (VirtioGuest a = new VirtioGuest(1 << 20)) {
            a.start(features);
            long w = a.alloc(4096);
            byte[] pattern = new byte[4096];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i * 7 + 3);
            }
            a.mem.write(w, pattern, 0, pattern.length);
            assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, a.run(VirtioBlk.VIRTIO_BLK_T_OUT, 8, w, 4096, false));
            long rd = a.alloc(4096);
            assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, a.run(VirtioBlk.VIRTIO_BLK_T_IN, 8, rd, 4096, true));
            // a write made available without a kick: popped by neither side yet
            long d2 = a.alloc(512);
            a.mem.write(d2, pattern, 100, 512);
            long st = a.request(3, VirtioBlk.VIRTIO_BLK_T_OUT, 100, d2, 512, false);
            a.makeAvailable(0, 3);
            FakeBlockBackend disk = new FakeBlockBackend(1 << 20);
            disk.disk = a.disk.disk.clone();
            try (VirtioGuest b = new VirtioGuest(disk, VirtioBlkOptions.defaults("vd0"), null)) {
                copyRam(a, b);
                int before = triggers(a, 1);
                byte[] state = save(a.t);
                restore(state, b.t);
                b.availIdx[0] = a.availIdx[0];
                assertEquals(a.ioevents.live, b.ioevents.live, "the enabled queue's ioeventfd is registered again");
                for (VirtioGuest g : List.of(a, b)) {
                    g.kick(0);
                    g.awaitUsed(0, 3);
                }
                assertEquals(0, a.mem.readByte(st));
                assertEquals(0, b.mem.readByte(st));
                assertArrayEquals(a.disk.disk, b.disk.disk);
                assertEquals(a.usedId(0, 2), b.usedId(0, 2));
                assertEquals(a.usedLen(0, 2), b.usedLen(0, 2));
                assertEquals(triggers(a, 1) - before, triggers(b, 1), "same MSI-X messages after the save");
                assertEquals(registers(a, 1), registers(b, 1));
                // one more request on both
                for (VirtioGuest g : List.of(a, b)) {
                    assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, g.run(VirtioBlk.VIRTIO_BLK_T_IN, 100, rd, 512, true));
                }
                byte[] ra = new byte[512];
                byte[] rb = new byte[512];
                a.mem.read(rd, ra, 0, 512);
                b.mem.read(rd, rb, 0, 512);
                assertArrayEquals(ra, rb);
                assertArrayEquals(Arrays.copyOfRange(pattern, 100, 612), rb);
                assertEquals(a.usedIdx(0), b.usedIdx(0));
            }
        }
    }

    @Test
    void blkKeptRequestIsRetriedAfterRestore() throws Exception {
        try (VirtioGuest a = new VirtioGuest(1 << 20)) {
            a.start(VirtioGuest.defaultFeatures());
            a.disk.action = dev.jvmm.core.block.BlockBackend.ErrorAction.STOP;
            a.disk.failWrites = new java.io.IOException("EIO");
            long w = a.alloc(512);
            a.mem.write(w, new byte[512], 0, 512);
            a.mem.writeByte(w, (byte) 0x5a);
            long st = a.request(0, VirtioBlk.VIRTIO_BLK_T_OUT, 1, w, 512, false);
            a.makeAvailable(0, 0);
            a.kick(0);
            long end = System.nanoTime() + 5_000_000_000L;
            while (a.disk.errors.isEmpty() && System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            assertFalse(a.disk.errors.isEmpty(), "the write failed and was kept");
            FakeBlockBackend disk = new FakeBlockBackend(1 << 20);
            disk.disk = a.disk.disk.clone();
            try (VirtioGuest b = new VirtioGuest(disk, VirtioBlkOptions.defaults("vd0"), null)) {
                copyRam(a, b);
                restore(save(a.t), b.t);
                assertEquals(0, b.usedIdx(0), "the kept request is not completed by the restore");
                a.disk.failWrites = null;
                for (VirtioGuest g : List.of(a, b)) {
                    g.disk.retry.run();
                    g.awaitUsed(0, 1);
                }
                assertEquals(0, b.mem.readByte(st));
                assertEquals(0x5a, b.disk.disk[512]);
                assertArrayEquals(a.disk.disk, b.disk.disk);
            }
        }
    }

    @Test
    void refusedStateNamesSectionAndField() throws Exception {
        try (VirtioGuest a = new VirtioGuest(1 << 20)) {
            a.start(VirtioGuest.defaultFeatures());
            byte[] state = save(a.t);
            try (VirtioGuest b = new VirtioGuest(2 << 20)) {
                StateException e = assertThrows(StateException.class, () -> restore(state, b.t));
                assertTrue(e.getMessage().contains(ID) && e.getMessage().contains("'capacity'"), e.getMessage());
                assertEquals(0, b.status(), "a refused section leaves a reset device");
            }
            try (VirtioGuest b = new VirtioGuest(1 << 20)) {
                Saveable v2 = new Saveable() {
                    @Override
                    public int stateVersion() {
                        return 2;
                    }

                    @Override
                    public void saveState(StateWriter w) {
                        a.t.saveState(w);
                    }

                    @Override
                    public void loadState(StateReader r) {
                    }
                };
                StateException e = assertThrows(StateException.class, () -> restore(save(v2), b.t));
                assertTrue(e.getMessage().contains(ID) && e.getMessage().contains("version 2"), e.getMessage());

                byte[] payload = MachineState.parse(state).sections().get(0).payload();
                StateException t = assertThrows(StateException.class, () -> b.t.loadState(
                        new StateReader(ID, Arrays.copyOf(payload, payload.length / 2))));
                assertTrue(t.getMessage().startsWith("section '" + ID + "'"), t.getMessage());

                // queue size 3: not a power of two
                byte[] bad = payload.clone();
                byte[] field = {2, 0, 4, 's', 'i', 'z', 'e'};
                int at = indexOf(bad, field);
                bad[at + field.length] = 0;
                bad[at + field.length + 1] = 3;
                StateException s = assertThrows(StateException.class, () -> b.t.loadState(new StateReader(ID, bad)));
                assertTrue(s.getMessage().contains("field 'size' is invalid"), s.getMessage());
                assertEquals(0, b.status());
            }
        }
    }

    // ---- virtio-serial

    static final class SerialRig implements AutoCloseable {
        final VirtioSerialTest.Recorder chardev = new VirtioSerialTest.Recorder("c1");
        final VirtioSerial dev = new VirtioSerial("ser", "ser.0", 2, true, null, null);
        final VirtioSerialPort port = dev.addPort("p1", 1, "org.test.1", false, chardev);
        final VirtioGuest g = new VirtioGuest(dev, "ser");

        @Override
        public void close() {
            g.close();
        }

        /** Queue q's descriptor i: one buffer, device-writable or not. */
        void buffer(int q, int i, long addr, int len, boolean writable) {
            g.writeDesc(q, i, addr, len, writable ? VirtQueue.VIRTQ_DESC_F_WRITE : 0, 0);
            g.makeAvailable(q, i);
        }
    }

    static void await(java.util.function.BooleanSupplier c, String what) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.onSpinWait();
        }
    }

    static void control(SerialRig r, int slot, int port, int event, int value) {
        long m = 0x300000 + 0x100L * slot;
        r.g.mem.writeInt(m, port);
        r.g.mem.writeShort(m + 4, (short) event);
        r.g.mem.writeShort(m + 6, (short) value);
        r.buffer(VirtioSerial.CONTROL_TRANSMITQ, slot, m, 8, false);
        r.g.kick(VirtioSerial.CONTROL_TRANSMITQ);
        r.g.awaitUsed(VirtioSerial.CONTROL_TRANSMITQ, slot + 1);
    }

    @Test
    void serialRoundTripWithHeldBytesBothWays() throws Exception {
        try (SerialRig a = new SerialRig()) {
            VirtioGuest g = a.g;
            assertTrue(g.negotiate(1L << VIRTIO_F_VERSION_1 | 1L << VirtioSerial.VIRTIO_CONSOLE_F_MULTIPORT));
            for (int q = 0; q < 6; q++) {
                g.setupQueue(q, 0, 0);
            }
            g.queueSize = VirtioSerial.CONTROL_QUEUE_SIZE;
            g.common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            for (int i = 0; i < 4; i++) {
                a.buffer(VirtioSerial.CONTROL_RECEIVEQ, i, 0x400000 + 0x100L * i, 64, true);
            }
            g.kick(VirtioSerial.CONTROL_RECEIVEQ);
            control(a, 0, 0, VirtioSerial.VIRTIO_CONSOLE_DEVICE_READY, 1);
            control(a, 1, 1, VirtioSerial.VIRTIO_CONSOLE_PORT_READY, 1);
            control(a, 2, 1, VirtioSerial.VIRTIO_CONSOLE_PORT_OPEN, 1);
            g.awaitUsed(VirtioSerial.CONTROL_RECEIVEQ, 3); // PORT_ADD, PORT_NAME, PORT_OPEN; one buffer left
            // host bytes the guest has no buffer for yet, and guest bytes the chardev cannot take yet
            a.port.receive("hello".getBytes(StandardCharsets.US_ASCII), 0, 5);
            a.chardev.writable = false;
            g.queueSize = VirtioSerial.DATA_QUEUE_SIZE;
            g.mem.write(0x500000, "abc".getBytes(StandardCharsets.US_ASCII), 0, 3);
            a.buffer(5, 0, 0x500000, 3, false);
            g.kick(5);
            await(() -> a.port.staged() == 5, "staged input");
            await(() -> {
                synchronized (a.g.t) {
                    return a.port.heldTx.size() == 1;
                }
            }, "the held transmit chain");
            try (SerialRig b = new SerialRig()) {
                b.chardev.writable = false;
                copyRam(a.g, b.g);
                restore(save(a.g.t), b.g.t);
                assertTrue(b.port.guestConnected() && b.port.hostConnected());
                assertEquals(5, b.port.staged());
                for (SerialRig r : List.of(a, b)) {
                    r.g.availIdx[4] = 0;
                    r.g.availIdx[5] = 1;
                    r.g.queueSize = VirtioSerial.DATA_QUEUE_SIZE;
                    r.buffer(4, 0, 0x600000, 64, true);
                    r.g.kick(4);
                    r.g.awaitUsed(4, 1);
                    assertEquals(0, r.chardev.out.size(), "held until the chardev takes more");
                    r.chardev.writable = true;
                    r.chardev.writableHook.run();
                    r.g.awaitUsed(5, 1);
                }
                assertEquals("abc", b.chardev.out.toString(StandardCharsets.US_ASCII));
                assertEquals(a.chardev.out.toString(StandardCharsets.US_ASCII),
                        b.chardev.out.toString(StandardCharsets.US_ASCII));
                byte[] ra = new byte[64];
                byte[] rb = new byte[64];
                a.g.mem.read(0x600000, ra, 0, 64);
                b.g.mem.read(0x600000, rb, 0, 64);
                assertArrayEquals(ra, rb);
                assertEquals("hello", new String(rb, 0, 5, StandardCharsets.US_ASCII));
                assertEquals(a.g.usedLen(4, 0), b.g.usedLen(4, 0));
                // the control buffer left over still takes the next message: the host side closes
                for (SerialRig r : List.of(a, b)) {
                    r.chardev.connected = false;
                    r.chardev.connection.accept(false);
                    r.g.queueSize = VirtioSerial.CONTROL_QUEUE_SIZE;
                    r.g.awaitUsed(VirtioSerial.CONTROL_RECEIVEQ, 4);
                }
                a.g.mem.read(0x400300, ra, 0, 8);
                b.g.mem.read(0x400300, rb, 0, 8);
                assertArrayEquals(Arrays.copyOf(ra, 8), Arrays.copyOf(rb, 8));
                assertEquals(registers(a.g, 6), registers(b.g, 6));
            }
        }
    }

    @Test
    void serialRefusesAnotherPortLayout() throws Exception {
        try (SerialRig a = new SerialRig()) {
            VirtioSerial other = new VirtioSerial("ser", "ser.0", 2, true, null, null);
            other.addPort("p1", 1, "org.test.other", false, new VirtioSerialTest.Recorder("x"));
            try (VirtioGuest b = new VirtioGuest(other, "ser")) {
                StateException e = assertThrows(StateException.class, () -> restore(save(a.g.t), b.t));
                assertTrue(e.getMessage().contains(ID) && e.getMessage().contains("'name'"), e.getMessage());
            }
        }
    }

    // ---- virtio-balloon

    @Test
    void balloonRoundTripWithTargetActualAndStatsBuffer() throws Exception {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        VirtualClock clock = new VirtualClock(System::nanoTime, timers);
        clock.resume();
        List<Long> actualA = new ArrayList<>();
        List<Long> actualB = new ArrayList<>();
        VirtioBalloonOptions opts = new VirtioBalloonOptions("b", false, true, true);
        VirtioBalloon ba = new VirtioBalloon(opts, VirtioGuest.RAM, actualA::add, clock);
        VirtioBalloon bb = new VirtioBalloon(opts, VirtioGuest.RAM, actualB::add, clock);
        try (VirtioGuest a = new VirtioGuest(ba, "b"); VirtioGuest b = new VirtioGuest(bb, "b")) {
            assertTrue(a.negotiate(1L << VIRTIO_F_VERSION_1 | 1L << VirtioBalloon.VIRTIO_BALLOON_F_STATS_VQ));
            for (int q = 0; q < 4; q++) {
                a.setupQueue(q, 0, 0xffff);
            }
            a.common(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            ba.setTarget(VirtioGuest.RAM - (4L << 20));
            a.modern.write(DEVICE_CFG_OFFSET + VirtioBalloon.CFG_ACTUAL, 4, 256); // 1 MiB of 4 given so far
            // inflate two pages, then post a stats buffer the device keeps until the next poll
            a.queueSize = VirtioBalloon.BALLOON_QUEUE_SIZE;
            a.mem.writeInt(0x500000, 0x800);
            a.mem.writeInt(0x500004, 0x801);
            a.writeDesc(0, 0, 0x500000, 8, 0, 0);
            a.makeAvailable(0, 0);
            a.kick(0);
            a.awaitUsed(0, 1);
            // polling on: an immediate poll (no buffer yet), then one an hour after each stats buffer
            ba.setStatsPollInterval(3600);
            Thread.sleep(200);
            a.mem.writeShort(0x510000, (short) VirtioBalloon.VIRTIO_BALLOON_S_MEMFREE);
            a.mem.writeLong(0x510002, 12345);
            a.writeDesc(2, 0, 0x510000, 10, 0, 0);
            a.makeAvailable(2, 0);
            a.kick(2);
            await(() -> ba.guestStats().stats()[VirtioBalloon.VIRTIO_BALLOON_S_MEMFREE] == 12345, "stats");
            copyRam(a, b);
            restore(save(a.t), b.t);
            assertEquals(ba.numPages(), bb.numPages());
            assertEquals(ba.actualPages(), bb.actualPages());
            assertNotEquals(bb.numPages(), bb.actualPages());
            assertEquals(ba.statsPollInterval(), bb.statsPollInterval());
            assertArrayEquals(ba.guestStats().stats(), bb.guestStats().stats());
            assertEquals(ba.balloonedBlocks(), bb.balloonedBlocks());
            for (VirtioGuest g : List.of(a, b)) {
                g.queueSize = VirtioBalloon.BALLOON_QUEUE_SIZE;
                assertEquals(0, g.usedIdx(2), "the stats buffer is still the device's");
                g.modern.write(DEVICE_CFG_OFFSET + VirtioBalloon.CFG_ACTUAL, 4, 1024);
            }
            // a poll (interval change from a running one re-arms; 1 s) returns the kept buffer on both
            ba.setStatsPollInterval(1);
            bb.setStatsPollInterval(1);
            a.awaitUsed(2, 1);
            b.awaitUsed(2, 1);
            assertEquals(actualA.subList(actualA.size() - 1, actualA.size()), actualB);
            for (int off = 0; off < 16; off += 4) {
                assertEquals(a.deviceCfg(off, 4), b.deviceCfg(off, 4), "config at " + off);
            }
            assertEquals(registers(a, 4), registers(b, 4));
        } finally {
            timers.shutdownNow();
        }
    }
}
