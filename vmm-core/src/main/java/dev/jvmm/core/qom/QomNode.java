package dev.jvmm.core.qom;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One object in the composition tree: its type, and its properties in the order qom-list shows them.
 * Children and links are properties too ("child&lt;T&gt;", "link&lt;T&gt;"), as in QEMU; a child is a node of
 * its own. Values are JSON-shaped (Boolean, Long, BigInteger, String, List, insertion-ordered Map).
 */
public final class QomNode {
    /** Reads a property's value. */
    @FunctionalInterface
    public interface Getter {
        Object get() throws PropertyException;
    }

    /** Writes a property from a JSON value (qom-set). */
    @FunctionalInterface
    public interface Setter {
        void set(Object json) throws PropertyException;
    }

    private record Entry(String type, Getter getter, Setter setter, QomNode child) {
    }

    private final String name;
    private final String type;
    private final QomNode parent;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    QomNode(String name, String type, QomNode parent) {
        this.name = name;
        this.type = type;
        this.parent = parent;
        entries.put("type", new Entry("string", () -> type, null, null));
    }

    public String name() {
        return name;
    }

    public String type() {
        return type;
    }

    public Optional<QomNode> parent() {
        return Optional.ofNullable(parent);
    }

    /** The canonical path ("/" for the root). */
    public String path() {
        if (parent == null) {
            return "/";
        }
        String p = parent.path();
        return (p.equals("/") ? "" : p) + "/" + name;
    }

    /** Adds a child object; its property on this node is "child&lt;type&gt;". */
    public QomNode addChild(String childName, String childType) {
        if (entries.containsKey(childName)) {
            throw new IllegalArgumentException("attempt to add duplicate property '" + childName + "' to object ("
                    + type + ")");
        }
        QomNode c = new QomNode(childName, childType, this);
        entries.put(childName, new Entry("child<" + childType + ">", c::path, null, c));
        return c;
    }

    /** Removes a child (device_del, unplug). */
    public void removeChild(String childName) {
        Entry e = entries.get(childName);
        if (e != null && e.child() != null) {
            entries.remove(childName);
        }
    }

    /** Removes the links that point at an object (a bus's child[N] link to an unplugged device). */
    public void removeLinksTo(String targetPath) {
        entries.entrySet().removeIf(e -> e.getValue().child() == null && e.getValue().type().startsWith("link<")
                && e.getValue().getter() != null && targetPath.equals(safeGet(e.getValue().getter())));
    }

    private static Object safeGet(Getter g) {
        try {
            return g.get();
        } catch (PropertyException | RuntimeException e) {
            return null;
        }
    }

    /** A link to another object, read as its path ("" when unset). */
    public void addLink(String linkName, String targetType, Supplier<String> targetPath) {
        entries.put(linkName, new Entry("link<" + targetType + ">", () -> {
            String p = targetPath.get();
            return p == null ? "" : p;
        }, null, null));
    }

    /**
     * A property with a getter (null: not readable) and, when writable, a setter. Adding a name the node
     * already has replaces that entry in its place, so a device can make a declared property live.
     */
    public void addProperty(String propName, String qapiType, Getter getter, Setter setter) {
        entries.put(propName, new Entry(qapiType, getter, setter, null));
    }

    /**
     * Reads an existing property through a new getter, keeping its type and setter: a value the device
     * settles while it is realized (the PCI address it was given).
     */
    public void setGetter(String propName, Getter getter) {
        Entry e = entries.get(propName);
        if (e == null) {
            throw new IllegalArgumentException("no property " + propName + " on " + type);
        }
        entries.put(propName, new Entry(e.type(), getter, e.setter(), e.child()));
    }

    /** A constant read-only property. */
    public void addConstant(String propName, String qapiType, Object value) {
        addProperty(propName, qapiType, () -> value, null);
    }

    public Optional<QomNode> child(String childName) {
        Entry e = entries.get(childName);
        return e == null || e.child() == null ? Optional.empty() : Optional.of(e.child());
    }

    public List<QomNode> children() {
        List<QomNode> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.child() != null) {
                out.add(e.child());
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** Names of the link properties, for path resolution through links. */
    Optional<String> linkTarget(String linkName) throws PropertyException {
        Entry e = entries.get(linkName);
        if (e == null || !e.type().startsWith("link<")) {
            return Optional.empty();
        }
        Object v = e.getter().get();
        return v instanceof String s && !s.isEmpty() ? Optional.of(s) : Optional.empty();
    }

    /** qom-list: every property with its type. */
    public List<Map.Entry<String, String>> list() {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        entries.forEach((k, e) -> out.add(Map.entry(k, e.type())));
        return out;
    }

    public boolean has(String propName) {
        return entries.containsKey(propName);
    }

    /** qom-get. */
    public Object get(String propName) throws PropertyException {
        Entry e = entries.get(propName);
        if (e == null) {
            throw new PropertyException("Property '" + type + "." + propName + "' not found");
        }
        if (e.getter() == null) {
            throw new PropertyException("Property '" + type + "." + propName + "' is not readable");
        }
        return e.getter().get();
    }

    /** qom-set. */
    public void set(String propName, Object value) throws PropertyException {
        Entry e = entries.get(propName);
        if (e == null) {
            throw new PropertyException("Property '" + type + "." + propName + "' not found");
        }
        if (e.setter() == null) {
            throw new PropertyException("Property '" + type + "." + propName + "' is not writable");
        }
        e.setter().set(value);
    }
}
