package dev.jvmm.core.fd;

import dev.jvmm.core.machine.MachineCommandException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One monitor's named descriptors (getfd, closefd): QEMU keeps them per monitor, so every client of the same
 * -qmp/-mon socket sees them. A name given again replaces (and closes) the descriptor it had. Thread-safe.
 */
public final class NamedFds {
    private final Map<String, Integer> fds = new LinkedHashMap<>();

    /** getfd: keeps fd under name; a name starting with a digit is refused and fd closed, as QEMU does. */
    public synchronized void put(String name, int fd) throws MachineCommandException {
        if (!name.isEmpty() && Character.isDigit(name.charAt(0))) {
            UnixMessages.closeFd(fd);
            throw MachineCommandException.generic("Parameter 'fdname' expects a name not starting with a digit");
        }
        Integer old = fds.put(name, fd);
        if (old != null) {
            UnixMessages.closeFd(old);
        }
    }

    /** closefd. */
    public synchronized void close(String name) throws MachineCommandException {
        Integer fd = fds.remove(name);
        if (fd == null) {
            throw MachineCommandException.generic("File descriptor named '" + name + "' not found");
        }
        UnixMessages.closeFd(fd);
    }

    /** monitor_get_fd: hands the descriptor to the caller, which owns it from now on. */
    public synchronized int take(String name) throws MachineCommandException {
        Integer fd = fds.remove(name);
        if (fd == null) {
            throw MachineCommandException.generic("File descriptor named '" + name + "' has not been found");
        }
        return fd;
    }

    public synchronized boolean contains(String name) {
        return fds.containsKey(name);
    }

    /** Closes them all (the monitor goes away with the machine). */
    public synchronized void closeAll() {
        fds.values().forEach(UnixMessages::closeFd);
        fds.clear();
    }
}
