package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A disk image: byte-addressed reads and writes of the guest-visible disk. Callers normally use 512-byte multiples,
 * but any offset and length work. Implementations are safe to call from several threads.
 */
public interface BlockDriver extends AutoCloseable {
    /** Guest-visible size in bytes. */
    long size();

    /** Fills {@code dst} from its position to its limit with disk bytes at {@code offset}; returns the count. */
    int read(long offset, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} (position to limit) at {@code offset}. */
    void write(long offset, ByteBuffer src) throws IOException;

    /**
     * One request whose data lies in pieces (a guest's scatter-gather list) at consecutive disk offsets from
     * {@code offset}; a filter such as blkdebug sees it as one request, as QEMU's vectored I/O does.
     */
    default void readv(long offset, ByteBuffer[] dsts) throws IOException {
        for (ByteBuffer d : dsts) {
            int n = d.remaining();
            read(offset, d);
            offset += n;
        }
    }

    /** The write counterpart of {@link #readv}. */
    default void writev(long offset, ByteBuffer[] srcs) throws IOException {
        for (ByteBuffer s : srcs) {
            int n = s.remaining();
            write(offset, s);
            offset += n;
        }
    }

    /** Makes every completed write durable. */
    void flush() throws IOException;

    @Override
    void close() throws IOException;

    boolean readOnly();

    /**
     * Tells the image the range is no longer needed (guest TRIM/DISCARD). Reads of it afterwards may return
     * old data or zeroes. An image that cannot deallocate may do nothing.
     */
    default void discard(long offset, long length) throws IOException {
    }

    /**
     * Makes the range read as zeroes. mayUnmap lets the image deallocate it (virtio-blk WRITE_ZEROES with the
     * unmap flag) instead of writing zero bytes. The default writes zero bytes.
     */
    default void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, 1 << 20));
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(zeros.capacity(), length - done);
            zeros.clear().limit(n);
            write(offset + done, zeros);
            done += n;
        }
    }

    /** QEMU's driver name for query-block and query-named-block-nodes ("raw", "qcow2", "blkdebug"). */
    default String format() {
        return "raw";
    }

    /** The image file name as QEMU reports it ("file" / "filename" fields). */
    default String filename() {
        return "";
    }

    /** The backing image, or null when there is none. */
    default BlockDriver backing() {
        return null;
    }

    /** Bytes the image occupies on the host (st_blocks * 512), or -1 if unknown ("actual-size"). */
    default long allocatedSize() {
        return -1;
    }

    /** Changes the guest-visible size (block_resize); refused by images that cannot grow or shrink. */
    default void truncate(long newSize) throws IOException {
        throw new BlockException("Image format driver does not support resize");
    }

    /** Opens {@code path} as qcow2 when it starts with the qcow2 magic, else as a raw image (cached, locked). */
    static BlockDriver open(Path path, boolean readOnly) throws IOException {
        return open(path, ImageOptions.readOnly(readOnly), 0);
    }

    /** Probes the format as {@link #open(Path, boolean)} does, opening with opts. */
    static BlockDriver open(Path path, ImageOptions opts) throws IOException {
        return open(path, opts, 0);
    }

    /** Backing chains are followed at most this deep, so a self-referencing chain fails instead of looping. */
    int MAX_BACKING_DEPTH = 16;

    static BlockDriver open(Path path, ImageOptions opts, int depth) throws IOException {
        if (depth > MAX_BACKING_DEPTH) {
            throw new BlockException("backing chain deeper than " + MAX_BACKING_DEPTH + " at " + path);
        }
        boolean qcow2;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer magic = ByteBuffer.allocate(4);
            while (magic.hasRemaining() && ch.read(magic, magic.position()) > 0) {
                // keep reading: positional reads may be short
            }
            qcow2 = !magic.hasRemaining() && magic.getInt(0) == Qcow2Image.QCOW_MAGIC;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BlockException("Could not open '" + path + "': No such file or directory", e);
        }
        return qcow2 ? Qcow2Image.open(path, opts, depth) : RawImage.open(path, opts, depth > 0);
    }
}
