package dev.jvmm.devices.virtio;

import dev.jvmm.core.block.BlockBackend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;

/** An in-memory drive with error injection and a log of what reached it. */
final class FakeBlockBackend implements BlockBackend {
    volatile byte[] disk;
    volatile boolean readOnly;
    /** When set, reads/writes/flushes throw until cleared. */
    volatile IOException failReads;
    volatile IOException failWrites;
    volatile IOException failFlush;
    volatile ErrorAction action = ErrorAction.REPORT;
    final List<String> log = new CopyOnWriteArrayList<>();
    final List<Operation> invalid = new CopyOnWriteArrayList<>();
    final List<String> errors = new CopyOnWriteArrayList<>();
    volatile Runnable retry;
    final List<LongConsumer> resizeListeners = new ArrayList<>();
    /** Blocks a read until released (for reset-while-in-flight tests). */
    volatile java.util.concurrent.CountDownLatch readGate;
    volatile java.util.concurrent.CountDownLatch readEntered;

    FakeBlockBackend(long size) {
        disk = new byte[(int) size];
    }

    @Override
    public String name() {
        return "drive0";
    }

    @Override
    public String nodeName() {
        return "#block100";
    }

    @Override
    public long size() {
        return disk.length;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        if (readEntered != null) {
            readEntered.countDown();
        }
        if (readGate != null) {
            try {
                readGate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        log.add("read " + offset + " " + dst.remaining());
        if (failReads != null) {
            throw failReads;
        }
        check(offset, dst.remaining());
        dst.put(disk, (int) offset, dst.remaining());
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        log.add("write " + offset + " " + src.remaining());
        if (failWrites != null) {
            throw failWrites;
        }
        check(offset, src.remaining());
        src.get(disk, (int) offset, src.remaining());
    }

    private void check(long offset, long len) {
        if (offset < 0 || offset + len > disk.length) {
            throw new AssertionError("request past the end of the disk reached the backend: " + offset + "+" + len);
        }
    }

    @Override
    public void flush() throws IOException {
        log.add("flush");
        if (failFlush != null) {
            throw failFlush;
        }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        log.add("discard " + offset + " " + length);
        check(offset, length);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        log.add("zeroes " + offset + " " + length + (mayUnmap ? " unmap" : ""));
        check(offset, length);
        Arrays.fill(disk, (int) offset, (int) (offset + length), (byte) 0);
    }

    @Override
    public ErrorAction handleError(boolean isRead, IOException error) {
        errors.add((isRead ? "read " : "write ") + error.getMessage() + " -> " + action);
        return action;
    }

    @Override
    public void accountInvalid(Operation op) {
        invalid.add(op);
    }

    @Override
    public void setRetryHandler(Runnable retry) {
        this.retry = retry;
    }

    @Override
    public void addResizeListener(LongConsumer listener) {
        resizeListeners.add(listener);
    }

    void resize(long size) {
        disk = Arrays.copyOf(disk, (int) size);
        for (LongConsumer l : resizeListeners) {
            l.accept(size);
        }
    }
}
