package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/** A sparse in-memory BlockBackend with injectable failures and a chosen error action. */
final class FakeBackend implements BlockBackend {
    private final Map<Long, byte[]> sectors = new HashMap<>();
    private long size;
    final String name;
    int reads;
    int writes;
    int flushes;
    final List<Operation> invalid = new ArrayList<>();
    final List<Boolean> errors = new ArrayList<>();
    /** Failures still to inject (each read/write/flush call consumes one). */
    int failNext;
    ErrorAction action = ErrorAction.REPORT;
    Runnable retry;
    final List<LongConsumer> resize = new ArrayList<>();
    /** Whether a medium is in (a removable drive's medium can be taken out as the block graph does). */
    boolean inserted = true;
    /** The tray moves the guest made (DEVICE_TRAY_MOVED tray-open values). */
    final List<Boolean> trayMoves = new ArrayList<>();

    FakeBackend(String name, long size) {
        this.name = name;
        this.size = size;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String nodeName() {
        return "#block" + name;
    }

    @Override
    public long size() {
        return inserted ? size : 0;
    }

    @Override
    public boolean isInserted() {
        return inserted;
    }

    @Override
    public void guestTrayMoved(boolean open) {
        trayMoves.add(open);
    }

    /** The graph's blockdev-remove-medium: the drive is then empty. */
    void eject() {
        inserted = false;
    }

    /** The graph's blockdev-insert-medium with a new medium of the given size (its sectors blank). */
    void insert(long bytes) {
        sectors.clear();
        size = bytes;
        inserted = true;
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    private void maybeFail() throws IOException {
        if (!inserted) {
            throw new IOException("No medium found");
        }
        if (failNext > 0) {
            failNext--;
            throw new IOException("injected");
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        reads++;
        maybeFail();
        if (offset < 0 || offset + dst.remaining() > size) {
            throw new IOException("read past end");
        }
        while (dst.hasRemaining()) {
            long s = offset / 512;
            int in = (int) (offset % 512);
            int n = Math.min(512 - in, dst.remaining());
            byte[] b = sectors.get(s);
            for (int i = 0; i < n; i++) {
                dst.put(b == null ? 0 : b[in + i]);
            }
            offset += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        writes++;
        maybeFail();
        if (offset < 0 || offset + src.remaining() > size) {
            throw new IOException("write past end");
        }
        while (src.hasRemaining()) {
            long s = offset / 512;
            int in = (int) (offset % 512);
            int n = Math.min(512 - in, src.remaining());
            byte[] b = sectors.computeIfAbsent(s, k -> new byte[512]);
            src.get(b, in, n);
            offset += n;
        }
    }

    @Override
    public void flush() throws IOException {
        flushes++;
        maybeFail();
    }

    final List<long[]> discards = new ArrayList<>();

    @Override
    public void discard(long offset, long length) {
        discards.add(new long[]{offset, length});
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) {
    }

    @Override
    public ErrorAction handleError(boolean isRead, IOException error) {
        errors.add(isRead);
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
        resize.add(listener);
    }

    /** Fills sector s with a recognisable pattern. */
    void pattern(long s, int seed) {
        byte[] b = new byte[512];
        for (int i = 0; i < 512; i++) {
            b[i] = (byte) (seed + i * 7 + s);
        }
        sectors.put(s, b);
    }

    byte[] sector(long s) {
        byte[] b = sectors.get(s);
        return b == null ? new byte[512] : b.clone();
    }

    void resizeTo(long bytes) {
        size = bytes;
        for (LongConsumer l : resize) {
            l.accept(bytes);
        }
    }
}
