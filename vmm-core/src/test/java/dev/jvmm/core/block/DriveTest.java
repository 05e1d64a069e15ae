package dev.jvmm.core.block;

import dev.jvmm.core.block.BlockBackend.ErrorAction;
import dev.jvmm.core.block.BlockBackend.Operation;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DriveTest {
    final EventBus bus = new EventBus();
    final List<VmEvent> events = new ArrayList<>();
    final AtomicInteger stops = new AtomicInteger();
    final List<Runnable> mainLoop = new ArrayList<>();
    MemDisk disk = new MemDisk(1 << 20, false);

    DriveTest() {
        bus.subscribe((e, t) -> events.add(e));
    }

    Drive drive(DriveCache cache, BlockErrorPolicy werror, BlockErrorPolicy rerror) {
        BlockNode root = new BlockNode("n0", "raw", "/x.raw", false, cache, disk, null, null);
        Drive d = new Drive("d0", root, cache, werror, rerror, false, bus, mainLoop::add, stops::incrementAndGet);
        return d;
    }

    Drive attached(BlockErrorPolicy werror, BlockErrorPolicy rerror) {
        Drive d = drive(DriveCache.WRITEBACK, werror, rerror);
        d.attached("/machine/peripheral/vblk0/virtio-backend");
        return d;
    }

    @Test
    void writethroughFlushesAfterEveryWriteWritebackDoesNot() throws IOException {
        Drive wt = drive(DriveCache.parse("writethrough"), BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        wt.write(0, ByteBuffer.allocate(512));
        assertEquals(List.of("write 0", "flush"), disk.calls);
        disk.calls.clear();
        Drive wb = drive(DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        wb.write(0, ByteBuffer.allocate(512));
        assertEquals(List.of("write 0"), disk.calls);
        wb.setWriteCache(false);
        wb.write(512, ByteBuffer.allocate(512));
        assertEquals(List.of("write 0", "write 512", "flush"), disk.calls);
        assertFalse(wb.cache().writeback());
    }

    @Test
    void unsafeDropsFlushesButCountsThem() throws IOException {
        Drive d = drive(DriveCache.parse("unsafe"), BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        d.flush();
        assertTrue(disk.calls.isEmpty());
        assertEquals(1, d.stats().snapshot().flushOperations());
    }

    @Test
    void accountingMatchesQemusFields() throws IOException {
        Drive d = drive(DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        BlockDeviceStats s0 = d.stats().snapshot();
        assertFalse(s0.hasIdleTime(), "no idle_time_ns before the first request");
        assertTrue(s0.accountInvalid() && s0.accountFailed());
        d.write(4096, ByteBuffer.allocate(1024));
        d.read(0, ByteBuffer.allocate(512));
        d.read(0, ByteBuffer.allocate(512));
        d.flush();
        d.discard(0, 4096);
        d.writeZeroes(8192, 4096, false);
        d.accountInvalid(Operation.READ);
        BlockDeviceStats s = d.stats().snapshot();
        assertEquals(1024, s.rdBytes());
        assertEquals(2, s.rdOperations());
        assertEquals(1024 + 4096, s.wrBytes());
        assertEquals(2, s.wrOperations());
        assertEquals(1, s.flushOperations());
        assertEquals(1, s.unmapOperations());
        assertEquals(4096, s.unmapBytes());
        assertEquals(12288, s.wrHighestOffset());
        assertEquals(1, s.invalidRdOperations());
        assertTrue(s.hasIdleTime());
        // discard=ignore (the -drive default) never reaches the image
        assertFalse(disk.calls.stream().anyMatch(c -> c.startsWith("discard")));
    }

    @Test
    void werrorEnospcStopsOnNoSpaceAndReportsOtherErrors() throws IOException {
        Drive d = attached(BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        disk.failNext = MemDisk.enospc();
        IOException e = assertThrows(IOException.class, () -> d.write(0, ByteBuffer.allocate(512)));
        assertEquals(ErrorAction.STOP, d.handleError(false, e));
        assertEquals(1, stops.get());
        assertEquals(IoStatus.NOSPACE, d.ioStatus());
        assertEquals(new VmEvent.BlockIoError("d0", "n0", "write", "stop", true, "No space left on device"),
                events.get(0));
        // a stopped request is not accounted yet: it is retried after cont
        assertEquals(0, d.stats().snapshot().failedWrOperations());

        disk.failNext = MemDisk.eio();
        IOException e2 = assertThrows(IOException.class, () -> d.write(0, ByteBuffer.allocate(512)));
        assertEquals(ErrorAction.REPORT, d.handleError(false, e2));
        assertEquals(1, stops.get());
        assertEquals(new VmEvent.BlockIoError("d0", "n0", "write", "report", false, "Input/output error"),
                events.get(1));
        assertEquals(1, d.stats().snapshot().failedWrOperations());
        assertEquals(IoStatus.NOSPACE, d.ioStatus(), "io-status keeps the first error until cont");
    }

    @Test
    void rerrorPolicies() throws IOException {
        Drive stop = attached(BlockErrorPolicy.ENOSPC, BlockErrorPolicy.STOP);
        disk.failNext = MemDisk.eio();
        IOException e = assertThrows(IOException.class, () -> stop.read(0, ByteBuffer.allocate(512)));
        assertEquals(ErrorAction.STOP, stop.handleError(true, e));
        assertEquals(IoStatus.FAILED, stop.ioStatus());
        assertEquals("read", ((VmEvent.BlockIoError) events.get(0)).operation());

        Drive ignore = attached(BlockErrorPolicy.ENOSPC, BlockErrorPolicy.IGNORE);
        disk.failNext = MemDisk.eio();
        IOException e2 = assertThrows(IOException.class, () -> ignore.read(0, ByteBuffer.allocate(512)));
        assertEquals(ErrorAction.IGNORE, ignore.handleError(true, e2));
        assertEquals(IoStatus.OK, ignore.ioStatus());
        assertEquals("ignore", ((VmEvent.BlockIoError) events.get(1)).action());
        assertEquals(1, ignore.stats().snapshot().rdOperations(), "an ignored error counts as done");
    }

    @Test
    void ioStatusOnlyWithADeviceAndResetOnResumeWhichRunsTheRetryOnTheMainLoop() throws IOException {
        Drive lone = drive(DriveCache.WRITEBACK, BlockErrorPolicy.STOP, BlockErrorPolicy.STOP);
        assertEquals(ErrorAction.STOP, lone.handleError(true, MemDisk.eio()));
        assertFalse(lone.ioStatusEnabled());
        assertEquals(IoStatus.OK, lone.ioStatus());

        Drive d = attached(BlockErrorPolicy.STOP, BlockErrorPolicy.STOP);
        AtomicInteger retried = new AtomicInteger();
        d.setRetryHandler(retried::incrementAndGet);
        d.handleError(false, MemDisk.eio());
        assertEquals(IoStatus.FAILED, d.ioStatus());
        bus.publish(new VmEvent.Resume());
        assertEquals(IoStatus.OK, d.ioStatus());
        assertEquals(0, retried.get(), "the retry is queued, not run on the publishing thread");
        mainLoop.forEach(Runnable::run);
        assertEquals(1, retried.get());
    }

    @Test
    void readOnlyDriveRefusesWrites() {
        disk = new MemDisk(4096, true);
        BlockNode root = new BlockNode("n0", "raw", "/x.raw", true, DriveCache.WRITEBACK, disk, null, null);
        Drive d = new Drive("d0", root, DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT, false,
                bus, Runnable::run, () -> { });
        assertTrue(d.readOnly());
        assertThrows(BlockException.class, () -> d.write(0, ByteBuffer.allocate(512)));
        assertTrue(disk.calls.isEmpty());
    }

    @Test
    void resizeTellsListeners() throws IOException {
        Drive d = drive(DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT);
        List<Long> sizes = new ArrayList<>();
        d.addResizeListener(sizes::add);
        d.resize(2 << 20);
        assertEquals(List.of(2L << 20), sizes);
        assertEquals(2 << 20, d.size());
    }

    @Test
    void emptyDriveHasNoMedium() {
        Drive d = new Drive("d0", null, DriveCache.WRITEBACK, BlockErrorPolicy.ENOSPC, BlockErrorPolicy.REPORT, false,
                bus, Runnable::run, () -> { });
        assertEquals(0, d.size());
        assertEquals("", d.nodeName());
        assertThrows(BlockException.class, () -> d.read(0, ByteBuffer.allocate(512)));
    }
}
