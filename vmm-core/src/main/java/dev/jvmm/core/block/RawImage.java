package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A raw disk image: guest byte N is file byte N. Reads and writes go straight between the file and the caller's
 * buffer (through an aligned bounce buffer only with cache.direct and unaligned requests). Discard punches holes
 * (discard=unmap), write-zeroes uses FALLOC_FL_ZERO_RANGE where the filesystem has it, as QEMU's file-posix does.
 */
public final class RawImage implements BlockDriver {
    private final Path path;
    private final ImageFile file;
    private final ImageOptions opts;
    private volatile long size;

    private RawImage(Path path, ImageFile file, ImageOptions opts) throws IOException {
        this.path = path;
        this.file = file;
        this.opts = opts;
        this.size = file.size();
    }

    public static RawImage open(Path path, boolean readOnly) throws IOException {
        return open(path, ImageOptions.readOnly(readOnly));
    }

    public static RawImage open(Path path, ImageOptions opts) throws IOException {
        return open(path, opts, false);
    }

    /** asBacking: a raw backing file shares every permission with other processes, as QEMU's raw backing does. */
    static RawImage open(Path path, ImageOptions opts, boolean asBacking) throws IOException {
        ImageFile f = ImageFile.open(path, opts, ImageLock.heldPerms(opts.readOnly(), false),
                ImageLock.unsharedPerms(false, asBacking));
        try {
            return new RawImage(path, f, opts);
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    public ImageOptions options() {
        return opts;
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        int len = dst.remaining();
        checkRange(offset, len);
        file.readFully(offset, dst);
        return len;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        checkRange(offset, src.remaining());
        file.writeFully(offset, src);
    }

    /** The descriptor async engines use: the O_DIRECT one with cache.direct, else the page-cached one. */
    BlockBackend.AioTarget aioTarget() {
        return file.aioTarget();
    }

    @Override
    public void flush() throws IOException {
        file.flush();
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (opts.discardUnmap()) {
            file.punchHole(offset, length);
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (mayUnmap && opts.discardUnmap() && file.punchHole(offset, length)) {
            return;
        }
        if (file.zeroRange(offset, length)) {
            return;
        }
        BlockDriver.super.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public synchronized void truncate(long newSize) throws IOException {
        checkWritable();
        if (newSize < 0) {
            throw new BlockException("Invalid size " + newSize);
        }
        file.truncate(newSize);
        size = newSize;
    }

    @Override
    public String format() {
        return "raw";
    }

    @Override
    public String filename() {
        return path.toString();
    }

    @Override
    public long allocatedSize() {
        return file.allocatedSize();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    @Override
    public boolean readOnly() {
        return opts.readOnly();
    }

    private void checkWritable() throws BlockException {
        if (opts.readOnly()) {
            throw new BlockException("image " + path + " is read-only");
        }
    }

    private void checkRange(long offset, long len) throws BlockException {
        long sz = size;
        if (offset < 0 || len < 0 || offset > sz || len > sz - offset) {
            throw new BlockException(String.format("request at %d+%d is past the end of %s (%d bytes)", offset, len, path, sz));
        }
    }
}
