package dev.jvmm.core.machine;

import java.util.Map;

/** object-add and object-del: QEMU's user-creatable objects under /objects, added and removed at run time. */
public interface ObjectControl {
    /** A machine without user objects: it takes none and has none to delete. */
    ObjectControl NONE = new ObjectControl() {
        @Override
        public void add(String type, String id, Map<String, String> properties) throws MachineCommandException {
            throw MachineCommandException.generic("Parameter 'qom-type' does not accept value '" + type + "'");
        }

        @Override
        public void delete(String id) throws MachineCommandException {
            throw MachineCommandException.generic("object '" + id + "' not found");
        }
    };

    /**
     * object-add.
     *
     * @param properties every property besides qom-type and id, as text (booleans on/off, numbers decimal)
     */
    void add(String type, String id, Map<String, String> properties) throws MachineCommandException;

    /** object-del. */
    void delete(String id) throws MachineCommandException;
}
