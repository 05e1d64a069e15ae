package dev.jvmm.core.qom;

import java.util.ArrayList;
import java.util.List;

/**
 * A QOM type as jvmm declares it, next to the device that implements it: QEMU's type name, its parent, the
 * interfaces QEMU lists for it, and its own properties (inherited ones come from the parent's declaration).
 *
 * @param name        QEMU's type name
 * @param parent      the parent type's name, or null for the root ("object")
 * @param isAbstract  true for types that cannot be created (device, pci-device, interfaces, ...)
 * @param interfaces  interface types this type adds (its parents' interfaces are inherited)
 * @param properties  this type's own properties, in declaration order
 * @param backend     for a proxy such as virtio-blk-pci: the child name ("virtio-backend") and the backend
 *                    type whose properties the proxy offers as its own (QEMU's qdev_alias_all_properties);
 *                    null otherwise
 * @param description the text -device help shows after the name, or null
 * @param bus         the bus type a device of this type plugs into ("PCI", "ISA", "IDE", ...), or null
 * @param category    the -device help section ("Storage", "Misc", ...; QEMU's DeviceCategory), or null
 * @param userCreatable false for board devices -device refuses (i440FX, PIIX3, ...), as QEMU's
 *                    user_creatable
 * @param hotpluggable false for a type that may only be cold-plugged (QEMU's DeviceClass.hotpluggable):
 *                    device_add refuses it and a guest's eject leaves it; inherited by subtypes
 */
public record TypeInfo(String name, String parent, boolean isAbstract, List<String> interfaces,
                       List<Property> properties, Backend backend, String description, String bus,
                       String category, boolean userCreatable, boolean hotpluggable) {

    /** A proxy's backend child. */
    public record Backend(String childName, String type) {
    }

    public TypeInfo {
        interfaces = List.copyOf(interfaces);
        properties = List.copyOf(properties);
    }

    public static Builder type(String name, String parent) {
        return new Builder(name, parent, false);
    }

    public static Builder abstractType(String name, String parent) {
        return new Builder(name, parent, true);
    }

    /** A QOM interface type (abstract, parent "interface"). */
    public static TypeInfo iface(String name) {
        return new TypeInfo(name, "interface", true, List.of(), List.of(), null, null, null, null, false, true);
    }

    /** Builds a declaration. */
    public static final class Builder {
        private final String name;
        private final String parent;
        private final boolean isAbstract;
        private final List<String> interfaces = new ArrayList<>();
        private final List<Property> properties = new ArrayList<>();
        private Backend backend;
        private String description;
        private String bus;
        private String category;
        private boolean userCreatable = true;
        private boolean hotpluggable = true;

        private Builder(String name, String parent, boolean isAbstract) {
            this.name = name;
            this.parent = parent;
            this.isAbstract = isAbstract;
        }

        public Builder implementing(String... names) {
            interfaces.addAll(List.of(names));
            return this;
        }

        public Builder prop(Property p) {
            properties.add(p);
            return this;
        }

        public Builder props(Property... ps) {
            properties.addAll(List.of(ps));
            return this;
        }

        public Builder backend(String childName, String type) {
            backend = new Backend(childName, type);
            return this;
        }

        public Builder description(String text) {
            description = text;
            return this;
        }

        public Builder bus(String busType) {
            bus = busType;
            return this;
        }

        /** The -device help section: "Storage", "Input", "Misc", "CPU", "Watchdog", "Network", ... */
        public Builder category(String section) {
            category = section;
            return this;
        }

        /** A board device -device refuses and -device help leaves out. */
        public Builder notUserCreatable() {
            userCreatable = false;
            return this;
        }

        /** A type only the start-up may plug (QEMU's dc->hotpluggable = false). */
        public Builder coldPlugOnly() {
            hotpluggable = false;
            return this;
        }

        public TypeInfo build() {
            return new TypeInfo(name, parent, isAbstract, interfaces, properties, backend, description, bus,
                    category, userCreatable && !isAbstract, hotpluggable);
        }
    }
}
