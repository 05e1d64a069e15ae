package dev.jvmm.core.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Facts about inherited UNIX sockets that Java's API does not expose. */
public final class UnixSockets {
    private UnixSockets() {
    }

    /** Whether a descriptor of this process is a socket (QEMU's check before it takes one as a chardev's). */
    public static boolean isSocket(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("socket:[");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * The path a socket descriptor of this process is bound to, from its inode in /proc/net/unix (the kernel's
     * table of UNIX sockets, whose last column is the bound path); empty for an unnamed socket.
     */
    public static Optional<Path> boundPath(int fd) {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            if (!link.startsWith("socket:[") || !link.endsWith("]")) {
                return Optional.empty();
            }
            String inode = link.substring("socket:[".length(), link.length() - 1);
            List<String> lines = Files.readAllLines(Path.of("/proc/net/unix"));
            // Num RefCount Protocol Flags Type St Inode Path
            for (String line : lines.subList(1, lines.size())) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length >= 8 && cols[6].equals(inode) && cols[7].startsWith("/")) {
                    return Optional.of(Path.of(cols[7]));
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no /proc: the socket is described by its descriptor number instead
        }
        return Optional.empty();
    }
}
