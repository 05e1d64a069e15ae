package dev.jvmm.core.qom;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The settled property values of one object: defaults, then matching -global settings in their order, then
 * the user's arguments, each parsed and checked as QEMU would and checked against what jvmm supports. A
 * device reads its configuration from here; qom-get reads the same values.
 */
public final class PropertyValues {
    private final String type;
    private final Map<String, Object> values;
    private final Set<String> explicit;

    private PropertyValues(String type, Map<String, Object> values, Set<String> explicit) {
        this.type = type;
        this.values = Collections.unmodifiableMap(values);
        this.explicit = Collections.unmodifiableSet(explicit);
    }

    public String type() {
        return type;
    }

    /** Every value, by property name (absent where the property has no value). */
    public Map<String, Object> all() {
        return values;
    }

    /** True when -device or -global set the property (as opposed to its default). */
    public boolean isSet(String name) {
        return explicit.contains(name);
    }

    public Optional<Object> get(String name) {
        return Optional.ofNullable(values.get(name));
    }

    public boolean bool(String name) {
        return (Boolean) require(name);
    }

    public long number(String name) {
        return (Long) require(name);
    }

    public int int32(String name) {
        return (int) number(name);
    }

    public Optional<String> str(String name) {
        return Optional.ofNullable((String) values.get(name));
    }

    private Object require(String name) {
        Object v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException(type + " has no value for " + name);
        }
        return v;
    }

    /** Collects values for one object; {@link #build} checks support and freezes them. */
    public static final class Builder {
        private final TypeRegistry registry;
        private final TypeInfo type;
        private final Map<String, TypeRegistry.Resolved> props = new LinkedHashMap<>();
        private final Map<String, Object> values = new LinkedHashMap<>();
        private final Set<String> explicit = new LinkedHashSet<>();

        Builder(TypeRegistry registry, TypeInfo type) {
            this.registry = registry;
            this.type = type;
            for (TypeRegistry.Resolved r : registry.properties(type.name())) {
                props.put(r.property().name(), r);
                if (r.property().defaultValue() != null) {
                    values.put(r.property().name(), r.property().defaultValue());
                }
            }
        }

        public String type() {
            return type.name();
        }

        /** Applies every -global for this type or an ancestor, in command-line order. */
        public Builder globals(Globals globals) throws PropertyException {
            for (Globals.Global g : globals.all()) {
                if (registry.isA(type.name(), g.driver()) || backendTakes(g)) {
                    try {
                        TypeRegistry.Resolved r = find(g.property());
                        set(r, r.property().type().parseGlobal(objectType(r), g.property(), g.value()));
                        g.markUsed();
                    } catch (PropertyException e) {
                        throw new PropertyException("can't apply global " + g.driver() + "." + g.property() + "="
                                + g.value() + ": " + e.getMessage());
                    }
                }
            }
            return this;
        }

        /**
         * A -global for a proxy's backend type (virtio-blk-device.queue-size=128) reaches the proxy's alias of
         * that property, as QEMU applies it to the backend object the alias reads.
         */
        private boolean backendTakes(Globals.Global g) {
            for (TypeInfo t : registry.ancestry(type.name())) {
                if (t.backend() != null && registry.isA(t.backend().type(), g.driver())) {
                    TypeRegistry.Resolved r = props.get(g.property());
                    return r != null && registry.isA(t.backend().type(), r.owner());
                }
            }
            return false;
        }

        /** A -device key=value argument. */
        public Builder keyval(String name, String text) throws PropertyException {
            TypeRegistry.Resolved r = find(name);
            return set(r, r.property().type().parseKeyval(objectType(r), name, text));
        }

        /** A JSON -device or device_add member, typed as QEMU's QObject input visitor takes it. */
        public Builder json(String name, Object value) throws PropertyException {
            TypeRegistry.Resolved r = find(name);
            return set(r, r.property().type().fromJson(objectType(r), name, value));
        }

        private TypeRegistry.Resolved find(String name) throws PropertyException {
            TypeRegistry.Resolved r = props.get(name);
            if (r == null) {
                throw new PropertyException("Property '" + type.name() + "." + name + "' not found");
            }
            if (!r.property().settable()) {
                throw new PropertyException("Property '" + objectType(r) + "." + name + "' is not writable");
            }
            return r;
        }

        /**
         * The type QEMU names in a property's errors: the object's own, or for a proxy's alias its backend's
         * (the alias sets the property there).
         */
        private String objectType(TypeRegistry.Resolved r) {
            if (registry.isA(type.name(), r.owner())) {
                return type.name();
            }
            for (TypeInfo t : registry.ancestry(type.name())) {
                if (t.backend() != null) {
                    return t.backend().type();
                }
            }
            return r.owner();
        }

        private Builder set(TypeRegistry.Resolved r, Object value) throws PropertyException {
            r.property().checkSupported(objectType(r), value);
            values.put(r.property().name(), value);
            explicit.add(r.property().name());
            return this;
        }

        public PropertyValues build() {
            return new PropertyValues(type.name(), new LinkedHashMap<>(values), new LinkedHashSet<>(explicit));
        }
    }
}
