package dev.jvmm.core.machine;

import java.util.List;

/**
 * A QOM object as qom-list, qom-get and qom-set see it: a path in the composition tree with named, typed
 * properties. Values are JSON-shaped: Long, Boolean, String, Double, List, or an insertion-ordered Map.
 */
public interface QomObject {
    /** qom-list: each property with its QOM type name ("int", "bool", "str", "child<...>", ...). */
    List<QomProperty> properties();

    /** qom-get; an unknown property is QEMU's "Property 'TYPE.NAME' not found". */
    Object get(String property) throws MachineCommandException;

    /** qom-set; a read-only or unknown property, or a value of the wrong type, is refused. */
    void set(String property, Object value) throws MachineCommandException;
}
