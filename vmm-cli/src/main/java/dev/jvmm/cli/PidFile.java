package dev.jvmm.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * -pidfile as QEMU's qemu_write_pidfile: the file is created 0600, locked with a POSIX record lock for the
 * process's life (a second process naming the same file fails), holds the process id and a newline, and is
 * removed as the process ends.
 */
final class PidFile {
    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;

    private PidFile(Path path, FileChannel channel, FileLock lock) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates, locks and writes the file; the error text is QEMU's, without the program name. */
    static PidFile create(String file) {
        Path path = Path.of(file);
        FileChannel ch;
        try {
            ch = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException e) {
            throw new LaunchException("cannot create PID file: Could not create '" + file + "': " + reason(e));
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new LaunchException("cannot create PID file: Cannot lock pid file: "
                        + "Resource temporarily unavailable");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            return new PidFile(path, ch, lock);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the open failed already; the first error is the one reported
            }
            throw new LaunchException("cannot create PID file: Failed to write pid file: " + reason(e));
        }
    }

    /** Removes the file while the lock is still held, so no other process's file is removed. */
    void remove() {
        try {
            Files.deleteIfExists(path);
            lock.release();
            channel.close();
        } catch (IOException e) {
            // the process is ending; a file left behind is what QEMU leaves when unlink fails
        }
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage();
    }
}
