package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.fd.FdSets;
import dev.jvmm.core.fd.UnixMessages;
import dev.jvmm.core.machine.MachineCommandException;

import java.util.List;

/**
 * -add-fd fd=FD,set=SET[,opaque=TEXT]: an inherited descriptor goes into fd set SET (as a close-on-exec
 * duplicate, as QEMU keeps it) before any drive is opened, with QEMU 7.2's checks and messages.
 */
final class AddFdOptions {
    private AddFdOptions() {
    }

    static void apply(List<String> values, FdSets sets) {
        for (String v : values) {
            String option = "-add-fd " + v;
            QemuOpts o = QemuOpts.parse(option, v, null);
            o.requireOnly("fd", "set", "opaque");
            long fd = number(o, "fd");
            long set = number(o, "set");
            if (fd < 0) {
                throw new OptionException(option, "fd option is required and must be non-negative");
            }
            if (set < 0) {
                throw new OptionException(option, "set option is required and must be non-negative");
            }
            if (fd <= 2) {
                throw new OptionException(option, "fd cannot be a standard I/O stream");
            }
            if (fd > Integer.MAX_VALUE || !UnixMessages.isOpen((int) fd)) {
                throw new OptionException(option, "fd is not valid or already in use");
            }
            try {
                sets.add(UnixMessages.dup((int) fd), set, o.get("opaque").orElse(null));
            } catch (MachineCommandException e) {
                throw new OptionException(option, e.getMessage());
            }
        }
    }

    /** A number option, -1 when absent. */
    private static long number(QemuOpts o, String key) {
        String s = o.get(key).orElse(null);
        if (s == null) {
            return -1;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new OptionException(o.option(), "Parameter '" + key + "' expects a number");
        }
    }
}
