package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
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
    /** Page-cached channel: all I/O without cache.direct; size, flush and the unaligned file tail with it. */
    private final FileChannel ch;
    /**
     * cache.direct: an O_DIRECT descriptor used through pread/pwrite (JNA), not FileChannel's DIRECT option,
     * which insists on the filesystem block size (4 KiB) for buffers where the kernel takes 512 bytes, and
     * costs a third more per MiB here. -1 without cache.direct.
     */
    private final int directFd;
    private final int fd;
    private final ImageOptions opts;
    /** O_DIRECT alignment: 512, raised to the filesystem block size if the kernel refuses a 512-aligned request. */
    private volatile int align;
    private volatile BlockBackend.AioTarget aioTarget;
    private final int fsBlock;
    private final Object rmwLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean holesSupported = true;
    private volatile boolean zeroRangeSupported = true;

    private ImageFile(Path path, FileChannel ch, int directFd, int fd, ImageOptions opts, int fsBlock) {
        this.path = path;
        this.displayName = path.toString();
        this.ch = ch;
        this.directFd = directFd;
        this.fd = fd;
        this.opts = opts;
        this.fsBlock = fsBlock;
        this.align = directFd >= 0 ? MIN_ALIGN : 1;
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
            FileChannel ch = openChannel(path, oo);
            opened.add(ch);
            int directFd = -1;
            int fsBlock = MIN_ALIGN;
            if (opts.direct()) {
                try {
                    directFd = FileOps.open(path.toString(), (opts.readOnly() ? FileOps.O_RDONLY : FileOps.O_RDWR)
                            | FileOps.O_CLOEXEC | FileOps.O_DIRECT, 0);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == HostIoException.EINVAL) {
                        // QEMU's wording when only O_DIRECT made open() fail (util/osdep.c).
                        throw new BlockException("Could not open '" + path + "': filesystem does not support O_DIRECT", e);
                    }
                    throw new BlockException("Could not open '" + path + "': " + HostIoException.strerror(e.getErrorCode()));
                }
                int dfd = directFd;
                opened.add(() -> FileOps.close(dfd));
                fsBlock = Math.max(MIN_ALIGN, (int) Files.getFileStore(path).getBlockSize());
            }
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
            return new ImageFile(path, ch, directFd, fd, opts, fsBlock);
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
            long s = ch.size();
            if (s == 0) {
                // FileChannel reports 0 for block devices; seeking to the end gives their capacity.
                try {
                    s = FileOps.lseek(fd, 0, FileOps.SEEK_END);
                } catch (LastErrorException e) {
                    s = 0;
                }
            }
            return s;
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    /** Where async engines do guest I/O; a new value only when the O_DIRECT alignment is raised. */
    BlockBackend.AioTarget aioTarget() {
        BlockBackend.AioTarget t = aioTarget;
        if (t == null || t.alignment() != align) {
            t = aioTarget = directFd >= 0 ? new BlockBackend.AioTarget(directFd, align)
                    : new BlockBackend.AioTarget(fd, 1);
        }
        return t;
    }

    /** FileChannel.read semantics: may return short, -1 at end of file. */
    int read(ByteBuffer dst, long pos) throws IOException {
        try {
            if (directFd < 0) {
                return ch.read(dst, pos);
            }
            if (aligned(dst, pos)) {
                int n = directRead(dst, pos);
                if (n != NEEDS_BOUNCE) {
                    return n;
                }
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
            if (directFd < 0) {
                writeAll(ch, src, offset);
            } else if (!aligned(src, offset) || !directWriteAll(src, offset)) {
                bounceWrite(src, offset);
            }
        } catch (IOException e) {
            throw HostIoException.classify(e);
        }
    }

    /** directRead's answer when the kernel wants a larger alignment than tried (the bounce path then uses it). */
    private static final int NEEDS_BOUNCE = Integer.MIN_VALUE;

    /** One pread on the O_DIRECT descriptor straight into dst; -1 at end of file. */
    private int directRead(ByteBuffer dst, long pos) throws IOException {
        int len = dst.remaining();
        try {
            long n = FileOps.pread(directFd, address(dst), len, pos);
            if (n == 0 && len > 0) {
                return -1;
            }
            dst.position(dst.position() + (int) n);
            return (int) n;
        } catch (LastErrorException e) {
            return directError(e);
        }
    }

    /** Writes all of src with pwrite on the O_DIRECT descriptor; false when it needs the bounce path instead. */
    private boolean directWriteAll(ByteBuffer src, long pos) throws IOException {
        long p = pos;
        try {
            while (src.hasRemaining()) {
                long n = FileOps.pwrite(directFd, address(src), src.remaining(), p);
                src.position(src.position() + (int) n);
                p += n;
            }
            return true;
        } catch (LastErrorException e) {
            directError(e);
            return false;
        }
    }

    private int directError(LastErrorException e) throws IOException {
        if (e.getErrorCode() == HostIoException.EINVAL && align < fsBlock) {
            align = fsBlock; // a device with larger logical blocks: pad to the filesystem block from now on
            return NEEDS_BOUNCE;
        }
        throw new HostIoException(e.getErrorCode(), e);
    }

    private static Pointer address(ByteBuffer b) {
        return Native.getDirectBufferPointer(b).share(b.position());
    }

    private boolean aligned(ByteBuffer b, long pos) {
        return b.isDirect() && ((pos | b.remaining()) & (align - 1)) == 0 && b.alignmentOffset(b.position(), align) == 0;
    }

    /** An aligned direct buffer of exactly len bytes (capacity too, so clear() cannot overrun). */
    private ByteBuffer bounce(long len) {
        if (len > Integer.MAX_VALUE - align) {
            throw new IllegalArgumentException("request too large: " + len);
        }
        return ByteBuffer.allocateDirect((int) len + align).alignedSlice(align).slice(0, (int) len);
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
            int n = directRead(b, pos + total);
            if (n == NEEDS_BOUNCE) {
                throw new HostIoException(HostIoException.EINVAL, new IOException("O_DIRECT alignment refused"));
            }
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
            directWriteOrFail(b, pos);
            return;
        }
        long start = pos & -(long) align;
        long end = (pos + len + align - 1) & -(long) align;
        synchronized (rmwLock) {
            if (end > ch.size()) {
                // Padding would grow the file past what the caller wrote: write the exact bytes through the cache.
                writeAll(ch, src, pos);
                return;
            }
            int n = (int) (end - start);
            ByteBuffer b = bounce(n);
            fill(b, start);
            b.limit(n).position((int) (pos - start));
            b.put(src);
            b.position(0).limit(n); // not clear(): the aligned slice may be a block longer than n
            directWriteOrFail(b, start);
        }
    }

    private void directWriteOrFail(ByteBuffer b, long pos) throws IOException {
        if (!directWriteAll(b, pos)) {
            throw new HostIoException(HostIoException.EINVAL, new IOException("O_DIRECT alignment refused"));
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
            // fdatasync on the cached descriptor covers the file's data written through the direct one too.
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
            if (directFd >= 0) {
                FileOps.close(directFd);
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
