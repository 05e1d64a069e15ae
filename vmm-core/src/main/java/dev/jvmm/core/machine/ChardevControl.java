package dev.jvmm.core.machine;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The machine's character devices as QMP sees them: query-chardev, and chardev-add, chardev-remove and
 * chardev-change while the machine runs (the QMP monitors' own chardevs are not here).
 */
public interface ChardevControl {
    /** A machine without chardevs: lists none and refuses the changes as QEMU refuses an unknown id. */
    ChardevControl NONE = List::of;

    List<ChardevInfo> list();

    /**
     * chardev-add. The backend is given as -chardev's options (backend=TYPE and its keys, values as text;
     * fd= as an open descriptor number the machine now owns).
     *
     * @return the pty's path for a pty backend (the ChardevReturn's "pty"), else empty
     */
    default Optional<String> add(String id, Map<String, String> backend) throws MachineCommandException {
        throw MachineCommandException.generic("Failed to add chardev '" + id + "': chardevs cannot be added to "
                + "this machine");
    }

    /**
     * Whether a -chardev option holds the id: QEMU keeps those options, and HMP's chardev-add refuses the id
     * while it parses its argument, before any chardev is looked at.
     */
    default boolean optionHolds(String id) {
        return false;
    }

    /**
     * HMP chardev-add: the backend as -chardev's text, with id= among its options.
     *
     * @param taken ids that chardevs outside this control (the monitors') hold
     */
    default ChardevAdded addFromOption(String text, java.util.Collection<String> taken)
            throws MachineCommandException {
        throw MachineCommandException.generic("chardevs cannot be added to this machine");
    }

    /** chardev-remove: refused while a frontend (a device) uses the chardev. */
    default void remove(String id) throws MachineCommandException {
        throw MachineCommandException.generic("Chardev '" + id + "' not found");
    }

    /** chardev-change: a new backend under the same id, for a chardev whose frontend can follow it. */
    default Optional<String> change(String id, Map<String, String> backend) throws MachineCommandException {
        throw MachineCommandException.generic("Chardev '" + id + "' does not exist");
    }
}
