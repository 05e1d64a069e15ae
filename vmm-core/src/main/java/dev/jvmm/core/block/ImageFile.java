package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One host file under an image driver, QEMU's file-posix node: positional I/O (O_DIRECT with cache.direct, through
 * an aligned bounce buffer when the caller's buffer, offset or length is not aligned), flush (skipped with
 * cache.no-flush), image locking, hole punching and resizing. Thread-safe: positional I/O needs no lock; only
 * unaligned direct writes, which read-modify-write whole blocks, are serialized.
 */
final class ImageFile implements AutoCloseable {
    private static final int MIN_ALIGN = 512;

    private final AtomicLong wrHighestOffset = new AtomicLong();
    private final Path path;
    private final String displayName;
    private final FileChannel ch;
    /** Page-cached channel for direct-mode writes that cannot be padded (the unaligned tail of the file). */
    private final FileChannel tailCh;
    private final int fd;
    private final ImageOptions opts;
    private final int align;
    private final Object rmwLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean holesSupported = true;
    private volatile boolean zeroRangeSupported = true;

    private ImageFile(Path path, FileChannel ch, FileChannel tailCh, int fd, ImageOptions opts, int align) {
        this.path = path;
        this.displayName = path.toString();
        this.ch = ch;
        this.tailCh = tailCh;
        this.fd = fd;
        this.opts = opts;
        this.align = align;
    }

    /**
     * Opens path with opts. held/unshared are QEMU permission masks for the lock bytes (see {@link ImageLock}); they
     * are ignored when locking is off.
     */
    static ImageFile open(Path path, ImageOptions opts, int held, int unshared) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            List<OpenOption> oo = new ArrayList<>();
            oo.add(StandardOpenOption.READ);
            if (!opts.readOnly()) {
                oo.add(StandardOpenOption.WRITE);
            }
            FileChannel tail = null;
            int align = 1;
            if (opts.direct()) {
                tail = openChannel(path, oo);
                opened.add(tail);
                oo.add(ExtendedOpenOption.DIRECT);
                align = Math.max(MIN_ALIGN, (int) Files.getFileStore(path).getBlockSize());
            }
            FileChannel ch;
            try {
                ch = openChannel(path, oo);
            } catch (IOException e) {
                if (opts.direct() && String.valueOf(e.getMessage()).contains("Invalid argument")) {
                    // QEMU's wording when only O_DIRECT made open() fail (util/osdep.c).
                    throw new BlockException("Could not open '" + path + "': filesystem does not support O_DIRECT", e);
                }
                throw e;
            }
            opened.add(ch);
            int fd;
            try {
                fd = FileOps.open(path.toString(), (opts.readOnly() ? FileOps.O_RDONLY : FileOps.O_RDWR) | FileOps.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                throw new BlockException("Could not open '" + path + "': " + HostIoException.strerror(e.getErrorCode()));
            }
            opened.add(() -> FileOps.close(fd));
            if (opts.lockingEnabled()) {
                ImageLock.acquire(fd, path.toString(), held,
                        opts.locking() == ImageOptions.LockMode.SHARED ? 0 : unshared);
            }
            return new ImageFile(path, ch, tail, fd, opts, align);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable c : opened) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static FileChannel openChannel(Path path, List<OpenOption> oo) throws IOException {
        try {
            return FileChannel.open(path, oo.toArray(new OpenOption[0]));
        } catch (NoSuchFileException e) {
            throw new BlockException("Could not open '" + path + "': No such file or directory", e);
        } catch (AccessDeniedException e) {
            throw new BlockException("Could not open '" + path + "': Permission denied", e);
        }
    }

    Path path() {
        return path;
    }

    ImageOptions options() {
        return opts;
    }

    boolean readOnly() {
        return opts.readOnly();
    }

    long size() throws IOException {
        try {
            return ch.size();
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    /** FileChannel.read semantics: may return short, -1 at end of file. */
    int read(ByteBuffer dst, long pos) throws IOException {
        try {
            if (align == 1 || aligned(dst, pos)) {
                return ch.read(dst, pos);
            }
            return bounceRead(dst, pos);
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    /** Reads all of dst; end of file is an error (a truncated image). */
    void readFully(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = read(dst, pos);
            if (n < 0) {
                throw new BlockException(String.format("%s: unexpected end of file at offset %d", path, pos));
            }
            pos += n;
        }
    }

    /** The end of the highest write since open: QEMU's wr_highest_offset of the file node under a format. */
    long wrHighestOffset() {
        return wrHighestOffset.get();
    }

    void writeFully(long offset, ByteBuffer src) throws IOException {
        wrHighestOffset.accumulateAndGet(offset + src.remaining(), Math::max);
        try {
            if (align == 1 || aligned(src, offset)) {
                long pos = offset;
                while (src.hasRemaining()) {
                    pos += ch.write(src, pos);
                }
            } else {
                bounceWrite(src, offset);
            }
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    private boolean aligned(ByteBuffer b, long pos) {
        return b.isDirect() && ((pos | b.remaining()) & (align - 1)) == 0 && b.alignmentOffset(b.position(), align) == 0;
    }

    private ByteBuffer bounce(long len) {
        if (len > Integer.MAX_VALUE - align) {
            throw new IllegalArgumentException("request too large: " + len);
        }
        return ByteBuffer.allocateDirect((int) len + align).alignedSlice(align).limit((int) len);
    }

    private int bounceRead(ByteBuffer dst, long pos) throws IOException {
        long start = pos & -(long) align;
        long end = (pos + dst.remaining() + align - 1) & -(long) align;
        ByteBuffer b = bounce(end - start);
        int got = fill(b, start);
        int skip = (int) (pos - start);
        if (got <= skip) {
            return dst.hasRemaining() ? -1 : 0;
        }
        int n = Math.min(dst.remaining(), got - skip);
        dst.put(b.clear().position(skip).limit(skip + n));
        return n;
    }

    /** Reads into b until full or end of file; returns the bytes read. */
    private int fill(ByteBuffer b, long pos) throws IOException {
        int total = 0;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
            if (((pos + total) & (align - 1)) != 0) {
                break; // a short direct read ends at end of file, off the block grid
            }
        }
        return total;
    }

    private void bounceWrite(ByteBuffer src, long pos) throws IOException {
        int len = src.remaining();
        if (((pos | len) & (align - 1)) == 0) {
            // Only the buffer is unaligned: copy, no read needed.
            ByteBuffer b = bounce(len);
            b.put(src).flip();
            writeAll(ch, b, pos);
            return;
        }
        long start = pos & -(long) align;
        long end = (pos + len + align - 1) & -(long) align;
        synchronized (rmwLock) {
            if (end > ch.size()) {
                // Padding would grow the file past what the caller wrote: write the exact bytes through the cache.
                writeAll(tailCh, src, pos);
                return;
            }
            ByteBuffer b = bounce(end - start);
            fill(b, start);
            b.clear().position((int) (pos - start));
            b.put(src);
            b.clear();
            writeAll(ch, b, start);
        }
    }

    private static void writeAll(FileChannel c, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            p += c.write(b, p);
        }
    }

    /** fdatasync-like durability; cache.no-flush (cache=unsafe) makes it a no-op, as in QEMU. */
    void flush() throws IOException {
        if (opts.readOnly() || opts.noFlush()) {
            return;
        }
        try {
            if (tailCh != null) {
                tailCh.force(false);
            }
            ch.force(false);
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    void truncate(long size) throws IOException {
        try {
            FileOps.ftruncate(fd, size);
        } catch (LastErrorException e) {
            throw new HostIoException(e.getErrorCode(), e);
        }
    }

    /** Deallocates the range keeping the file size; false when the filesystem cannot (nothing changed). */
    boolean punchHole(long offset, long len) throws IOException {
        if (!holesSupported || len <= 0) {
            return false;
        }
        try {
            FileOps.fallocate(fd, FileOps.FALLOC_FL_PUNCH_HOLE | FileOps.FALLOC_FL_KEEP_SIZE, offset, len);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == HostIoException.EOPNOTSUPP || e.getErrorCode() == HostIoException.EINVAL) {
                holesSupported = false;
                return false;
            }
            throw new HostIoException(e.getErrorCode(), e);
        }
    }

    /** Makes the range read as zeroes without writing data; false when the filesystem cannot. */
    boolean zeroRange(long offset, long len) throws IOException {
        if (!zeroRangeSupported || len <= 0) {
            return false;
        }
        try {
            FileOps.fallocate(fd, FileOps.FALLOC_FL_ZERO_RANGE | FileOps.FALLOC_FL_KEEP_SIZE, offset, len);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == HostIoException.EOPNOTSUPP || e.getErrorCode() == HostIoException.EINVAL) {
                zeroRangeSupported = false;
                return false;
            }
            throw new HostIoException(e.getErrorCode(), e);
        }
    }

    long allocatedSize() {
        try {
            return FileOps.allocatedBytes(fd);
        } catch (LastErrorException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return; // a second close must not close a descriptor number the process has since reused
        }
        try {
            ch.close();
            if (tailCh != null) {
                tailCh.close();
            }
        } finally {
            try {
                FileOps.close(fd);
            } catch (LastErrorException ignored) {
                // already closed or never valid: nothing left to release
            }
        }
    }
}
