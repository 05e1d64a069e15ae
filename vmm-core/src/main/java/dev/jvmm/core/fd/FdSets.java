package dev.jvmm.core.fd;

import com.sun.jna.LastErrorException;
import dev.jvmm.core.machine.MachineCommandException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * QEMU 7.2's fd sets (add-fd, remove-fd, query-fdsets, -add-fd and {@code /dev/fdset/N}): numbered sets of
 * descriptors the manager passed, each with an optional opaque string. Opening {@code /dev/fdset/N} duplicates
 * the first descriptor of the set whose access mode matches, and the duplicate is tracked as in use until it is
 * released. QEMU's lifetime rule: while the machine runs, a descriptor is closed once it was removed, or once
 * no duplicate is in use and no monitor is connected; a set disappears when it has neither descriptors nor
 * duplicates in use. The rule is applied when a descriptor is removed, when the last duplicate of a set is
 * released and when a monitor disconnects. Thread-safe.
 */
public final class FdSets {
    /** /dev/fdset/ paths: the prefix QEMU's qemu_open recognises. */
    public static final String PREFIX = "/dev/fdset/";
    static final int ENOENT = 2;
    static final int EACCES = 13;
    static final int EINVAL = 22;

    /** open()'s access modes. */
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;

    /** Why /dev/fdset/N could not be opened: QEMU's message, and the errno behind it. */
    public static final class OpenException extends IOException {
        private final int errno;

        OpenException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /** One descriptor the manager added. */
    public record FdInfo(int fd, String opaque) {
    }

    /** query-fdsets' FdsetInfo. */
    public record FdSetInfo(long id, List<FdInfo> fds) {
        public FdSetInfo {
            fds = List.copyOf(fds);
        }
    }

    /** add-fd's answer: where the descriptor went and its number in jvmm. */
    public record Added(long fdsetId, int fd) {
    }

    private static final class Member {
        final int fd;
        final String opaque;
        boolean removed;

        Member(int fd, String opaque) {
            this.fd = fd;
            this.opaque = opaque;
        }
    }

    private static final class FdSet {
        final long id;
        final List<Member> fds = new ArrayList<>();
        final Set<Integer> dups = new LinkedHashSet<>();

        FdSet(long id) {
            this.id = id;
        }
    }

    private final TreeMap<Long, FdSet> sets = new TreeMap<>();
    private final BooleanSupplier running;
    private int monitors;

    /** running: whether the machine is in QEMU's running state (the rule closes nothing otherwise). */
    public FdSets(BooleanSupplier running) {
        this.running = running;
    }

    /**
     * Adds fd (owned from now on) to set fdsetId, or to the lowest free set number when null. On error the
     * descriptor is closed, as QEMU's add-fd does.
     */
    public synchronized Added add(int fd, Long fdsetId, String opaque) throws MachineCommandException {
        if (fdsetId != null && fdsetId < 0) {
            UnixMessages.closeFd(fd);
            throw MachineCommandException.generic("Parameter 'fdset-id' expects a non-negative value");
        }
        long id;
        if (fdsetId != null) {
            id = fdsetId;
        } else {
            id = 0;
            while (sets.containsKey(id)) {
                id++;
            }
        }
        sets.computeIfAbsent(id, FdSet::new).fds.add(new Member(fd, opaque));
        return new Added(id, fd);
    }

    /** remove-fd: marks one descriptor (or the whole set) removed and applies the lifetime rule. */
    public synchronized void remove(long fdsetId, Long fd) throws MachineCommandException {
        FdSet s = sets.get(fdsetId);
        boolean found = false;
        if (s != null) {
            for (Member m : s.fds) {
                if (fd == null || m.fd == fd) {
                    m.removed = true;
                    found = true;
                }
            }
            if (fd == null) {
                found = true;
            }
        }
        if (!found) {
            String what = fd == null ? "fdset-id:" + fdsetId : "fdset-id:" + fdsetId + ", fd:" + fd;
            throw MachineCommandException.generic("File descriptor named '" + what + "' not found");
        }
        cleanup(s);
    }

    /** query-fdsets: the highest set number first, each set's descriptors in the order they were added. */
    public synchronized List<FdSetInfo> query() {
        List<FdSetInfo> out = new ArrayList<>();
        for (FdSet s : sets.descendingMap().values()) {
            List<FdInfo> fds = new ArrayList<>();
            for (Member m : s.fds) {
                fds.add(new FdInfo(m.fd, m.opaque));
            }
            out.add(new FdSetInfo(s.id, fds));
        }
        return out;
    }

    /** Whether path names an fd set rather than a file. */
    public static boolean isFdSetPath(String path) {
        return path != null && path.startsWith(PREFIX);
    }

    /**
     * qemu_open for {@code /dev/fdset/N}: a close-on-exec duplicate of the set's first descriptor whose access
     * mode is flags' (O_RDONLY 0, O_WRONLY 1, O_RDWR 2, the rest of flags only shown in errors), tracked until
     * {@link #release}. Errors carry QEMU's text.
     */
    public synchronized int open(String path, int flags) throws OpenException {
        long id = parseId(path);
        FdSet s = sets.get(id);
        int errno = ENOENT;
        if (s != null) {
            errno = EACCES;
            for (Member m : s.fds) {
                try {
                    if (UnixMessages.accessMode(m.fd) != (flags & UnixMessages.O_ACCMODE)) {
                        continue;
                    }
                    int dup = UnixMessages.dup(m.fd);
                    s.dups.add(dup);
                    return dup;
                } catch (LastErrorException e) {
                    errno = e.getErrorCode();
                    break;
                }
            }
        }
        throw new OpenException(String.format("Could not dup FD for %s flags %x: %s", path, flags,
                dev.jvmm.core.os.LibC.describe(errno)), errno);
    }

    /** The set number of a /dev/fdset/N path, or QEMU's error for one it cannot parse. */
    public static long parseId(String path) throws OpenException {
        String digits = path.substring(PREFIX.length());
        if (!digits.isEmpty() && digits.chars().allMatch(Character::isDigit)) {
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                // too long: the same error as any other unparsable set
            }
        }
        throw new OpenException("Could not parse fdset " + path, EINVAL);
    }

    /** Closes a duplicate {@link #open} handed out; the last one of a set applies the lifetime rule. */
    public synchronized void release(int dupFd) {
        for (FdSet s : sets.values()) {
            if (s.dups.remove(dupFd)) {
                UnixMessages.closeFd(dupFd);
                if (s.dups.isEmpty()) {
                    cleanup(s);
                }
                return;
            }
        }
        UnixMessages.closeFd(dupFd);
    }

    /** A QMP monitor connected: while any is, descriptors without duplicates in use stay open. */
    public synchronized void monitorConnected() {
        monitors++;
    }

    /** A QMP monitor went away: the lifetime rule runs over every set. */
    public synchronized void monitorDisconnected() {
        monitors = Math.max(0, monitors - 1);
        for (FdSet s : new ArrayList<>(sets.values())) {
            cleanup(s);
        }
    }

    private void cleanup(FdSet s) {
        boolean isRunning = running.getAsBoolean();
        s.fds.removeIf(m -> {
            boolean close = (m.removed || (s.dups.isEmpty() && monitors == 0)) && isRunning;
            if (close) {
                UnixMessages.closeFd(m.fd);
            }
            return close;
        });
        if (s.fds.isEmpty() && s.dups.isEmpty()) {
            sets.remove(s.id);
        }
    }

    /** Closes every descriptor and duplicate (machine teardown). */
    public synchronized void closeAll() {
        for (FdSet s : sets.values()) {
            s.fds.forEach(m -> UnixMessages.closeFd(m.fd));
            s.dups.forEach(UnixMessages::closeFd);
        }
        sets.clear();
    }
}
