package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A raw disk image: guest byte N is file byte N. Reads and writes go straight between the file and the caller's buffer. */
public final class RawImage implements BlockDriver {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long size;

    private RawImage(Path path, FileChannel channel, boolean readOnly) throws IOException {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.size = channel.size();
    }

    public static RawImage open(Path path, boolean readOnly) throws IOException {
        FileChannel ch = readOnly
                ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new RawImage(path, ch, readOnly);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        int len = dst.remaining();
        checkRange(offset, len);
        readFully(channel, offset, dst, path);
        return len;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        if (readOnly) {
            throw new BlockException("image " + path + " is read-only");
        }
        checkRange(offset, src.remaining());
        writeFully(channel, offset, src);
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(true);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    private void checkRange(long offset, long len) throws BlockException {
        if (offset < 0 || offset > size || len > size - offset) {
            throw new BlockException(String.format("request at %d+%d is past the end of %s (%d bytes)", offset, len, path, size));
        }
    }

    /** Positional read of all of dst; end of file is an error (a truncated image). */
    static void readFully(FileChannel ch, long offset, ByteBuffer dst, Path path) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new BlockException(String.format("%s: unexpected end of file at offset %d", path, pos));
            }
            pos += n;
        }
    }

    static void writeFully(FileChannel ch, long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }
}
