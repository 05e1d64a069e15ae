package dev.jvmm.devices.virtio;

import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.jvmm.devices.virtio.VirtioBlk.*;
import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static dev.jvmm.devices.virtio.VirtQueue.*;
import static org.junit.jupiter.api.Assertions.*;

/** The virtio-pci transport and split virtqueue: interrupts, notifications, reset, and guest abuse. */
class VirtioPciTransportTest {
    static final long DISK = 1L << 20;
    VirtioGuest g;

    @AfterEach
    void close() {
        if (g != null) {
            g.close();
        }
    }

    VirtioGuest started(long extraFeatures) {
        g = new VirtioGuest(DISK);
        g.start(VirtioGuest.defaultFeatures() | extraFeatures);
        return g;
    }

    // ---- interrupts

    @Test
    void intxFollowsIsr() {
        started(0);
        assertFalse(g.intx.level());
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        awaitTrue(() -> g.intx.level(), "INTx raised on completion");
        assertEquals(VIRTIO_PCI_ISR_QUEUE, g.modern.read(ISR_CFG_OFFSET, 1));
        assertFalse(g.intx.level(), "reading ISR lowers INTx");
        assertEquals(0, g.modern.read(ISR_CFG_OFFSET, 4));
    }

    @Test
    void msixMaskingAndPendingBits() {
        started(0);
        // program vector 1 (queue 0's) and enable MSI-X with the function masked
        g.msix.write(16 + MsixTable.MSG_ADDR_LO, 4, 0xfee0_0000L);
        g.msix.write(16 + MsixTable.MSG_ADDR_HI, 4, 0);
        g.msix.write(16 + MsixTable.MSG_DATA, 4, 0x4031);
        assertTrue(g.msi.updates.contains("1:fee00000/4031"));
        g.t.writeConfig(CAP_MSIX + 2, 2, MsixTable.MSIX_ENABLE | MsixTable.MSIX_FUNCTION_MASK);
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        awaitTrue(() -> g.msix.read(MSIX_PBA_OFFSET, 4) == 0x2, "pending bit for vector 1 while masked");
        assertEquals(0, g.msi.triggers.get(1));
        assertFalse(g.intx.level(), "no INTx while MSI-X is on");
        // function unmasked, vector still masked: still pending
        g.t.writeConfig(CAP_MSIX + 2, 2, MsixTable.MSIX_ENABLE);
        assertEquals(0, g.msi.triggers.get(1));
        // unmasking the vector sends the pending message and clears the bit
        g.msix.write(16 + MsixTable.VECTOR_CTRL, 4, 0);
        assertEquals(1, g.msi.triggers.get(1));
        assertEquals(0, g.msix.read(MSIX_PBA_OFFSET, 4));
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        awaitTrue(() -> g.msi.triggers.get(1) == 2, "direct delivery when unmasked");
        // table reads back what was written; other vectors start masked
        assertEquals(0x4031, g.msix.read(16 + MsixTable.MSG_DATA, 4));
        assertEquals(1, g.msix.read(MsixTable.VECTOR_CTRL, 4));
        // a vector beyond the table reads back as NO_VECTOR
        g.common(QUEUE_SELECT, 2, 0);
        g.common(QUEUE_MSIX_VECTOR, 2, 7);
        assertEquals(0xffff, g.common(QUEUE_MSIX_VECTOR, 2));
        g.common(CONFIG_MSIX_VECTOR, 2, 2);
        assertEquals(0xffff, g.common(CONFIG_MSIX_VECTOR, 2));
    }

    // ---- notification suppression

    @Test
    void noInterruptFlagWithoutEventIdx() {
        started(0);
        g.mem.writeShort(g.avail(0), (short) VIRTQ_AVAIL_F_NO_INTERRUPT);
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        sleep(50);
        assertFalse(g.intx.level(), "NO_INTERRUPT suppresses the interrupt");
        assertEquals(0, g.mem.readShort(g.used(0)) & VIRTQ_USED_F_NO_NOTIFY, "kicks re-enabled after draining");
    }

    @Test
    void eventIdxSuppression() {
        started(1L << VIRTIO_F_RING_EVENT_IDX);
        long usedEvent = g.avail(0) + 4 + 2L * g.queueSize;
        long availEvent = g.used(0) + 4 + 8L * g.queueSize;
        // first completion always interrupts (nothing signalled yet)
        g.mem.writeShort(usedEvent, (short) 100);
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        awaitTrue(() -> g.intx.level(), "first interrupt");
        g.modern.read(ISR_CFG_OFFSET, 1);
        assertEquals(1, g.mem.readShort(availEvent), "avail_event follows the consumed index");
        // used_event 100: completions 2..100 are silent
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        sleep(50);
        assertFalse(g.intx.level(), "used_event not crossed");
        // used_event = 2: the third completion crosses it
        g.mem.writeShort(usedEvent, (short) 2);
        g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        awaitTrue(() -> g.intx.level(), "used_event crossed");
        assertTrue(VirtQueue.needEvent(0xffff, 0, 0xfffe), "wrap-around");
        assertFalse(VirtQueue.needEvent(5, 3, 2));
    }

    @Test
    void indicesWrapAround() {
        started(0);
        // 66000 requests in batches of 200 (one chain published many times): the 16-bit indices wrap
        long st = g.request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        int total = 0;
        for (int batch = 0; batch < 330; batch++) {
            for (int i = 0; i < 200; i++) {
                g.makeAvailable(0, 0);
            }
            total += 200;
            g.kick(0);
            g.awaitUsed(0, total & 0xffff);
        }
        assertEquals(66000 & 0xffff, g.usedIdx(0));
        assertEquals(0, g.mem.readByte(st));
        assertFalse(g.t.broken());
    }

    // ---- notifications without ioeventfd

    /**
     * A notify reaching the handler wakes the device thread only when it brings a buffer the device has not
     * popped: a spurious one (nothing new) costs no eventfd write; a real one is served.
     */
    @Test
    void notifyHandlerWakesTheDeviceOnlyForNewBuffers() {
        started(0);
        VirtQueue q = g.t.queue(0);
        assertFalse(q.notifyNeeded(), "nothing published yet");
        g.kick(0);
        assertEquals(0, q.kick().drain(), "a spurious notify writes no eventfd");
        g.request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        g.makeAvailable(0, 0);
        assertTrue(q.notifyNeeded(), "a published buffer needs the device");
        g.kick(0);
        g.awaitUsed(0, 1);
        assertFalse(q.notifyNeeded(), "popped: nothing new");
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), "later requests still served");
        g.common(DEVICE_STATUS, 1, 0);
        assertTrue(q.notifyNeeded(), "no ring after reset: every notify goes to the device");
    }

    // ---- ioeventfd placement

    @Test
    void ioeventfdFollowsDriverOkAndTheBar() {
        started(0);
        assertEquals(List.of("fe003000/2/0"), g.ioevents.live);
        // the guest moves BAR4
        g.t.writeConfig(PciConfigSpace.BAR0 + 16, 4, 0xfd00_0000);
        assertEquals(List.of("fd003000/2/0"), g.ioevents.live);
        // memory decoding off, then on again
        g.t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MASTER);
        assertEquals(List.of(), g.ioevents.live);
        g.t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_MASTER);
        assertEquals(List.of("fd003000/2/0"), g.ioevents.live);
        // kicks through the handler still work while registered
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        g.common(DEVICE_STATUS, 1, 0);
        assertEquals(List.of(), g.ioevents.live, "reset drops the registration");
        // clearing Bus Master stops the device and drops DRIVER_OK, as QEMU does
        g.start(VirtioGuest.defaultFeatures());
        g.t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, g.status());
        assertEquals(List.of(), g.ioevents.live);
        g.t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_MASTER);
        g.start(VirtioGuest.defaultFeatures());
        g.t.reset();
        assertEquals(List.of(), g.ioevents.live, "machine reset drops it");
    }

    // ---- reset

    @Test
    void resetWaitsForTheRequestInFlight() throws Exception {
        started(0);
        g.disk.readGate = new CountDownLatch(1);
        g.disk.readEntered = new CountDownLatch(1);
        long buf = g.alloc(512);
        g.request(0, VIRTIO_BLK_T_IN, 0, buf, 512, true);
        g.makeAvailable(0, 0);
        g.kick(0);
        assertTrue(g.disk.readEntered.await(5, TimeUnit.SECONDS));
        Thread resetter = new Thread(() -> g.common(DEVICE_STATUS, 1, 0));
        resetter.start();
        resetter.join(200);
        assertTrue(resetter.isAlive(), "reset waits for the read in flight");
        g.disk.readGate.countDown();
        resetter.join(5000);
        assertFalse(resetter.isAlive());
        assertEquals(0, g.status());
        int used = g.usedIdx(0);
        // nothing touches the rings after the reset returned
        g.disk.readGate = null;
        g.makeAvailable(0, 0);
        g.kick(0);
        sleep(100);
        assertEquals(used, g.usedIdx(0));
        // and the device works again after a new initialisation
        g.restart(VirtioGuest.defaultFeatures());
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
    }

    @Test
    void queueResetWithRingReset() {
        started(1L << VIRTIO_F_RING_RESET);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        g.common(QUEUE_SELECT, 2, 0);
        g.common(QUEUE_RESET, 2, 1);
        assertEquals(0, g.common(QUEUE_ENABLE, 2));
        assertEquals(256, g.common(QUEUE_SIZE, 2));
        assertEquals(0xffff, g.common(QUEUE_MSIX_VECTOR, 2));
        assertEquals(List.of(), g.ioevents.live);
        g.availIdx[0] = 0;
        g.mem.zero(g.used(0), 8);
        g.mem.zero(g.avail(0), 8);
        g.setupQueue(0, 0, 1);
        assertEquals(List.of("fe003000/2/0"), g.ioevents.live);
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
    }

    @Test
    void resetRacingBusyQueues() throws Exception {
        g = new VirtioGuest(DISK);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread kicker = new Thread(() -> {
            while (!stop.get()) {
                g.kick(0);
            }
        });
        kicker.start();
        try {
            for (int round = 0; round < 200; round++) {
                g.restart(VirtioGuest.defaultFeatures());
                long buf = g.alloc(4096);
                g.nextData = VirtioGuest.DATA;
                g.request(0, VIRTIO_BLK_T_IN, round, buf, 4096, true);
                for (int i = 0; i < 100; i++) {
                    g.makeAvailable(0, 0);
                }
                g.kick(0);
                if (round % 2 == 0) {
                    Thread.onSpinWait();
                }
                g.common(DEVICE_STATUS, 1, 0);
                assertEquals(0, g.status());
                int used = g.usedIdx(0);
                sleep(round % 20 == 0 ? 5 : 0);
                assertEquals(used, g.usedIdx(0), "no completion after the reset returned (round " + round + ")");
                assertFalse(g.t.broken(), g.t.lastError());
            }
        } finally {
            stop.set(true);
            kicker.join();
        }
        g.restart(VirtioGuest.defaultFeatures());
        assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
    }

    // ---- PCI configuration access capability

    @Test
    void pciCfgCapabilityReachesTheBar() {
        g = new VirtioGuest(DISK);
        g.t.writeConfig(CAP_PCI_CFG + CAP_BAR, 1, MODERN_BAR);
        g.t.writeConfig(CAP_PCI_CFG + CAP_OFFSET, 4, COMMON_CFG_OFFSET + QUEUE_SIZE);
        g.t.writeConfig(CAP_PCI_CFG + CAP_LENGTH, 4, 2);
        assertEquals(256, g.t.readConfig(CAP_PCI_CFG + CAP_PCI_CFG_DATA, 4) & 0xffff);
        g.t.writeConfig(CAP_PCI_CFG + CAP_OFFSET, 4, COMMON_CFG_OFFSET + DEVICE_STATUS);
        g.t.writeConfig(CAP_PCI_CFG + CAP_LENGTH, 4, 1);
        g.t.writeConfig(CAP_PCI_CFG + CAP_PCI_CFG_DATA, 4, ACKNOWLEDGE);
        assertEquals(ACKNOWLEDGE, g.status());
        // a bogus window is ignored
        g.t.writeConfig(CAP_PCI_CFG + CAP_OFFSET, 4, 0x7fff_0000);
        g.t.writeConfig(CAP_PCI_CFG + CAP_PCI_CFG_DATA, 4, 0);
        assertEquals(ACKNOWLEDGE, g.status());
    }

    // ---- abuse

    @Test
    void bogusQueueSizesAreIgnored() {
        g = new VirtioGuest(DISK);
        for (int bad : new int[] {0, 100, 512, 2048, 0xffff}) {
            g.common(QUEUE_SIZE, 2, bad);
            assertEquals(256, g.common(QUEUE_SIZE, 2), "size " + bad);
        }
        g.common(QUEUE_SIZE, 2, 64);
        assertEquals(64, g.common(QUEUE_SIZE, 2));
        g.common(QUEUE_SELECT, 2, 5000);
        assertEquals(0, g.common(QUEUE_SELECT, 2), "select beyond VIRTIO_QUEUE_MAX ignored");
    }

    @Test
    void kicksForQueuesThatAreNotEnabledDoNothing() {
        g = new VirtioGuest(DISK);
        g.negotiate(VirtioGuest.defaultFeatures());
        g.mem.writeShort(g.avail(0) + 2, (short) 5);
        g.kick(0);
        g.kick(3);
        g.modern.write(NOTIFY_CFG_OFFSET + 0xffc, 4, 0);
        sleep(50);
        assertFalse(g.t.broken());
        assertEquals(0, g.usedIdx(0));
    }

    @Test
    void descriptorOutsideRam() {
        started(0);
        g.request(0, VIRTIO_BLK_T_IN, 0, VirtioGuest.RAM - 256, 512, true);
        expectBroken(0, "bogus descriptor");
    }

    @Test
    void descriptorAddressOverflow() {
        started(0);
        g.request(0, VIRTIO_BLK_T_IN, 0, 0xffff_ffff_ffff_fe00L, 0x400, true);
        expectBroken(0, "bogus descriptor");
    }

    @Test
    void descriptorLoop() {
        started(0);
        long h = g.header(VIRTIO_BLK_T_IN, 0);
        long buf = g.alloc(512);
        g.writeDesc(0, 0, h, 16, VIRTQ_DESC_F_NEXT, 1);
        g.writeDesc(0, 1, buf, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
        g.writeDesc(0, 2, buf, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
        expectBroken(0, "Looped descriptor");
    }

    @Test
    void zeroLengthDescriptor() {
        started(0);
        g.request(0, VIRTIO_BLK_T_IN, 0, g.alloc(512), 0, true);
        g.writeDesc(0, 0, g.header(VIRTIO_BLK_T_IN, 0), 0, VIRTQ_DESC_F_NEXT, 1);
        expectBroken(0, "zero sized");
    }

    @Test
    void statusNotWritable() {
        started(0);
        long h = g.header(VIRTIO_BLK_T_FLUSH, 0);
        g.writeDesc(0, 0, h, 16, VIRTQ_DESC_F_NEXT, 1);
        g.writeDesc(0, 1, g.alloc(1), 1, 0, 0);
        expectBroken(0, "missing headers");
    }

    @Test
    void readableAfterWritable() {
        started(0);
        g.writeDesc(0, 0, g.alloc(1), 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
        g.writeDesc(0, 1, g.header(VIRTIO_BLK_T_FLUSH, 0), 16, 0, 0);
        expectBroken(0, "Incorrect order");
    }

    @Test
    void shortHeader() {
        started(0);
        g.writeDesc(0, 0, g.alloc(8), 8, VIRTQ_DESC_F_NEXT, 1);
        g.writeDesc(0, 1, g.alloc(1), 1, VIRTQ_DESC_F_WRITE, 0);
        expectBroken(0, "outhdr too short");
    }

    @Test
    void overLongIndirectChain() {
        started(1L << VIRTIO_F_RING_INDIRECT_DESC);
        long table = g.alloc(16 * 1025);
        for (int i = 0; i < 1025; i++) {
            long e = table + 16L * i;
            g.mem.writeLong(e, g.DATA);
            g.mem.writeInt(e + 8, 16);
            g.mem.writeShort(e + 12, (short) (i < 1024 ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE));
            g.mem.writeShort(e + 14, (short) (i + 1));
        }
        g.writeDesc(0, 0, table, 16 * 1025, VIRTQ_DESC_F_INDIRECT, 0);
        expectBroken(0, "too large");
    }

    @Test
    void indirectTableAbuse() {
        started(1L << VIRTIO_F_RING_INDIRECT_DESC);
        g.writeDesc(0, 0, g.alloc(64), 24, VIRTQ_DESC_F_INDIRECT, 0);
        expectBroken(0, "Invalid size");
        g.restart(VirtioGuest.defaultFeatures() | 1L << VIRTIO_F_RING_INDIRECT_DESC);
        g.writeDesc(0, 0, VirtioGuest.RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
        expectBroken(0, "Cannot map indirect");
        g.restart(VirtioGuest.defaultFeatures() | 1L << VIRTIO_F_RING_INDIRECT_DESC);
        long table = g.alloc(32);
        g.mem.writeLong(table, table);
        g.mem.writeInt(table + 8, 16);
        g.mem.writeShort(table + 12, (short) VIRTQ_DESC_F_INDIRECT);
        g.writeDesc(0, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
        expectBroken(0, "Indirect descriptor in indirect table");
        g.restart(VirtioGuest.defaultFeatures() | 1L << VIRTIO_F_RING_INDIRECT_DESC);
        g.mem.writeShort(table + 12, (short) VIRTQ_DESC_F_NEXT);
        g.mem.writeShort(table + 14, (short) 9);
        g.writeDesc(0, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
        expectBroken(0, "Desc next is 9");
    }

    @Test
    void availIndexJump() {
        started(0);
        g.request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        g.mem.writeShort(g.avail(0) + 2, (short) 300);
        g.kick(0);
        g.awaitBroken();
        assertTrue(g.t.lastError().contains("avail index"), g.t.lastError());
    }

    @Test
    void headOutOfRange() {
        started(0);
        g.mem.writeShort(g.avail(0) + 4, (short) 256);
        g.mem.writeShort(g.avail(0) + 2, (short) 1);
        g.kick(0);
        g.awaitBroken();
        assertTrue(g.t.lastError().contains("index 256"), g.t.lastError());
    }

    @Test
    void ringsOutsideRamFailTheEnable() {
        g = new VirtioGuest(DISK);
        g.negotiate(VirtioGuest.defaultFeatures());
        g.common(QUEUE_DESC_LO, 4, VirtioGuest.RAM - 16);
        g.common(QUEUE_DRIVER_LO, 4, VirtioGuest.AVAIL);
        g.common(QUEUE_DEVICE_LO, 4, VirtioGuest.USED);
        g.common(QUEUE_ENABLE, 2, 1);
        assertTrue(g.t.broken());
        assertTrue((g.status() & DEVICE_NEEDS_RESET) != 0);
        assertEquals("Cannot map desc", g.t.lastError());
    }

    @Test
    void queueEnableZeroIsADriverError() {
        started(0);
        g.common(QUEUE_ENABLE, 2, 0);
        assertTrue(g.t.broken());
        assertTrue((g.status() & DEVICE_NEEDS_RESET) != 0);
        assertTrue(g.intx.level(), "configuration interrupt for NEEDS_RESET");
        // reset clears it
        g.common(DEVICE_STATUS, 1, 0);
        assertFalse(g.t.broken());
        assertEquals(0, g.status());
    }

    /** Publishes descriptor 0 on queue q, kicks, and expects the device to fail with reason. */
    void expectBroken(int q, String reason) {
        g.makeAvailable(q, 0);
        g.kick(q);
        g.awaitBroken();
        assertTrue(g.t.lastError().contains(reason), g.t.lastError());
        assertTrue(g.usedIdx(q) == 0 || g.usedIdx(q) == g.availIdx[q] - 1, "the bad chain is not completed");
        // a broken device ignores further kicks until reset
        g.kick(q);
        sleep(20);
        assertTrue(g.t.broken());
        g.common(DEVICE_STATUS, 1, 0);
        g.mem.zero(g.used(q), 8);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void awaitTrue(java.util.function.BooleanSupplier c, String what) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("timed out waiting: " + what);
            }
            Thread.onSpinWait();
        }
    }
}
