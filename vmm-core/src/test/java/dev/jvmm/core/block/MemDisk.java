package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** An in-memory image that can fail its next requests with a chosen host error. */
final class MemDisk implements BlockDriver {
    byte[] data;
    final boolean readOnly;
    final List<String> calls = new ArrayList<>();
    /** The next read/write/flush throws this (then clears it), when set. */
    IOException failNext;
    boolean failAlways;

    MemDisk(int size, boolean readOnly) {
        this.data = new byte[size];
        this.readOnly = readOnly;
    }

    private void maybeFail() throws IOException {
        IOException e = failNext;
        if (e != null) {
            if (!failAlways) {
                failNext = null;
            }
            throw e;
        }
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        calls.add("read " + offset);
        maybeFail();
        int n = dst.remaining();
        dst.put(data, (int) offset, n);
        return n;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        calls.add("write " + offset);
        maybeFail();
        src.get(data, (int) offset, src.remaining());
    }

    @Override
    public void flush() throws IOException {
        calls.add("flush");
        maybeFail();
    }

    @Override
    public void discard(long offset, long length) {
        calls.add("discard " + offset + "+" + length);
    }

    @Override
    public void truncate(long newSize) {
        data = java.util.Arrays.copyOf(data, (int) newSize);
    }

    @Override
    public void close() {
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    static IOException enospc() {
        return new IOException("No space left on device");
    }

    static IOException eio() {
        return new IOException("Input/output error");
    }
}
