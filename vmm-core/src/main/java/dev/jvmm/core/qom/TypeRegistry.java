package dev.jvmm.core.qom;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every type jvmm models, by name: the one source for qom-list-types, qom-list-properties,
 * device-list-properties, -device help and the property checks of -device and -global.
 */
public final class TypeRegistry {
    /** A property as a type sees it: the declaration and the type that declares it (named in errors). */
    public record Resolved(Property property, String owner) {
    }

    /** Property names every device has but device-list-properties leaves out, as QEMU does. */
    public static final Set<String> DEVICE_INTERNAL = Set.of("type", "realized", "hotplugged", "hotpluggable",
            "parent_bus");

    private final Map<String, TypeInfo> types = new LinkedHashMap<>();

    public TypeRegistry register(TypeInfo t) {
        if (types.putIfAbsent(t.name(), t) != null) {
            throw new IllegalArgumentException("type " + t.name() + " declared twice");
        }
        return this;
    }

    public TypeRegistry registerAll(Collection<TypeInfo> ts) {
        ts.forEach(this::register);
        return this;
    }

    public Optional<TypeInfo> lookup(String name) {
        return Optional.ofNullable(types.get(name));
    }

    public Collection<TypeInfo> all() {
        return types.values();
    }

    /** The type and its ancestors, the type first. */
    public List<TypeInfo> ancestry(String name) {
        List<TypeInfo> out = new ArrayList<>();
        for (TypeInfo t = types.get(name); t != null; t = t.parent() == null ? null : types.get(t.parent())) {
            out.add(t);
        }
        return out;
    }

    /** QEMU's object_class_dynamic_cast: the type, an ancestor, or an interface of either. */
    public boolean isA(String name, String target) {
        for (TypeInfo t : ancestry(name)) {
            if (t.name().equals(target)) {
                return true;
            }
            for (String i : t.interfaces()) {
                if (i.equals(target) || isA(i, target)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** qom-list-types: implementsType null for all; abstract types only when asked. */
    public List<TypeInfo> list(String implementsType, boolean includeAbstract) {
        List<TypeInfo> out = new ArrayList<>();
        for (TypeInfo t : types.values()) {
            if ((includeAbstract || !t.isAbstract()) && (implementsType == null || isA(t.name(), implementsType))) {
                out.add(t);
            }
        }
        return out;
    }

    /**
     * Every property of the type: its ancestors' from the root down, its own, then a proxy's backend
     * properties (owned by the backend type, as QEMU's aliases report them). A later declaration of a name
     * replaces an earlier one (a subclass changing a default).
     */
    public List<Resolved> properties(String name) {
        Map<String, Resolved> out = new LinkedHashMap<>();
        List<TypeInfo> chain = ancestry(name);
        for (int i = chain.size() - 1; i >= 0; i--) {
            TypeInfo t = chain.get(i);
            for (Property p : t.properties()) {
                out.put(p.name(), new Resolved(p, t.name()));
            }
            if (t.backend() != null) {
                // QEMU aliases the backend's qdev properties; its legacy-* QOM properties stay on the backend
                for (Resolved r : properties(t.backend().type())) {
                    // QEMU aliases the backend's qdev properties, not their "legacy-" string views
                    if (!DEVICE_INTERNAL.contains(r.property().name()) && !r.property().name().startsWith("legacy-")) {
                        out.putIfAbsent(r.property().name(), r);
                    }
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    public Optional<Resolved> property(String type, String prop) {
        for (Resolved r : properties(type)) {
            if (r.property().name().equals(prop)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** The interfaces of the type and its ancestors, each once. */
    public Set<String> interfaces(String name) {
        Set<String> out = new LinkedHashSet<>();
        for (TypeInfo t : ancestry(name)) {
            out.addAll(t.interfaces());
        }
        return out;
    }

    /** Starts the property values of a new object of the given type from its defaults. */
    public PropertyValues.Builder values(String type) throws PropertyException {
        TypeInfo t = types.get(type);
        if (t == null) {
            throw new PropertyException("'" + type + "' is not a valid device model name");
        }
        return new PropertyValues.Builder(this, t);
    }
}
