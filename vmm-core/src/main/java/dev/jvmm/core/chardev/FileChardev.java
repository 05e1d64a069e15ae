package dev.jvmm.core.chardev;

import dev.jvmm.core.config.OptionException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.Set;

/**
 * QEMU's file backend ({@code -chardev file,path=P} / {@code -serial file:P}): output only. Like QEMU's
 * char-file.c the file is opened O_WRONLY|O_CREAT|O_TRUNC (O_APPEND instead of truncation with
 * {@code append=on}); each write goes straight to the file, so nothing is buffered in the JVM.
 */
public final class FileChardev extends AbstractChardev {
    private final Path path;
    private final FileChannel channel;

    public FileChardev(String id, Path path, boolean append) throws IOException {
        this(id, path, append ? EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND) : EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    private FileChardev(String id, Path path, Set<StandardOpenOption> opts) throws IOException {
        super(id);
        this.path = path;
        this.channel = FileChannel.open(path, opts);
    }

    /**
     * A file the manager opened, given as an fd set's duplicate: written where the descriptor writes (appending
     * when it was opened O_APPEND), never created or truncated here, as QEMU writes through its duplicate.
     */
    public static FileChardev ofDescriptor(String id, int fd) throws IOException {
        boolean append = (dev.jvmm.core.fd.UnixMessages.statusFlags(fd) & O_APPEND) != 0;
        return new FileChardev(id, Path.of("/proc/self/fd/" + fd), append
                ? EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND)
                : EnumSet.of(StandardOpenOption.WRITE));
    }

    private static final int O_APPEND = 0x400;

    /** Opens or fails with QEMU's text: "Could not open 'P': No such file or directory". */
    public static FileChardev open(String option, String id, String path, boolean append) {
        if (path.isEmpty()) {
            // open("") fails with ENOENT in C; Java would resolve it to the working directory
            throw new OptionException(option, "Could not open '': No such file or directory");
        }
        try {
            return new FileChardev(id, Path.of(path), append);
        } catch (NoSuchFileException e) {
            throw new OptionException(option, "Could not open '" + path + "': No such file or directory");
        } catch (AccessDeniedException e) {
            throw new OptionException(option, "Could not open '" + path + "': Permission denied");
        } catch (FileSystemException e) {
            String reason = e.getReason() == null ? "Input/output error" : e.getReason();
            throw new OptionException(option, "Could not open '" + path + "': " + reason);
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new OptionException(option, "Could not open '" + path + "': " + e.getMessage());
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        ByteBuffer buf = ByteBuffer.wrap(data, offset, length);
        try {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        } catch (IOException e) {
            // A full disk loses output, as it does in QEMU; the guest keeps running.
        }
    }

    @Override
    public String describe() {
        return "file";
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }
}
