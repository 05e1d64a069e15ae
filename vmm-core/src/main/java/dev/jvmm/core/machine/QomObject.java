package dev.jvmm.core.machine;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    /** A node of the machine's QOM tree; its refusals are QMP's GenericError with the node's text. */
    static QomObject of(QomNode node) {
        return new QomObject() {
            @Override
            public List<QomProperty> properties() {
                List<QomProperty> out = new ArrayList<>();
                for (Map.Entry<String, String> e : node.list()) {
                    out.add(new QomProperty(e.getKey(), e.getValue()));
                }
                return out;
            }

            @Override
            public Object get(String property) throws MachineCommandException {
                try {
                    return node.get(property);
                } catch (PropertyException e) {
                    throw MachineCommandException.generic(e.getMessage());
                }
            }

            @Override
            public void set(String property, Object value) throws MachineCommandException {
                try {
                    node.set(property, value);
                } catch (PropertyException e) {
                    throw MachineCommandException.generic(e.getMessage());
                }
            }
        };
    }
}
